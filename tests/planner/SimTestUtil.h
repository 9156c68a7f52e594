//===- tests/planner/SimTestUtil.h - Hand-checkable chains ------*- C++ -*-===//
#ifndef REMAT_TESTS_PLANNER_SIMTESTUTIL_H
#define REMAT_TESTS_PLANNER_SIMTESTUTIL_H

#include "graph/Graph.h"
#include "graph/Lowering.h"
#include "planner/Schedule.h"

#include <vector>

namespace remat::test {

/// The 3-stage chain the simulator tests check by hand:
///   x_0 = 10 bytes
///   s0: out 20, saved 30, fwd 1, bwd 2, fwd_ws 5, bwd_ws 7
///   s1: out 40, saved 50, fwd 3, bwd 4
///   s2: out 8,  saved 16, fwd 5, bwd 6, bwd_ws 1
///   loss: bwd_time 0.5, bwd_workspace 3
inline Chain handChain() {
  Chain C;
  C.InputBytes = 10;
  C.Stages.push_back({"s0", "conv", 1, 2, 20, 30, 5, 7});
  C.Stages.push_back({"s1", "attention", 3, 4, 40, 50, 0, 0});
  C.Stages.push_back({"s2", "mlp", 5, 6, 8, 16, 0, 1});
  C.Loss = {0.5, 3};
  return C;
}

inline ChainOp fck(unsigned I) { return {ChainOpKind::FCk, I}; }
inline ChainOp fn(unsigned I) { return {ChainOpKind::FN, I}; }
inline ChainOp fall(unsigned I) { return {ChainOpKind::FAll, I}; }
inline ChainOp lossOp() { return {ChainOpKind::Loss, 0}; }
inline ChainOp bwd(unsigned I) { return {ChainOpKind::B, I}; }

/// A model wrapping \p C as if loaded from "hand.json".
inline Model chainModel(const Chain &C) {
  Model M;
  M.Path = "hand.json";
  M.Name = "hand";
  M.Sha256 = std::string(64, 'a');
  M.AsChain = C;
  M.G = lowerChain(C);
  return M;
}

} // namespace remat::test

#endif

//===- planner/Revolve.h - Binomial checkpointing ---------------*- C++ -*-===//
//
// Griewank & Walther's Revolve (ACM TOMS 26, 2000): the optimal schedule on a
// uniform chain with S checkpoint slots, in the chain dialect.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_REVOLVE_H
#define REMAT_PLANNER_REVOLVE_H

#include "graph/Graph.h"
#include "planner/Schedule.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace remat {

/// Binomial schedule with at most \p Slots stored checkpoints including x_0.
/// Its forward-op count is t(L,S) + L with t(L,S) = r*L - C(S+r, S+1) and r
/// the least integer with C(S+r, S) >= L. Errors when Slots == 0.
llvm::Expected<std::vector<ChainOp>> revolveOps(const Chain &C, unsigned Slots);

/// t(L,S) above: the forward recomputations of Revolve.
uint64_t revolveRecomputations(uint64_t L, uint64_t S);

} // namespace remat

#endif // REMAT_PLANNER_REVOLVE_H

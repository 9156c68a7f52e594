//===- tests/runtime/RuntimeTestUtil.h - Chains and schedules ---*- C++ -*-===//
//
// Small chains and hand-built schedules for the runtime tests, written here
// from spec §3a rather than taken from the planner, so the executor is
// checked against an independent construction.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_TESTS_RUNTIME_RUNTIMETESTUTIL_H
#define REMAT_TESTS_RUNTIME_RUNTIMETESTUTIL_H

#include "TestUtil.h"
#include "graph/Graph.h"
#include "planner/Schedule.h"

#include <string>
#include <vector>

namespace remat::test {

/// Checkpoints the inputs of the segments starting at \p Starts (ascending,
/// Starts[0] == 0): each segment but the last runs F_ck then F_n; the last
/// is recorded; then each segment is recomputed recording (F_all) and
/// differentiated, last segment first.
inline std::vector<ChainOp>
segmentSchedule(unsigned L, const std::vector<unsigned> &Starts) {
  std::vector<ChainOp> Ops;
  auto End = [&](size_t S) {
    return S + 1 < Starts.size() ? Starts[S + 1] : L;
  };
  for (size_t S = 0; S + 1 < Starts.size(); ++S)
    for (unsigned I = Starts[S]; I < End(S); ++I)
      Ops.push_back({I == Starts[S] ? ChainOpKind::FCk : ChainOpKind::FN, I});
  for (size_t S = Starts.size(); S-- > 0;) {
    for (unsigned I = Starts[S]; I < End(S); ++I)
      Ops.push_back({ChainOpKind::FAll, I});
    if (S + 1 == Starts.size())
      Ops.push_back({ChainOpKind::Loss, 0});
    for (unsigned I = End(S); I-- > Starts[S];)
      Ops.push_back({ChainOpKind::B, I});
  }
  return Ops;
}

/// Recomputes from x_0 before every backward (quadratic time, least
/// memory): F_ck 0, F_n 1..i-1 up to x_i, then F_all i and B i. The loss
/// comes after recording stage L-1.
inline std::vector<ChainOp> recomputeAllSchedule(unsigned L) {
  std::vector<ChainOp> Ops;
  for (unsigned I = L; I-- > 0;) {
    for (unsigned J = 0; J < I; ++J)
      Ops.push_back({J == 0 ? ChainOpKind::FCk : ChainOpKind::FN, J});
    Ops.push_back({ChainOpKind::FAll, I});
    if (I + 1 == L)
      Ops.push_back({ChainOpKind::Loss, 0});
    Ops.push_back({ChainOpKind::B, I});
  }
  return Ops;
}

/// A chain of \p L stages with sizes and times drawn from \p Seed (fixed
/// seeds give fixed chains on every platform: the draws use a splitmix
/// hash, not <random>'s distributions).
inline Chain randomChain(unsigned L, uint64_t Seed) {
  uint64_t State = Seed;
  auto Next = [&](uint64_t Lo, uint64_t Hi) {
    uint64_t Z = (State += 0x9e3779b97f4a7c15ull);
    Z = (Z ^ (Z >> 30)) * 0xbf58476d1ce4e5b9ull;
    Z = (Z ^ (Z >> 27)) * 0x94d049bb133111ebull;
    Z ^= Z >> 31;
    return Lo + Z % (Hi - Lo + 1);
  };
  Chain C;
  C.InputBytes = Next(1, 64);
  for (unsigned I = 0; I < L; ++I) {
    Stage S;
    S.Name = "r" + std::to_string(I);
    S.Kind = Next(0, 1) ? "mlp" : "attention";
    S.FwdTime = double(Next(1, 20)) / 4;
    S.BwdTime = double(Next(1, 40)) / 4;
    S.OutputBytes = Next(1, 64);
    S.SavedBytes = S.OutputBytes + Next(0, 128);
    S.FwdWorkspace = Next(0, 3) ? 0 : Next(1, 32);
    S.BwdWorkspace = Next(0, 1) ? 0 : Next(1, 64);
    C.Stages.push_back(S);
  }
  C.Loss.BwdTime = 0.5;
  C.Loss.BwdWorkspace = Next(0, 16);
  return C;
}

} // namespace remat::test

#endif // REMAT_TESTS_RUNTIME_RUNTIMETESTUTIL_H

//===- tests/planner/BruteForce.h - Exhaustive chain search -----*- C++ -*-===//
//
// Random heterogeneous chains (fixed seeds) and an exhaustive search over the
// persistent schedule class of docs/optimal-chain.md, written independently
// of the DP: it lists every op sequence of the class by structure alone and
// lets the real simulator judge memory and time, so the DP's peak arithmetic
// is checked against the simulator, not against itself.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_TESTS_PLANNER_BRUTEFORCE_H
#define REMAT_TESTS_PLANNER_BRUTEFORCE_H

#include "graph/Graph.h"
#include "planner/Schedule.h"
#include "planner/Simulator.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace remat::test {

/// A random chain of \p L stages: sizes in [1, MaxBytes], saved >= output,
/// workspaces zero half the time, integer times (so sums are exact), kinds
/// "a"/"b"/"c".
inline Chain randomChain(std::mt19937_64 &Rng, unsigned L,
                         uint64_t MaxBytes = 20) {
  auto U = [&](uint64_t Lo, uint64_t Hi) {
    return std::uniform_int_distribution<uint64_t>(Lo, Hi)(Rng);
  };
  Chain C;
  C.InputBytes = U(1, MaxBytes);
  for (unsigned I = 0; I < L; ++I) {
    Stage S;
    S.Name = "s" + std::to_string(I);
    S.Kind = std::string(1, char('a' + U(0, 2)));
    S.FwdTime = double(U(1, 10));
    S.BwdTime = double(U(1, 20));
    S.OutputBytes = U(1, MaxBytes);
    S.SavedBytes = S.OutputBytes + U(0, 2 * MaxBytes);
    S.FwdWorkspace = U(0, 1) ? U(0, MaxBytes) : 0;
    S.BwdWorkspace = U(0, 1) ? U(0, MaxBytes) : 0;
    C.Stages.push_back(S);
  }
  C.Loss.BwdTime = double(U(0, 5));
  C.Loss.BwdWorkspace = U(0, 1) ? U(0, MaxBytes) : 0;
  return C;
}

using OpSeq = std::vector<ChainOp>;

/// Every op sequence of Sub(I, Lp) in the persistent class: record stage I
/// (F_all, the rest from x̄_{I+1}, B), or advance to some x_J with F_ck/F_n,
/// reverse [J, Lp] from it, then [I, J-1]. Lp == L includes the loss.
inline std::vector<OpSeq> persistentSchedules(unsigned L, unsigned I,
                                              unsigned Lp) {
  if (I == L)
    return {{{ChainOpKind::Loss, 0}}};
  std::vector<OpSeq> Out;
  std::vector<OpSeq> Inner;
  if (I < Lp || Lp == L)
    Inner = persistentSchedules(L, I + 1, Lp);
  else
    Inner = {{}};
  for (const OpSeq &S : Inner) {
    OpSeq O{{ChainOpKind::FAll, I}};
    O.insert(O.end(), S.begin(), S.end());
    O.push_back({ChainOpKind::B, I});
    Out.push_back(std::move(O));
  }
  for (unsigned J = I + 1; J <= Lp; ++J) {
    OpSeq Head{{ChainOpKind::FCk, I}};
    for (unsigned K = I + 1; K < J; ++K)
      Head.push_back({ChainOpKind::FN, K});
    std::vector<OpSeq> Right = persistentSchedules(L, J, Lp);
    std::vector<OpSeq> Left = persistentSchedules(L, I, J - 1);
    for (const OpSeq &R : Right)
      for (const OpSeq &Lf : Left) {
        OpSeq O = Head;
        O.insert(O.end(), R.begin(), R.end());
        O.insert(O.end(), Lf.begin(), Lf.end());
        Out.push_back(std::move(O));
      }
  }
  return Out;
}

/// (peak, time) of every persistent schedule of \p C, simulated.
/// Every x_j a schedule keeps as a checkpoint: F_ck_i, F_n_{i+1..j-1} keeps
/// x_j, the input of the last stage it ran plus one.
inline std::vector<unsigned> checkpoints(const OpSeq &Ops) {
  std::vector<unsigned> Out;
  for (size_t P = 0; P < Ops.size(); ++P) {
    if (Ops[P].Kind != ChainOpKind::FCk)
      continue;
    unsigned J = Ops[P].Layer + 1;
    while (P + 1 < Ops.size() && Ops[P + 1].Kind == ChainOpKind::FN)
      J = Ops[++P].Layer + 1;
    Out.push_back(J);
  }
  return Out;
}

/// Whether every checkpoint of \p Ops is allowed by \p At (indexed by j).
template <typename Mask> inline bool onlyAt(const OpSeq &Ops, const Mask &At) {
  for (unsigned J : checkpoints(Ops))
    if (!At[J])
      return false;
  return true;
}

struct Simulated {
  uint64_t Peak;
  double Time;
};
inline std::vector<Simulated> simulateAllPersistent(const Chain &C) {
  std::vector<Simulated> Out;
  for (const OpSeq &S : persistentSchedules(C.size(), 0, C.size())) {
    auto R = simulateChain(C, S);
    REQUIRE_MESSAGE(bool(R), llvm::toString(R.takeError()));
    Out.push_back({R->PeakBytes, R->Time});
  }
  return Out;
}

/// The least time of a persistent schedule within \p Budget, if any.
inline std::optional<double> bruteForceBest(const std::vector<Simulated> &All,
                                            uint64_t Budget) {
  std::optional<double> Best;
  for (const Simulated &S : All)
    if (S.Peak <= Budget && (!Best || S.Time < *Best))
      Best = S.Time;
  return Best;
}

} // namespace remat::test

#endif // REMAT_TESTS_PLANNER_BRUTEFORCE_H

//===- tests/planner/ChainDPStrideTest.cpp - Checkpoints one stage in c ---===//
//
// ChainDPOptions::SplitStride (issue 18, the default mode on long chains):
// the discretised DP keeps checkpoints x_j only at the smallest x_j of each
// run of c stages. Its plan must be the best persistent schedule of that
// subclass, checked against every persistent schedule enumerated and
// filtered by its checkpoints, and its gap bound must hold against the
// optimum over the whole class.
//
//===----------------------------------------------------------------------===//

#include "BruteForce.h"
#include "planner/ChainDP.h"
#include "planner/ChainStrategies.h"
#include "planner/Simulator.h"

#include <doctest/doctest.h>

#include <optional>
#include <random>

using namespace remat;
using namespace remat::test;

namespace {

/// The documented rule, written out again: in each run of \p Stride indices
/// from j = 1, the first j with the smallest x_j.
std::vector<bool> allowedSplits(const Chain &C, unsigned Stride) {
  unsigned L = C.size();
  std::vector<bool> At(L + 1, false);
  for (unsigned J0 = 1; J0 <= L; J0 += Stride) {
    unsigned Best = J0;
    for (unsigned J = J0 + 1; J < J0 + Stride && J <= L; ++J)
      if (C.activationBytes(J) < C.activationBytes(Best))
        Best = J;
    At[Best] = true;
  }
  return At;
}

struct Best {
  std::optional<double> All, Allowed;
};

/// The least time within \p Budget over every persistent schedule, and over
/// those that checkpoint only where \p At allows.
Best bruteForce(const Chain &C, const std::vector<OpSeq> &Schedules,
                const std::vector<Simulated> &Sims, const std::vector<bool> &At,
                uint64_t Budget) {
  Best B;
  for (size_t K = 0; K < Schedules.size(); ++K) {
    if (Sims[K].Peak > Budget)
      continue;
    if (!B.All || Sims[K].Time < *B.All)
      B.All = Sims[K].Time;
    if (onlyAt(Schedules[K], At) && (!B.Allowed || Sims[K].Time < *B.Allowed))
      B.Allowed = Sims[K].Time;
  }
  return B;
}

} // namespace

TEST_CASE("chaindp stride: the best schedule that checkpoints only at the "
          "allowed stages") {
  // One-byte slots (MemorySlots = B), so no rounding: the planner must find
  // exactly the filtered brute force's optimum, or, where no allowed
  // schedule fits, fall back to every stage (SplitStride 1) and the whole
  // class's optimum.
  std::mt19937_64 Rng(1818);
  int Restricted = 0, FellBack = 0;
  for (int Trial = 0; Trial < 24; ++Trial) {
    unsigned L = 2 + Trial % 4;
    Chain C = randomChain(Rng, L);
    std::vector<OpSeq> Schedules = persistentSchedules(L, 0, L);
    std::vector<Simulated> Sims = simulateAllPersistent(C);
    auto Top = simulateChain(C, storeAllOps(C));
    REQUIRE(bool(Top));
    for (unsigned Stride : {2u, 3u}) {
      std::vector<bool> At = allowedSplits(C, Stride);
      for (uint64_t B = 1; B <= Top->PeakBytes; ++B) {
        Best Want = bruteForce(C, Schedules, Sims, At, B);
        ChainDPOptions O;
        O.BudgetBytes = B;
        O.MemorySlots = unsigned(B);
        O.SplitStride = Stride;
        auto R = planOptimalChain(C, O);
        CAPTURE(Trial);
        CAPTURE(Stride);
        CAPTURE(B);
        if (!Want.All) {
          CHECK(!R);
          if (!R)
            llvm::consumeError(R.takeError());
          continue;
        }
        REQUIRE_MESSAGE(bool(R), llvm::toString(R.takeError()));
        auto S = simulateChain(C, R->Ops);
        REQUIRE(bool(S));
        CHECK(S->PeakBytes <= B);
        CHECK(S->Time == doctest::Approx(R->Time));
        if (Want.Allowed) {
          ++Restricted;
          CHECK(R->SplitStride == Stride);
          CHECK(onlyAt(R->Ops, At));
          CHECK(R->Time == doctest::Approx(*Want.Allowed));
        } else {
          ++FellBack;
          CHECK(R->SplitStride == 1);
          CHECK(R->Time == doctest::Approx(*Want.All));
        }
        // The bound holds against the whole class's optimum.
        CHECK(R->Time - *Want.All <= R->GapBound + 1e-9);
      }
    }
  }
  // Both branches ran.
  CHECK(Restricted > 100);
  CHECK(FellBack > 0);
}

TEST_CASE("chaindp stride: the gap bound is the plan's time above the "
          "store-all time") {
  // Every stage forward and backward once, and the loss: no plan is faster.
  std::mt19937_64 Rng(1819);
  for (int Trial = 0; Trial < 10; ++Trial) {
    Chain C = randomChain(Rng, 20 + Trial, 100000);
    uint64_t Min = minFeasibleChainBudget(C);
    ChainDPOptions O;
    // Four times the least budget: the subclass fits (at twice it, half of
    // these chains need a checkpoint that one stage in 4 leaves out).
    O.BudgetBytes = 4 * Min;
    O.MemorySlots = 300;
    O.SplitStride = 4;
    auto R = planOptimalChain(C, O);
    REQUIRE_MESSAGE(bool(R), llvm::toString(R.takeError()));
    CAPTURE(Trial);
    REQUIRE(R->SplitStride == 4);
    double Least = C.Loss.BwdTime;
    for (const Stage &S : C.Stages)
      Least += S.FwdTime + S.BwdTime;
    CHECK(R->GapBound == doctest::Approx(R->Time - Least));
    // A subclass: never faster than the same slots over every stage.
    O.SplitStride = 1;
    auto Every = planOptimalChain(C, O);
    REQUIRE(bool(Every));
    CHECK(R->Time >= Every->Time * (1 - 1e-12));
  }
}

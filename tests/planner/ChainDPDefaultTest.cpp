//===- tests/planner/ChainDPDefaultTest.cpp - The default mode's promise --===//
//
// planOptimalChain with neither slots nor --exact (issue 18, item 1): exact
// where the exact DP's estimated work fits the time promise, else slots
// chosen from the fitted cost model, with a gap bound. Decisions come from
// work counts only, so they can be steered here by the promise itself.
//
//===----------------------------------------------------------------------===//

#include "BruteForce.h"
#include "SimTestUtil.h"
#include "TestUtil.h"
#include "planner/ChainDP.h"
#include "planner/Simulator.h"
#include "planner/Strategy.h"

#include <doctest/doctest.h>

#include <random>

using namespace remat;
using namespace remat::test;

namespace {

ChainDPResult plan(const Chain &C, const ChainDPOptions &O) {
  auto R = planOptimalChain(C, O);
  REQUIRE_MESSAGE(bool(R), llvm::toString(R.takeError()));
  auto S = simulateChain(C, R->Ops);
  REQUIRE_MESSAGE(bool(S), llvm::toString(S.takeError()));
  CHECK(S->PeakBytes <= O.BudgetBytes);
  CHECK(S->Time == doctest::Approx(R->Time));
  return std::move(*R);
}

/// Settings under which the exact DP's share cannot meet the promise (its
/// work limit is cut to 1 unit), for a 40-stage chain and a 20 MiB budget,
/// 10 slots at least, a promise independent of the length.
ChainDPOptions slotsOnlyOptions() {
  ChainDPOptions O;
  O.BudgetBytes = 20 << 20;
  O.ExactWorkLimit = 1;
  O.AutoSecondsPer1000Stages = 0;
  O.AutoMinSlots = 10;
  return O;
}

} // namespace

TEST_CASE("chaindp default: exact when it fits the promise, else slots "
          "within the gap bound") {
  std::mt19937_64 Rng(1803);
  for (int Trial = 0; Trial < 30; ++Trial) {
    Chain C = randomChain(Rng, 5 + Trial, 100000);
    uint64_t Min = minFeasibleChainBudget(C);
    for (uint64_t B : {Min + Min / 3, 2 * Min}) {
      ChainDPOptions O;
      O.BudgetBytes = B;
      O.Exact = true;
      ChainDPResult Exact = plan(C, O);
      CHECK(Exact.MemorySlots == 0);
      // The default promise (0.5 s) covers these chains of 5..34 stages:
      // exact, the same optimum.
      O.Exact = false;
      ChainDPResult Default = plan(C, O);
      CHECK(Default.MemorySlots == 0);
      CHECK(Default.Time == Exact.Time);
      CHECK(Default.PromiseSeconds == 0.5);
      CHECK(Default.EstimatedSeconds <= Default.PromiseSeconds);
      // A promise of a nanosecond leaves the exact DP no work at all: slots,
      // AutoMinSlots of them (nothing more fits), within the gap bound;
      // with checkpoints at every stage, and at one stage in
      // AutoMaxSplitStride (nothing less fits), unless no plan of that
      // subclass fits the budget.
      O.AutoSeconds = 1e-9;
      O.AutoSecondsPer1000Stages = 0;
      O.AutoMinSlots = 40;
      CAPTURE(Trial);
      CAPTURE(B);
      for (unsigned MaxStride : {1u, 16u}) {
        O.AutoMaxSplitStride = MaxStride;
        ChainDPResult Fast = plan(C, O);
        CAPTURE(MaxStride);
        CHECK(Fast.MemorySlots == 40);
        CHECK((Fast.SplitStride == MaxStride || Fast.SplitStride == 1));
        CHECK(Fast.Time >= Exact.Time);
        CHECK(Fast.Time - Exact.Time <= Fast.GapBound + 1e-9);
      }
      O.AutoMaxSplitStride = 16;
      // --exact ignores the promise.
      O.Exact = true;
      CHECK(plan(C, O).MemorySlots == 0);
    }
  }
}

TEST_CASE("chaindp default: more promise never means fewer slots") {
  // 40 uniform stages with a promise that the exact DP's share cannot meet
  // (its work limit is cut to 1 unit): the slots are the most that the cost
  // model fits in the promise, clamped to [AutoMinSlots, AutoMaxSlots].
  Chain C = test::uniformChain(40, 1 << 20, 2 << 20);
  ChainDPOptions O = slotsOnlyOptions();
  O.AutoMaxSlots = 5000;
  O.AutoMaxSplitStride = 1; // Slots alone (the next test adds strides).
  // 1.7 * 40^3 * (3.4e-9 + 1e-11 N) seconds: N = 10 costs 3.8e-4 s, N =
  // 5000 costs 5.8e-3 s.
  unsigned Prev = 0;
  for (double Promise : {1e-6, 1e-3, 2e-3, 4e-3, 1.0}) {
    O.AutoSeconds = Promise;
    ChainDPResult R = plan(C, O);
    CAPTURE(Promise);
    CHECK(R.MemorySlots >= Prev);
    Prev = R.MemorySlots;
    if (Promise >= 1e-3) // the estimate fits the promise
      CHECK(R.EstimatedSeconds <= Promise * (1 + 1e-9));
  }
  CHECK(Prev == 5000);
  O.AutoSeconds = 1e-6;
  CHECK(plan(C, O).MemorySlots == 10);
  // (1e-3 / (1.7 * 64000) - 3.4e-9) / 1e-11 = 579.1, less what the exact
  // attempt spent before it gave way: its first table with a split counts
  // at least 10 units (a record read, a split tried, a walk whose three
  // searches count 8) and at most a few dozen, at 15 ns each 1.5e-7 s or
  // more, (1.5e-7 / (1.7 * 64000)) / 1e-11 = 0.14 slot or more: 578.
  O.AutoSeconds = 1e-3;
  CHECK(plan(C, O).MemorySlots == 578);
}

TEST_CASE("chaindp default: past AutoMinSlots over every stage, "
          "AutoMaxSlots slots and the least stride that fits") {
  // The chain and settings of the test above, AutoMaxSlots 200. With a
  // split stride c > 1 the estimate is Fixed + N * PerSlot, Fixed = (40^3 +
  // 1) (3.4e-9 / c^2 + 2.3e-9 / c), PerSlot = (40^3 + 1) 6.4e-12 / c^2 +
  // 1600 * 6.8e-10 / c; c = 1 at 10 slots needs 1.7 * 64001 * (3.4e-9 +
  // 1e-10) = 3.81e-4 s, so every promise below takes a stride.
  Chain C = test::uniformChain(40, 1 << 20, 2 << 20);
  ChainDPOptions O = slotsOnlyOptions();
  O.AutoMaxSlots = 200;
  // c = 2: Fixed 1.280e-4, PerSlot 6.464e-7, 200 slots 2.573e-4 s.
  O.AutoSeconds = 3e-4;
  ChainDPResult Two = plan(C, O);
  CHECK(Two.SplitStride == 2);
  CHECK(Two.MemorySlots == 200);
  CHECK(Two.EstimatedSeconds <= 3e-4);
  // c = 3: Fixed 7.325e-5, PerSlot 4.082e-7, 200 slots 1.549e-4 s (c = 2
  // is over 2e-4).
  O.AutoSeconds = 2e-4;
  ChainDPResult Three = plan(C, O);
  CHECK(Three.SplitStride == 3);
  CHECK(Three.MemorySlots == 200);
  // A subclass, so never faster than the whole class at the same slots.
  ChainDPOptions Every = O;
  Every.MemorySlots = 200;
  CHECK(Three.Time >= plan(C, Every).Time);
  // 1e-5 s: no stride up to AutoMaxSplitStride = 4 fits (c = 4: Fixed
  // alone is 5.04e-5 s): c = 4 and AutoMinSlots.
  O.AutoSeconds = 1e-5;
  O.AutoMaxSplitStride = 4;
  ChainDPResult Most = plan(C, O);
  CHECK(Most.SplitStride == 4);
  CHECK(Most.MemorySlots == 10);
  // With no strides allowed, the old rule: AutoMinSlots slots, c = 1.
  O.AutoSeconds = 2e-4;
  O.AutoMaxSplitStride = 1;
  ChainDPResult One = plan(C, O);
  CHECK(One.SplitStride == 1);
  CHECK(One.MemorySlots == 10);
}

TEST_CASE("chaindp default: what optimal reports for a strided plan") {
  // 400 uniform stages (forward 1, backward 2, no loss time): 500 slots over
  // every stage are estimated at 1.7 * 400^3 * 8.4e-9 = 0.91 s, over the
  // 0.8 s promise (2 s per 1,000 stages), and 2000 slots at c = 2 at
  // 6.4e7 * 2.0e-9 + 2000 * (1.0e-4 + 5.4e-5) = 0.44 s. The lower bound
  // is every stage once: 400 * 3 = 1200.
  Model M = chainModel(test::uniformChain(400, 1 << 20, 2 << 20));
  StrategyOptions O;
  O.BudgetBytes = 80 << 20;
  auto S = planStrategy(M, O);
  REQUIRE_MESSAGE(bool(S), llvm::toString(S.takeError()));
  REQUIRE(S->Optimality);
  CHECK(S->Optimality->Method ==
        "default mode: 2000 memory slots, checkpoints at one stage in 2 "
        "(full DP estimated over the 0.8 s promise; lower bound: the "
        "store-all time)");
  CHECK(S->Optimality->ClassKey == "persistent");
  CHECK(S->Optimality->LowerBound == doctest::Approx(1200));
  CHECK_FALSE(S->Optimality->ProvenOptimal);
  auto Sim = simulateChain(*M.AsChain, S->chainOps());
  REQUIRE(bool(Sim));
  CHECK(Sim->PeakBytes <= uint64_t(80) << 20);
  CHECK(Sim->Time == doctest::Approx(S->Predicted.Time));
  CHECK(S->Predicted.Time > 1200);
}

//===- tests/planner/ChainDPPruneTest.cpp - Pruning with a plan's time ----===//
//
// The exact chain DP takes the time of some plan within the budget
// (Tables' UpperBound) and leaves out the table entries no plan at or below
// it can use. The optimum must not
// change: checked here against the unpruned DP of the same chain, against
// the persistent brute force through planOptimalChain, and with a bound
// below the optimum (the negative control) that must lose every plan.
//
//===----------------------------------------------------------------------===//

#include "planner/ChainDP.h"
#include "planner/chain/ChainDPTables.h"

#include "BruteForce.h"
#include "planner/Simulator.h"

#include <doctest/doctest.h>

#include <random>
#include <set>

using namespace remat;
using namespace remat::chaindp;
using namespace remat::test;

namespace {

/// Budgets at 30, 50, 70 and 100% of the way from the least feasible to the
/// store-all peak, bytes.
std::vector<uint64_t> budgets(const Chain &C) {
  DPChain D = exactChain(C);
  uint64_t Min = minFeasibleBudget(D), Top = D.A[0] + storeAllNeed(D);
  std::vector<uint64_t> Out;
  for (uint64_t Pct : {30, 50, 70, 100})
    Out.push_back(Min + (Top - Min) * Pct / 100);
  return Out;
}

/// The pruned tables' plan within \p B: same time as \p Ref to the bit,
/// and the simulator finds it within B at that time.
void checkSamePlan(const Chain &C, const Tables &Pruned, uint64_t B,
                   const Point &Ref) {
  std::optional<Point> P = Pruned.best(B);
  REQUIRE(P);
  CHECK(P->Time == Ref.Time);
  auto S = simulateChain(C, Pruned.reconstruct(B));
  REQUIRE_MESSAGE(bool(S), llvm::toString(S.takeError()));
  CHECK(S->PeakBytes <= B);
  CHECK(S->Time == doctest::Approx(Ref.Time));
}

} // namespace

// Bounds at the optimum, just above it, 10% above it and the time of a
// coarse (7-slot) plan: the optimum and a plan reaching it survive every
// one. Integer stage times make many ties, fractional ones many rounded
// sums. The pruning must also bite: at the optimum as bound the tables
// hold fewer breakpoints on most chains.
TEST_CASE("chaindp prune: the exact DP keeps its optimum under any bound") {
  std::mt19937_64 Rng(1807);
  unsigned Smaller = 0, Cases = 0;
  for (int Trial = 0; Trial < 60; ++Trial) {
    Chain C = randomChain(Rng, 2 + Trial % 30, Trial % 2 ? 1000 : 20);
    if (Trial % 3 == 0)
      for (Stage &S : C.Stages)
        S.FwdTime = S.FwdTime / 3 + 0.1;
    DPChain D = exactChain(C);
    for (uint64_t B : budgets(C)) {
      CAPTURE(Trial);
      CAPTURE(B);
      Tables Full(D, B);
      std::optional<Point> Ref = Full.best(B);
      REQUIRE(Ref);
      ChainDPOptions O;
      O.BudgetBytes = B;
      O.MemorySlots = 7;
      auto Coarse = planOptimalChain(C, O);
      REQUIRE(bool(Coarse));
      CHECK(Coarse->Time >= Ref->Time);
      for (double U :
           {Ref->Time, Ref->Time * 1.001, Ref->Time * 1.1, Coarse->Time}) {
        Tables Pruned(D, B, NoCap, U);
        checkSamePlan(C, Pruned, B, *Ref);
        if (U == Ref->Time) {
          ++Cases;
          Smaller += Pruned.tableBytes() < Full.tableBytes();
        }
      }
    }
  }
  CHECK(Smaller * 2 > Cases);
}

// The negative control: a bound below the optimum leaves no plan, since the
// top table's entry at the budget is itself above it. A DP that ignored its
// bound would pass the test above and fail this one.
TEST_CASE("chaindp prune: a bound below the optimum loses every plan") {
  std::mt19937_64 Rng(1808);
  for (int Trial = 0; Trial < 30; ++Trial) {
    Chain C = randomChain(Rng, 2 + Trial % 20, 100);
    DPChain D = exactChain(C);
    for (uint64_t B : budgets(C)) {
      std::optional<Point> Ref = Tables(D, B).best(B);
      REQUIRE(Ref);
      // 0.5 below: far more than the bound's rounding room (1e-9 of the
      // total time, under 1e-6 here).
      CHECK_FALSE(Tables(D, B, NoCap, Ref->Time - 0.5).best(B));
    }
  }
}

// Through the planner, every chain pruned (ExactBoundFromStages = 1, a
// 5-slot bound): the time is the brute-force optimum over the persistent
// class at every distinct peak of it.
TEST_CASE("chaindp prune: --exact pruned equals exhaustive search") {
  std::mt19937_64 Rng(1810);
  for (int Trial = 0; Trial < 40; ++Trial) {
    Chain C = randomChain(Rng, 1 + Trial % 5, 12);
    std::vector<Simulated> All = simulateAllPersistent(C);
    std::set<uint64_t> Budgets;
    for (const Simulated &S : All)
      Budgets.insert(S.Peak);
    for (uint64_t B : Budgets) {
      ChainDPOptions O;
      O.BudgetBytes = B;
      O.Exact = true;
      O.ExactBoundFromStages = 1;
      O.ExactBoundSlots = 5;
      auto R = planOptimalChain(C, O);
      REQUIRE_MESSAGE(bool(R), llvm::toString(R.takeError()));
      CAPTURE(Trial);
      CAPTURE(B);
      CHECK(R->Time == *bruteForceBest(All, B));
      auto S = simulateChain(C, R->Ops);
      REQUIRE(bool(S));
      CHECK(S->PeakBytes <= B);
      CHECK(S->Time == doctest::Approx(R->Time));
    }
  }
}

// The default threshold: chains of 48 stages or more are pruned. On 60- and
// 90-stage chains with issue-18-like spreads the pruned --exact plan has
// the unpruned one's time.
TEST_CASE("chaindp prune: long chains, pruned by default, keep the optimum") {
  std::mt19937_64 Rng(1811);
  for (int Trial = 0; Trial < 4; ++Trial) {
    Chain C = randomChain(Rng, Trial < 2 ? 60 : 90, 1 << 20);
    for (uint64_t B : budgets(C)) {
      ChainDPOptions O;
      O.BudgetBytes = B;
      O.Exact = true;
      auto Pruned = planOptimalChain(C, O);
      O.ExactBoundFromStages = 0;
      auto Full = planOptimalChain(C, O);
      REQUIRE(bool(Pruned));
      REQUIRE(bool(Full));
      CAPTURE(Trial);
      CAPTURE(B);
      CHECK(Pruned->Time == Full->Time);
      CHECK(Pruned->MemorySlots == 0);
      auto S = simulateChain(C, Pruned->Ops);
      REQUIRE(bool(S));
      CHECK(S->PeakBytes <= B);
    }
  }
}

// The default mode from 48 stages: the fallback's rounded-up pass runs
// first and prunes the exact attempt. With the promise's default share the
// exact attempt finishes and gives the unpruned optimum; with its work
// limit cut to one unit it gives way and the same pass's plan is returned,
// at the slots the promise leaves beside the exact share: promise 8 ms,
// share 4 ms, 1.7 (60^3 + 1) (3.4e-9 + 1e-11 N) <= 4e-3 gives N = 749.3,
// so 749 slots; its gap bound holds against the exact optimum.
TEST_CASE("chaindp prune: the default mode prunes with its fallback's plan") {
  std::mt19937_64 Rng(1812);
  unsigned ExactCases = 0;
  for (int Trial = 0; Trial < 3; ++Trial) {
    Chain C = randomChain(Rng, 60, 1 << 20);
    for (uint64_t B : budgets(C)) {
      ChainDPOptions O;
      O.BudgetBytes = B;
      O.Exact = true;
      O.ExactBoundFromStages = 0;
      auto Exact = planOptimalChain(C, O);
      REQUIRE(bool(Exact));
      O.Exact = false;
      O.ExactBoundFromStages = 48;
      O.AutoSeconds = 8e-3;
      O.AutoSecondsPer1000Stages = 0;
      auto Default = planOptimalChain(C, O);
      REQUIRE(bool(Default));
      CAPTURE(Trial);
      CAPTURE(B);
      if (Default->MemorySlots == 0) {
        ++ExactCases;
        CHECK(Default->Time == Exact->Time);
      }
      O.ExactWorkLimit = 1;
      auto Slotted = planOptimalChain(C, O);
      REQUIRE(bool(Slotted));
      CHECK(Slotted->MemorySlots == 749);
      CHECK(Slotted->Time >= Exact->Time);
      CHECK(Slotted->Time - Slotted->GapBound <= Exact->Time * (1 + 1e-12));
      auto S = simulateChain(C, Slotted->Ops);
      REQUIRE(bool(S));
      CHECK(S->PeakBytes <= B);
    }
  }
  CHECK(ExactCases > 0);
}

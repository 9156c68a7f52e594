//===- tests/planner/ChainDPTest.cpp - The optimal chain planner ----------===//

#include "planner/ChainDP.h"

#include "BruteForce.h"
#include "planner/ChainStrategies.h"
#include "planner/Errors.h"
#include "planner/Revolve.h"
#include "planner/Simulator.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <set>

using namespace remat;
using namespace remat::test;

namespace {

/// x_0 = 1; two stages with output 1, saved 2, fwd 1, bwd 1; free loss.
Chain twoStage() {
  Chain C;
  C.InputBytes = 1;
  for (int I = 0; I < 2; ++I) {
    Stage S;
    S.Name = "s" + std::to_string(I);
    S.FwdTime = 1;
    S.BwdTime = 1;
    S.OutputBytes = 1;
    S.SavedBytes = 2;
    C.Stages.push_back(S);
  }
  return C;
}

/// Plans, then re-simulates: the plan fits, and the simulator agrees with
/// the planner's time and (exact mode) peak.
ChainDPResult planChecked(const Chain &C, uint64_t Budget, unsigned Slots = 0) {
  auto R = planOptimalChain(C, {Budget, Slots});
  REQUIRE_MESSAGE(bool(R), llvm::toString(R.takeError()));
  auto S = simulateChain(C, R->Ops);
  REQUIRE_MESSAGE(bool(S), llvm::toString(S.takeError()));
  CHECK(S->PeakBytes <= Budget);
  CHECK(S->Time == doctest::Approx(R->Time));
  CHECK(S->ForwardRecomputations == R->ForwardRecomputations);
  if (Slots == 0)
    CHECK(S->PeakBytes == R->PeakBytes);
  return std::move(*R);
}

bool infeasible(const Chain &C, uint64_t Budget, uint64_t &MinFeasible) {
  auto R = planOptimalChain(C, {Budget, 0});
  if (R)
    return false;
  bool Is = false;
  llvm::handleAllErrors(R.takeError(), [&](const InfeasibleBudgetError &E) {
    Is = true;
    MinFeasible = E.MinFeasibleBytes;
  });
  return Is;
}

} // namespace

TEST_CASE("chaindp: two stages by hand, the budget forces one recompute") {
  Chain C = twoStage();
  // Store all: F_all_0 peaks at x0+x̄1 = 3, F_all_1 at 3+2 = 5, loss at
  // 5+y2 = 6, B_1 at x0+x̄1+x̄2+y2+y1 = 1+2+2+1+1 = 7. Time 2+2 = 4.
  ChainDPResult All = planChecked(C, 7);
  CHECK(All.Time == 4);
  CHECK(All.PeakBytes == 7);
  CHECK(All.ForwardRecomputations == 0);
  // Budget 6: F_ck_0 (x0+x1 = 2), F_all_1 (2+2 = 4), loss (4+1 = 5),
  // B_1 (x0+x1+x̄2+y2+y1 = 6) frees x1, x̄2, y2; F_all_0 (x0+y1+x̄1 = 4),
  // B_0 (4+y0 = 5). Peak 6, time 3 forwards + 2 backwards = 5.
  ChainDPResult Six = planChecked(C, 6);
  CHECK(Six.Time == 5);
  CHECK(Six.PeakBytes == 6);
  CHECK(Six.ForwardRecomputations == 1);
  std::vector<ChainOp> Expected = {
      {ChainOpKind::FCk, 0}, {ChainOpKind::FAll, 1}, {ChainOpKind::Loss, 0},
      {ChainOpKind::B, 1},   {ChainOpKind::FAll, 0}, {ChainOpKind::B, 0}};
  CHECK(Six.Ops == Expected);
  // Budget 5: B_1 needs x̄2+y2+y1 = 4 plus x0 = 1 plus x1 or x̄1 (>= 1).
  uint64_t Min = 0;
  CHECK(infeasible(C, 5, Min));
  CHECK(Min == 6);
  CHECK(minFeasibleChainBudget(C) == 6);
}

TEST_CASE("chaindp: the F_all peak rotor leaves unchecked is checked") {
  // One stage: x0 = 1, x1 = 1, x̄1 = 1, fwd workspace 10. F_all_0 peaks at
  // x0 + x̄1 + 10 = 12; B_0 at x0 + x̄1 + y1 + y0 = 4; loss at 1+1+1 = 3.
  Chain C;
  C.InputBytes = 1;
  Stage S;
  S.Name = "s0";
  S.FwdTime = 1;
  S.BwdTime = 1;
  S.OutputBytes = 1;
  S.SavedBytes = 1;
  S.FwdWorkspace = 10;
  C.Stages.push_back(S);
  uint64_t Min = 0;
  CHECK(infeasible(C, 11, Min));
  CHECK(Min == 12);
  CHECK(planChecked(C, 12).Time == 2);
}

TEST_CASE("chaindp: equals exhaustive search over the persistent class") {
  std::mt19937_64 Rng(20240501);
  for (int Trial = 0; Trial < 40; ++Trial) {
    unsigned L = 1 + Trial % 5;
    Chain C = randomChain(Rng, L, 12);
    std::vector<Simulated> All = simulateAllPersistent(C);
    std::set<uint64_t> Budgets;
    for (const Simulated &S : All)
      Budgets.insert(S.Peak);
    uint64_t Least = *Budgets.begin();
    Budgets.insert(Least - 1);
    CHECK(minFeasibleChainBudget(C) == Least);
    for (uint64_t B : Budgets) {
      std::optional<double> Brute = bruteForceBest(All, B);
      uint64_t Min = 0;
      if (!Brute) {
        CHECK(infeasible(C, B, Min));
        CHECK(Min == Least);
        continue;
      }
      CAPTURE(Trial);
      CAPTURE(B);
      CHECK(planChecked(C, B).Time == *Brute);
    }
  }
}

// Under frees_input the loss and B_{L-1} peak lower (spec §3a); the
// persistent schedules are judged by the simulator, so the DP's LossNeed and
// BNeed arithmetic is checked against it. Discretised plans still fit.
TEST_CASE("chaindp: equals exhaustive search under a loss that frees x_L") {
  std::mt19937_64 Rng(20261206);
  unsigned Lower = 0;
  for (int Trial = 0; Trial < 40; ++Trial) {
    unsigned L = 1 + Trial % 5;
    Chain C = randomChain(Rng, L, 12);
    uint64_t Unflagged = minFeasibleChainBudget(C);
    C.Loss.FreesInput = true;
    std::vector<Simulated> All = simulateAllPersistent(C);
    std::set<uint64_t> Budgets;
    for (const Simulated &S : All)
      Budgets.insert(S.Peak);
    uint64_t Least = *Budgets.begin();
    CHECK(minFeasibleChainBudget(C) == Least);
    Lower += Least < Unflagged;
    for (uint64_t B : Budgets) {
      std::optional<double> Brute = bruteForceBest(All, B);
      REQUIRE(Brute);
      CAPTURE(Trial);
      CAPTURE(B);
      CHECK(planChecked(C, B).Time == *Brute);
      ChainDPResult Slots = planChecked(C, B + B / 3, 7);
      CHECK(Slots.Time - planChecked(C, B + B / 3).Time <=
            Slots.GapBound + 1e-9);
    }
  }
  CHECK(Lower > 0); // the flag changes some least budgets
}

TEST_CASE("chaindp: beats or ties every classic strategy at its own peak") {
  std::mt19937_64 Rng(7);
  unsigned Compared = 0;
  for (int Trial = 0; Trial < 1000; ++Trial) {
    unsigned L = 1 + Trial % 10;
    Chain C = randomChain(Rng, L, 1000);
    std::vector<std::vector<ChainOp>> Plans;
    Plans.push_back(storeAllOps(C));
    Plans.push_back(sqrtOps(C));
    for (unsigned N : {2u, 3u})
      if (auto Ops = sequentialOps(C, N))
        Plans.push_back(*Ops);
      else
        llvm::consumeError(Ops.takeError());
    if (auto Ops = everyOps(C, 2))
      Plans.push_back(*Ops);
    else
      llvm::consumeError(Ops.takeError());
    if (auto Ops = selectiveOps(C, {"a"}))
      Plans.push_back(*Ops);
    else
      llvm::consumeError(Ops.takeError());
    if (auto Ops = chenOps(C, std::nullopt))
      Plans.push_back(*Ops);
    else
      llvm::consumeError(Ops.takeError());
    for (unsigned S : {1u, 2u, 3u})
      Plans.push_back(cantFail(revolveOps(C, S)));
    for (const std::vector<ChainOp> &Ops : Plans) {
      auto Sim = simulateChain(C, Ops);
      REQUIRE_MESSAGE(bool(Sim), llvm::toString(Sim.takeError()));
      ChainDPResult R = planChecked(C, Sim->PeakBytes);
      CAPTURE(Trial);
      CHECK(R.Time <= Sim->Time);
      ++Compared;
    }
  }
  CHECK(Compared >= 1000);
}

TEST_CASE("chaindp: time never rises with the budget; frontier agrees") {
  std::mt19937_64 Rng(99);
  for (int Trial = 0; Trial < 60; ++Trial) {
    Chain C = randomChain(Rng, 2 + Trial % 15, 100);
    std::vector<ChainFrontierPoint> F = optimalChainFrontier(C);
    REQUIRE(!F.empty());
    CHECK(F.front().BudgetBytes == minFeasibleChainBudget(C));
    for (size_t K = 1; K < F.size(); ++K) {
      CHECK(F[K].BudgetBytes > F[K - 1].BudgetBytes);
      CHECK(F[K].Time < F[K - 1].Time);
    }
    uint64_t Lo = F.front().BudgetBytes, Hi = F.back().BudgetBytes + 10;
    double Prev = 1e300;
    for (int Step = 0; Step <= 12; ++Step) {
      uint64_t B = Lo + (Hi - Lo) * Step / 12;
      ChainDPResult R = planChecked(C, B);
      CHECK(R.Time <= Prev);
      Prev = R.Time;
      // The frontier's value at B: its last breakpoint at or below B.
      auto It = std::upper_bound(F.begin(), F.end(), B,
                                 [](uint64_t X, const ChainFrontierPoint &P) {
                                   return X < P.BudgetBytes;
                                 });
      REQUIRE(It != F.begin());
      CHECK(R.Time == (It - 1)->Time);
    }
  }
}

TEST_CASE("chaindp: discretised plans fit and stay within the gap bound") {
  std::mt19937_64 Rng(5);
  for (int Trial = 0; Trial < 40; ++Trial) {
    Chain C = randomChain(Rng, 3 + Trial % 20, 100000);
    uint64_t Min = minFeasibleChainBudget(C);
    for (uint64_t B : {Min + Min / 10, Min + Min / 2, 2 * Min}) {
      ChainDPResult Exact = planChecked(C, B);
      ChainDPResult Slots = planChecked(C, B, 50);
      CHECK(Slots.Time >= Exact.Time);
      CHECK(Slots.Time - Exact.Time <= Slots.GapBound + 1e-9);
    }
  }
}

// When every size rounds down to nothing (a unit larger than any size), the
// relaxed chain fits the store-all plan, so its optimum is the store-all time
// and the DP of that pass is skipped: the lower bound is then the sum of
// every forward and backward time and the loss, added up here, and the gap
// bound still covers the distance to the exact optimum. Sizes are at most
// 60 bytes (a saved x̄), so 12 slots of 1000 or 2000 bytes (units of 83 and
// 166) round them all down to 0 and up to 1 unit: the rounded-up chain still
// has plans, some of which recompute.
TEST_CASE("chaindp: a relaxed chain that fits store-all bounds by its time") {
  std::mt19937_64 Rng(8);
  unsigned Recomputing = 0;
  for (int Trial = 0; Trial < 30; ++Trial) {
    Chain C = randomChain(Rng, 2 + Trial % 15, 20);
    double Least = C.Loss.BwdTime;
    for (const Stage &S : C.Stages)
      Least += S.FwdTime + S.BwdTime;
    for (uint64_t B : {1000, 2000}) {
      ChainDPResult Exact = planChecked(C, B);
      ChainDPResult Slots = planChecked(C, B, 12);
      REQUIRE(Slots.MemorySlots == 12);
      CHECK(Slots.GapBound == doctest::Approx(Slots.Time - Least));
      CHECK(Slots.Time - Exact.Time <= Slots.GapBound + 1e-9);
      Recomputing += Slots.Time > Least;
    }
  }
  CHECK(Recomputing > 0);
}

// Single precision (forced here on short chains, with two threads): the
// plan's time is summed exactly from its ops, so it equals the simulator's,
// and the gap bound, which now includes the float tables' rounding
// allowance, still covers the distance to the exact optimum.
TEST_CASE("chaindp: single-precision plans fit and stay within the gap bound") {
  std::mt19937_64 Rng(6);
  for (int Trial = 0; Trial < 40; ++Trial) {
    Chain C = randomChain(Rng, 3 + Trial % 40, 100000);
    for (Stage &S : C.Stages)
      S.FwdTime = S.FwdTime / 3 + 0.1; // not exact in float
    uint64_t Min = minFeasibleChainBudget(C);
    for (uint64_t B : {Min + Min / 10, Min + Min / 2, 2 * Min}) {
      ChainDPResult Exact = planChecked(C, B);
      ChainDPOptions O;
      O.BudgetBytes = B;
      O.MemorySlots = 60;
      O.SinglePrecisionFromStages = 1;
      O.Threads = 2;
      auto R = planOptimalChain(C, O);
      REQUIRE_MESSAGE(bool(R), llvm::toString(R.takeError()));
      auto S = simulateChain(C, R->Ops);
      REQUIRE(bool(S));
      CHECK(S->PeakBytes <= B);
      CHECK(S->Time == R->Time);
      CHECK(R->Time >= Exact.Time - 1e-9);
      CHECK(R->Time - Exact.Time <= R->GapBound + 1e-9);
    }
  }
}

TEST_CASE("chaindp: past the exact work limit the plan is discretised") {
  std::mt19937_64 Rng(17);
  for (int Trial = 0; Trial < 10; ++Trial) {
    Chain C = randomChain(Rng, 6 + Trial, 100000);
    uint64_t Min = minFeasibleChainBudget(C);
    for (uint64_t B : {Min, Min + Min / 3, 3 * Min}) {
      ChainDPResult Exact = planChecked(C, B);
      ChainDPOptions O;
      O.BudgetBytes = B;
      O.ExactWorkLimit = 1; // give way at once
      auto R = planOptimalChain(C, O);
      REQUIRE_MESSAGE(bool(R), llvm::toString(R.takeError()));
      auto S = simulateChain(C, R->Ops);
      REQUIRE(bool(S));
      CHECK(S->PeakBytes <= B);
      CHECK(R->Time >= Exact.Time);
      CHECK(R->Time - Exact.Time <= R->GapBound + 1e-9);
    }
  }
}

namespace {
/// The last frontier point at or below \p B (the curve is a step function).
double frontierAt(const std::vector<ChainFrontierPoint> &F, uint64_t B) {
  auto It = std::upper_bound(F.begin(), F.end(), B,
                             [](uint64_t X, const ChainFrontierPoint &P) {
                               return X < P.BudgetBytes;
                             });
  return It == F.begin() ? std::numeric_limits<double>::infinity()
                         : (It - 1)->Time;
}
} // namespace

// With as many slots as bytes the unit is one byte, so the discretised DP
// (dense tables clipped at the store-all need and at their reach, tiles,
// envelope and early-exit pruning) solves the very problem the exact
// step-function DP solves: the two must agree on every budget, and the gap
// bound is 0 because rounding up and down change nothing.
TEST_CASE("chaindp: at one-byte units the discretised DP equals the exact") {
  std::mt19937_64 Rng(23);
  for (int Trial = 0; Trial < 60; ++Trial) {
    Chain C = randomChain(Rng, 1 + Trial % 12, 40);
    uint64_t Min = minFeasibleChainBudget(C);
    for (uint64_t B : {Min, Min + Min / 4, Min + Min / 2, 2 * Min, 4 * Min}) {
      ChainDPResult Exact = planChecked(C, B);
      ChainDPResult Dense = planChecked(C, B, unsigned(B));
      CHECK(Dense.Time == doctest::Approx(Exact.Time));
      CHECK(Dense.GapBound == 0);
    }
    // Whole curves: the store-all peak is under 2^20 bytes, so 2^20 slots
    // are one byte each. Compare the step functions at every breakpoint of
    // either.
    std::vector<ChainFrontierPoint> E = optimalChainFrontier(C);
    std::vector<ChainFrontierPoint> D = optimalChainFrontier(C, 1u << 20);
    REQUIRE(!E.empty());
    REQUIRE(!D.empty());
    CHECK(D.front().BudgetBytes == E.front().BudgetBytes);
    for (const ChainFrontierPoint &P : E)
      CHECK(frontierAt(D, P.BudgetBytes) == doctest::Approx(P.Time));
    for (const ChainFrontierPoint &P : D)
      CHECK(frontierAt(E, P.BudgetBytes) == doctest::Approx(P.Time));
  }
}

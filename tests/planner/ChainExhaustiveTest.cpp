//===- tests/planner/ChainExhaustiveTest.cpp - Search over all schedules --===//
//
// planner/ChainExhaustive.h against the independent reference of
// ChainAllSchedules.h: the same least time at every budget and the same
// least budget, on every case of L <= 6.
//
//===----------------------------------------------------------------------===//

#include "planner/ChainExhaustive.h"

#include "BruteForce.h"
#include "ChainAllSchedules.h"
#include "SimTestUtil.h"
#include "planner/ChainStrategies.h"
#include "planner/Errors.h"
#include "planner/Simulator.h"
#include "planner/Strategy.h"

#include <doctest/doctest.h>

using namespace remat;
using namespace remat::test;

TEST_CASE("chain exhaustive: equals the all-schedule reference, L <= 6") {
  std::mt19937_64 Rng(1801);
  uint64_t Cases = 0;
  for (unsigned L = 0; L <= 6; ++L)
    for (int Trial = 0; Trial < 15; ++Trial) {
      Chain C = randomChain(Rng, L);
      AllChainSchedules All(C);
      auto Least = leastChainBudgetAllSchedules(C, 1'000'000);
      REQUIRE(Least);
      CHECK(*Least == All.leastBudget());
      auto StoreAll = simulateChain(C, storeAllOps(C));
      REQUIRE(bool(StoreAll));
      for (uint64_t B = All.leastBudget() - 1; B <= StoreAll->PeakBytes; ++B) {
        auto R = searchChainSchedules(C, {B, 1'000'000});
        REQUIRE(R);
        // Rule 1 keeps x_i and x̄_i from being resident together, so each
        // index i >= 1 has 3 states, x_0 has 2, and the gradient L + 2
        // positions (before the loss, y_L..y_0): at most 2 * 3^L * (L+2).
        uint64_t Bound = 2 * (L + 2);
        for (unsigned I = 0; I < L; ++I)
          Bound *= 3;
        CHECK(R->States <= Bound);
        std::optional<double> Ref = All.best(B);
        ++Cases;
        REQUIRE(R->Feasible == bool(Ref));
        if (!Ref)
          continue;
        CHECK(R->Time == *Ref);
        auto S = simulateChain(C, R->Ops);
        REQUIRE_MESSAGE(bool(S), llvm::toString(S.takeError()));
        CHECK(S->PeakBytes <= B);
        CHECK(S->PeakBytes == R->PeakBytes);
        CHECK(S->Time == R->Time);
      }
    }
  CHECK(Cases > 500);
}

TEST_CASE("chain exhaustive: equals the reference under frees_input") {
  std::mt19937_64 Rng(1206);
  for (unsigned L = 1; L <= 5; ++L)
    for (int Trial = 0; Trial < 8; ++Trial) {
      Chain C = randomChain(Rng, L);
      C.Loss.FreesInput = true;
      AllChainSchedules All(C);
      auto StoreAll = simulateChain(C, storeAllOps(C));
      REQUIRE(bool(StoreAll));
      for (uint64_t B = All.leastBudget() - 1; B <= StoreAll->PeakBytes; ++B) {
        auto R = searchChainSchedules(C, {B, 1'000'000});
        REQUIRE(R);
        std::optional<double> Ref = All.best(B);
        REQUIRE(R->Feasible == bool(Ref));
        if (!Ref)
          continue;
        CAPTURE(L);
        CAPTURE(B);
        CHECK(R->Time == *Ref);
        auto S = simulateChain(C, R->Ops);
        REQUIRE_MESSAGE(bool(S), llvm::toString(S.takeError()));
        CHECK(S->PeakBytes <= B);
        CHECK(S->PeakBytes == R->PeakBytes);
      }
    }
}

TEST_CASE("chain exhaustive: gives up cleanly at the state cap") {
  std::mt19937_64 Rng(1802);
  Chain C = randomChain(Rng, 6);
  auto StoreAll = simulateChain(C, storeAllOps(C));
  REQUIRE(bool(StoreAll));
  AllChainSchedules All(C);
  // Three states cannot hold a schedule of at least 2L + 1 = 13 ops.
  CHECK(!searchChainSchedules(C, {All.leastBudget(), 3}));
  CHECK(!leastChainBudgetAllSchedules(C, 3));
  // More stages than the state encoding holds.
  CHECK(!searchChainSchedules(randomChain(Rng, 29), {1u << 30, 1000}));
}

TEST_CASE("chain exhaustive: `optimal` is the all-schedule optimum, L <= 6") {
  // planStrategy runs the DP and, on short chains, the search: its plan
  // must be the reference's optimum at every budget and claim "all
  // schedules"; below the least budget it must name the reference's least
  // budget, with or without memory slots for the DP.
  std::mt19937_64 Rng(1803);
  for (unsigned L = 1; L <= 6; ++L)
    for (int Trial = 0; Trial < 4; ++Trial) {
      Chain C = randomChain(Rng, L);
      Model M = chainModel(C);
      AllChainSchedules All(C);
      auto StoreAll = simulateChain(C, storeAllOps(C));
      REQUIRE(bool(StoreAll));
      for (unsigned Slots : {0u, 7u})
        for (uint64_t B = All.leastBudget() - 1; B <= StoreAll->PeakBytes;
             ++B) {
          StrategyOptions O;
          O.BudgetBytes = B;
          O.MemorySlots = Slots;
          auto S = planStrategy(M, O);
          if (B < All.leastBudget()) {
            uint64_t Named = 0;
            llvm::handleAllErrors(
                S.takeError(),
                [&](const InfeasibleBudgetError &E) {
                  Named = E.MinFeasibleBytes;
                  CHECK(E.Strategy == "optimal");
                },
                [&](const llvm::ErrorInfoBase &E) { FAIL(E.message()); });
            CHECK(Named == All.leastBudget());
            continue;
          }
          REQUIRE_MESSAGE(bool(S), llvm::toString(S.takeError()));
          CHECK(S->Predicted.Time == *All.best(B));
          CHECK(S->Predicted.PeakBytes <= B);
          REQUIRE(S->Optimality);
          CHECK(S->Optimality->ClassKey == "all_schedules");
          CHECK(S->Optimality->ProvenOptimal);
          CHECK(S->Optimality->LowerBound == S->Predicted.Time);
        }
    }
}

TEST_CASE("chain exhaustive: longer chains keep the persistent class") {
  std::mt19937_64 Rng(1804);
  Chain C = randomChain(Rng, ChainExhaustiveMaxStages + 1);
  auto StoreAll = simulateChain(C, storeAllOps(C));
  REQUIRE(bool(StoreAll));
  StrategyOptions O;
  O.BudgetBytes = StoreAll->PeakBytes;
  auto S = planStrategy(chainModel(C), O);
  REQUIRE_MESSAGE(bool(S), llvm::toString(S.takeError()));
  REQUIRE(S->Optimality);
  CHECK(S->Optimality->ClassKey == "persistent");
  CHECK(S->Optimality->Class == "among persistent schedules (rotor's class)");
  O.BudgetBytes = C.InputBytes - 1;
  auto T = planStrategy(chainModel(C), O);
  std::string Named;
  llvm::handleAllErrors(
      T.takeError(), [&](const InfeasibleBudgetError &E) { Named = E.Class; },
      [&](const llvm::ErrorInfoBase &E) { FAIL(E.message()); });
  CHECK(Named == "persistent schedules (rotor's class)");
}

TEST_CASE("chain exhaustive: beats the persistent optimum by hand") {
  // x_0 = 7; stage 0: out 1, saved 11, fwd 6, bwd 10, fwd ws 5; stage 1:
  // out 6, saved 6, fwd 7, bwd 7, fwd ws 6; stage 2: out 7, saved 8, fwd
  // 10, bwd 1, fwd ws 2; loss: time 3, ws 10.
  Chain C;
  C.InputBytes = 7;
  const uint64_t Out[] = {1, 6, 7}, Saved[] = {11, 6, 8}, Ws[] = {5, 6, 2};
  const double Fwd[] = {6, 7, 10}, Bwd[] = {10, 7, 1};
  for (unsigned I = 0; I < 3; ++I) {
    Stage S;
    S.Name = "s" + std::to_string(I);
    S.OutputBytes = Out[I];
    S.SavedBytes = Saved[I];
    S.FwdWorkspace = Ws[I];
    S.FwdTime = Fwd[I];
    S.BwdTime = Bwd[I];
    C.Stages.push_back(S);
  }
  C.Loss.BwdTime = 3;
  C.Loss.BwdWorkspace = 10;
  // Keep x_1 as well as x_0, consume it with F_n 1 on its last use:
  //   F_ck 0 (7+1, +ws 5 = 13), F_ck 1 (8+6 +6 = 20), F_n 2 (14+7 +2 = 23,
  //   frees x_2: 15), loss (15+7 +10 = 32, frees x_3: 15), F_n 1 (15+6 +6
  //   = 27, frees x_1: 20), F_all 2 (20+8 +2 = 30), B 2 (28+6 = 34, frees
  //   y_3, x̄_3, x_2: 13), F_ck 0 (14 +5 = 19), F_all 1 (14+6 +6 = 26),
  //   B 1 (20+1 = 21: 8), F_all 0 (8+11 +5 = 24), B 0 (19+7 = 26).
  // Peak 34; time: forwards 6+7+10+7+10+6+7+6 = 59, loss 3, backwards
  // 1+7+10 = 18, total 80.
  std::vector<ChainOp> Floating = {fck(0),  fck(1),  fn(2),   lossOp(),
                                   fn(1),   fall(2), bwd(2),  fck(0),
                                   fall(1), bwd(1),  fall(0), bwd(0)};
  auto F = simulateChain(C, Floating);
  REQUIRE_MESSAGE(bool(F), llvm::toString(F.takeError()));
  CHECK(F->PeakBytes == 34);
  CHECK(F->Time == 80);
  // The persistent class (its own brute force) needs 86 at 34 bytes; the
  // search over every schedule and `optimal` find 80.
  CHECK(bruteForceBest(simulateAllPersistent(C), 34) == 86);
  auto R = searchChainSchedules(C, {34});
  REQUIRE(R);
  CHECK(R->Time == 80);
  StrategyOptions O;
  O.BudgetBytes = 34;
  auto S = planStrategy(chainModel(C), O);
  REQUIRE_MESSAGE(bool(S), llvm::toString(S.takeError()));
  CHECK(S->Predicted.Time == 80);
  CHECK(S->Optimality->ClassKey == "all_schedules");
}

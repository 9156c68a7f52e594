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
#include "planner/ChainStrategies.h"
#include "planner/Simulator.h"

#include <doctest/doctest.h>

using namespace remat;
using namespace remat::test;

TEST_CASE("chain exhaustive: equals the all-schedule reference, L <= 6") {
  std::mt19937_64 Rng(1801);
  uint64_t Cases = 0;
  for (unsigned L = 0; L <= 6; ++L)
    for (int Trial = 0; Trial < 30; ++Trial) {
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
  CHECK(Cases > 1000);
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

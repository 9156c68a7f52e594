//===- tests/planner/GraphExhaustiveTest.cpp - planGraphExhaustive --------===//
//
// The planner's A* against the tests' independent brute force
// (GraphBruteForce.h) and the simulator.

#include "planner/GraphExhaustive.h"

#include "GraphBruteForce.h"

#include "models/RandomGraphs.h"
#include "planner/GraphPlanner.h"
#include "planner/Simulator.h"

#include <doctest/doctest.h>

using namespace remat;
using namespace remat::test;

namespace {

GraphExhaustiveResult exhaustive(const Graph &G, uint64_t Budget,
                                 bool MinimizePeak = false) {
  GraphExhaustiveOptions O;
  O.BudgetBytes = Budget;
  O.MinimizePeak = MinimizePeak;
  O.TimeLimitSeconds = 60; // the state cap decides, not the clock
  auto R = planGraphExhaustive(G, O);
  REQUIRE_MESSAGE(static_cast<bool>(R), llvm::toString(R.takeError()));
  return *R;
}

/// The plan is valid under the simulator and its figures are the search's.
void checkPlan(const Graph &G, const GraphExhaustiveResult &R) {
  auto S = simulateGraph(G, R.Ops);
  REQUIRE_MESSAGE(static_cast<bool>(S), llvm::toString(S.takeError()));
  CHECK(S->PeakBytes == R.PeakBytes);
  CHECK(S->Time == doctest::Approx(R.Time));
}

uint64_t storeAllPeak(const Graph &G) {
  auto S = simulateGraph(G, storeAllGraphOps(G));
  REQUIRE(static_cast<bool>(S));
  return S->PeakBytes;
}

} // namespace

TEST_CASE("graph exhaustive: equals the brute force on seeded graphs") {
  for (uint64_t Seed = 1; Seed <= 30; ++Seed) {
    Graph G = Seed % 3 ? randomLayeredGraph(Seed, 2 + Seed % 4, 1 + Seed % 3)
                       : unetLikeGraph(Seed, 1 + Seed % 2, 1);
    CAPTURE(Seed);
    BruteForcePlan Least = bruteForceLeastPeak(G);
    GraphExhaustiveResult LP = exhaustive(G, 0, /*MinimizePeak=*/true);
    REQUIRE(LP.Outcome == ExhaustiveOutcome::Optimal);
    CHECK(LP.PeakBytes == Least.PeakBytes);
    checkPlan(G, LP);
    CHECK(exhaustive(G, Least.PeakBytes - 1).Outcome ==
          ExhaustiveOutcome::Infeasible);
    uint64_t Full = storeAllPeak(G);
    for (unsigned Pct : {0u, 20u, 45u, 70u, 100u}) {
      uint64_t B = Least.PeakBytes + (Full - Least.PeakBytes) * Pct / 100;
      auto Truth = bruteForceLeastTime(G, B);
      REQUIRE(Truth);
      GraphExhaustiveResult R = exhaustive(G, B);
      REQUIRE(R.Outcome == ExhaustiveOutcome::Optimal);
      CHECK(R.Time == doctest::Approx(Truth->Time));
      CHECK(R.PeakBytes <= B);
      checkPlan(G, R);
    }
  }
}

TEST_CASE("graph exhaustive: gives up cleanly at the state cap") {
  Graph G = randomLayeredGraph(4, 5, 2);
  GraphExhaustiveOptions O;
  O.BudgetBytes = storeAllPeak(G) * 8 / 10;
  O.MaxStates = 3;
  auto R = planGraphExhaustive(G, O);
  REQUIRE(static_cast<bool>(R));
  CHECK(R->Outcome == ExhaustiveOutcome::GaveUp);
  CHECK(R->Ops.empty());
  CHECK(R->StatesStored <= 3 + G.size()); // one expansion past the cap
}

TEST_CASE("graph exhaustive: graphs above 32 nodes are refused") {
  Graph G = randomLayeredGraph(1, 16, 3); // 16 + 1 + 16 = 33 nodes
  REQUIRE(G.size() == 33);
  auto R = planGraphExhaustive(G, {});
  REQUIRE_FALSE(static_cast<bool>(R));
  CHECK(llvm::toString(R.takeError())
            .find("up to 32 nodes; this graph has "
                  "33") != std::string::npos);
}

TEST_CASE("graph exhaustive: of the fastest plans, one of least peak") {
  // With P the search's peak at budget B: the brute force finds the same
  // least time within P, and none as fast within P - 1.
  for (uint64_t Seed = 1; Seed <= 12; ++Seed) {
    Graph G = randomLayeredGraph(Seed, 2 + Seed % 4, 1 + Seed % 3);
    CAPTURE(Seed);
    uint64_t Least = bruteForceLeastPeak(G).PeakBytes;
    for (uint64_t B : {storeAllPeak(G), (Least + storeAllPeak(G)) / 2}) {
      GraphExhaustiveResult R = exhaustive(G, B);
      REQUIRE(R.Outcome == ExhaustiveOutcome::Optimal);
      auto Within = bruteForceLeastTime(G, R.PeakBytes);
      REQUIRE(Within);
      CHECK(Within->Time == doctest::Approx(R.Time));
      auto Below = bruteForceLeastTime(G, R.PeakBytes - 1);
      if (Below)
        CHECK(Below->Time > R.Time + 1e-9);
    }
  }
}

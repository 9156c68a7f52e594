//===- tests/planner/GraphBruteForceTest.cpp - Checks of the reference ----===//
//
// The brute force of GraphBruteForce.h against hand arithmetic and the real
// simulator, before any planner is measured against it.

#include "GraphBruteForce.h"

#include "models/RandomGraphs.h"
#include "planner/GraphPlanner.h"
#include "planner/Simulator.h"

#include <doctest/doctest.h>

using namespace remat;
using namespace remat::test;

namespace {

/// A (t 1, 10 B) -> B (t 1, 10 B) -> C (t 1, 10 B); D (t 1, 1 B) reads A
/// and C. Store-all: A 10, B 20, C 30 (B freed: 20), D 10 + 10 + 1 = 21;
/// peak 30, time 4. D alone needs A + C + D = 21 resident, so no schedule
/// peaks below 21; A, B, free A, C, free B, A again, D peaks at
/// max(10, 20, 20, 20, 21) = 21 with time 5. Under 30 bytes C cannot run
/// with A and B both resident (30), so A is freed and computed again: time 5.
Graph recomputeA() {
  Graph G;
  unsigned A = G.add("A", Phase::Forward, 1, 10, {});
  unsigned B = G.add("B", Phase::Forward, 1, 10, {A});
  unsigned C = G.add("C", Phase::Forward, 1, 10, {B});
  G.add("D", Phase::Loss, 1, 1, {A, C});
  G.finalize();
  return G;
}

/// Replays \p P through the simulator: valid, complete, same figures.
void checkWitness(const Graph &G, const BruteForcePlan &P) {
  auto S = simulateGraph(G, P.Ops);
  REQUIRE_MESSAGE(static_cast<bool>(S), llvm::toString(S.takeError()));
  CHECK(S->PeakBytes == P.PeakBytes);
  CHECK(S->Time == doctest::Approx(P.Time));
}

uint64_t storeAllPeak(const Graph &G) {
  auto S = simulateGraph(G, storeAllGraphOps(G));
  REQUIRE(static_cast<bool>(S));
  return S->PeakBytes;
}

double sumOfTimes(const Graph &G) {
  double T = 0;
  for (const Node &N : G.Nodes)
    T += N.Time;
  return T;
}

} // namespace

TEST_CASE("graph brute force: the hand-computed recomputation of A") {
  Graph G = recomputeA();
  BruteForcePlan Least = bruteForceLeastPeak(G);
  CHECK(Least.PeakBytes == 21);
  checkWitness(G, Least);
  CHECK_FALSE(bruteForceLeastTime(G, 20));
  auto At21 = bruteForceLeastTime(G, 21);
  REQUIRE(At21);
  CHECK(At21->Time == 5);
  checkWitness(G, *At21);
  auto At29 = bruteForceLeastTime(G, 29);
  REQUIRE(At29);
  CHECK(At29->Time == 5);
  auto At30 = bruteForceLeastTime(G, 30);
  REQUIRE(At30);
  CHECK(At30->Time == 4);
  CHECK(At30->PeakBytes <= 30);
}

TEST_CASE("graph brute force: seeded graphs agree with the simulator") {
  // Each node once is a lower bound on any complete schedule's time and the
  // store-all plan reaches it, so at the store-all peak the least time is
  // the sum of node times; just below the least peak nothing fits.
  for (uint64_t Seed = 1; Seed <= 12; ++Seed) {
    Graph G = randomLayeredGraph(Seed, 3 + Seed % 3, 2 + Seed % 2);
    CAPTURE(Seed);
    BruteForcePlan Least = bruteForceLeastPeak(G);
    checkWitness(G, Least);
    CHECK(Least.PeakBytes <= storeAllPeak(G));
    CHECK_FALSE(bruteForceLeastTime(G, Least.PeakBytes - 1));
    auto Full = bruteForceLeastTime(G, storeAllPeak(G));
    REQUIRE(Full);
    CHECK(Full->Time == doctest::Approx(sumOfTimes(G)));
    double Prev = 1e300;
    for (unsigned Pct : {0u, 25u, 50u, 75u, 100u}) {
      uint64_t B =
          Least.PeakBytes + (storeAllPeak(G) - Least.PeakBytes) * Pct / 100;
      auto P = bruteForceLeastTime(G, B);
      REQUIRE(P);
      checkWitness(G, *P);
      CHECK(P->PeakBytes <= B);
      CHECK(P->Time <= Prev); // more memory never costs time
      Prev = P->Time;
    }
  }
}

TEST_CASE("graph brute force: the issue's counterexample to id order") {
  // Issue 12, found by an independent exhaustive search:
  // randomLayeredGraph(9, 4, 2) at 90% of the store-everything peak has a
  // valid plan of time 104 (peak 53,248 <= 53,683 bytes).
  Graph G = randomLayeredGraph(9, 4, 2);
  uint64_t Budget = storeAllPeak(G) * 9 / 10;
  CHECK(Budget == 53683);
  auto P = bruteForceLeastTime(G, Budget);
  REQUIRE(P);
  checkWitness(G, *P);
  CHECK(P->Time == 104);
}

//===- tests/planner/GraphOptimalityTest.cpp - remat vs every schedule ----===//
//
// The property test of issue 12: seeded training graphs of up to 11 nodes,
// budgets from the least feasible to the store-everything peak, remat's
// `optimal` plan measured against GraphBruteForce.h's exhaustive search.

#include "GraphBruteForce.h"

#include "models/RandomGraphs.h"
#include "planner/Errors.h"
#include "planner/GraphPlanner.h"
#include "planner/Simulator.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <random>

using namespace remat;
using namespace remat::test;

namespace {

/// A random forward DAG of \p F nodes (each reads 1..2 earlier nodes, any
/// of them), then addBackward: 2F + 1 nodes.
Graph randomForwardDag(uint64_t Seed, unsigned F) {
  std::mt19937_64 Rng(Seed);
  auto U = [&](uint64_t Lo, uint64_t Hi) { return Lo + Rng() % (Hi - Lo + 1); };
  Graph G;
  for (unsigned V = 0; V < F; ++V) {
    llvm::SmallVector<unsigned, 2> In;
    if (V > 0) {
      In.push_back(unsigned(U(0, V - 1)));
      unsigned Other = unsigned(U(0, V - 1));
      if (U(0, 1) && Other != In[0])
        In.push_back(Other);
    }
    G.add("f" + std::to_string(V), Phase::Forward, double(U(1, 9)),
          256 * U(1, 12), In, 128 * U(0, 3) * U(0, 1));
  }
  G.finalize();
  return addBackward(G);
}

/// The graphs of the sweep: 220 seeded graphs of 5 to 11 nodes.
std::vector<Graph> sweepGraphs() {
  std::vector<Graph> Out;
  for (uint64_t Seed = 1; Seed <= 120; ++Seed)
    Out.push_back(randomLayeredGraph(Seed, 2 + Seed % 4, 1 + Seed % 3));
  for (uint64_t Seed = 1; Seed <= 60; ++Seed)
    Out.push_back(randomForwardDag(Seed, 2 + Seed % 4));
  for (uint64_t Seed = 1; Seed <= 40; ++Seed)
    Out.push_back(unetLikeGraph(Seed, 1 + Seed % 2, 1));
  return Out;
}

uint64_t storeAllPeak(const Graph &G) {
  auto S = simulateGraph(G, storeAllGraphOps(G));
  REQUIRE(static_cast<bool>(S));
  return S->PeakBytes;
}

struct SweepStats {
  unsigned Graphs = 0, Cases = 0, AtOptimum = 0, ProvenAll = 0,
           InfeasibleChecked = 0, LeastProven = 0, Refused = 0;
  double WorstRatio = 1; // remat's time / the true optimum
};

/// Plans every budget of the sweep with \p UseExhaustive and checks what
/// must hold whatever the planner proves: a valid plan within the budget,
/// never faster than the true optimum; "proven over all schedules" only at
/// the true optimum; an exit-3 least budget never below the true least, and
/// equal to it where it is stated over all schedules.
SweepStats sweep(bool UseExhaustive) {
  SweepStats St;
  for (const Graph &G : sweepGraphs()) {
    REQUIRE(G.size() <= 11);
    ++St.Graphs;
    uint64_t Least = bruteForceLeastPeak(G).PeakBytes;
    uint64_t Full = storeAllPeak(G);
    for (unsigned Pct : {0u, 30u, 60u, 90u, 100u}) {
      uint64_t B = Least + (Full - Least) * Pct / 100;
      auto Truth = bruteForceLeastTime(G, B);
      REQUIRE(Truth);
      GraphPlanOptions O{B, GraphMode::Auto, 10, UseExhaustive};
      auto R = planGraphOptimal(G, O);
      ++St.Cases;
      if (!R) {
        ++St.Refused; // a feasible budget refused: never at the optimum
        llvm::handleAllErrors(R.takeError(),
                              [&](const InfeasibleBudgetError &E) {
                                CHECK(E.MinFeasibleBytes > B);
                                CHECK_FALSE(E.Class.empty());
                              });
        continue;
      }
      auto S = simulateGraph(G, R->Ops);
      REQUIRE(static_cast<bool>(S));
      CHECK(S->PeakBytes <= B);
      CHECK(S->Time >= Truth->Time - 1e-9);
      bool AtOpt = S->Time <= Truth->Time + 1e-9;
      St.AtOptimum += AtOpt;
      St.WorstRatio = std::max(St.WorstRatio, S->Time / Truth->Time);
      if (R->ProvenOptimal && R->Class == GraphPlanClass::AllSchedules) {
        ++St.ProvenAll;
        CHECK(AtOpt);
        CHECK(R->LowerBound == doctest::Approx(Truth->Time));
      }
      // Any bound remat states is a bound of its class; the true optimum
      // is in the class "all schedules" only.
      if (R->Class == GraphPlanClass::AllSchedules)
        CHECK(R->LowerBound <= Truth->Time + 1e-9);
    }
    if (Least == 0)
      continue;
    auto R =
        planGraphOptimal(G, {Least - 1, GraphMode::Auto, 10, UseExhaustive});
    REQUIRE_FALSE(static_cast<bool>(R));
    llvm::handleAllErrors(R.takeError(), [&](const InfeasibleBudgetError &E) {
      ++St.InfeasibleChecked;
      CHECK(E.MinFeasibleBytes >= Least);
      if (E.Class.empty()) {
        ++St.LeastProven;
        CHECK(E.MinFeasibleBytes == Least);
      }
    });
  }
  return St;
}

void print(const char *What, const SweepStats &St) {
  std::printf("%s: graphs %u, budgets %u, at the true optimum %u, proven "
              "over all schedules %u, feasible budgets refused %u, worst "
              "time / optimum %.4f; exit-3 checked %u, least budget proven "
              "%u\n",
              What, St.Graphs, St.Cases, St.AtOptimum, St.ProvenAll, St.Refused,
              St.WorstRatio, St.InfeasibleChecked, St.LeastProven);
}

} // namespace

TEST_CASE("graph optimality: remat against every schedule, 220 graphs") {
  // Graphs of <= 11 nodes are within the exhaustive search's reach, so the
  // goal of issue 12 holds: every case at the true optimum, proven, and
  // every exit-3 budget the true least.
  SweepStats St = sweep(/*UseExhaustive=*/true);
  print("remat optimal", St);
  CHECK(St.Cases == 1100);
  CHECK(St.AtOptimum == St.Cases);
  CHECK(St.ProvenAll == St.Cases);
  CHECK(St.InfeasibleChecked == St.Graphs);
  CHECK(St.LeastProven == St.Graphs);
}

namespace {

/// The MILP's claims are for the file's order of first computations; the
/// brute force restricted to that order checks them: a proven optimum of
/// the class, on a plan of the class, is the class's least time, and the
/// bound never exceeds it.
void checkFileOrderClaims(unsigned Graphs) {
  unsigned Proven = 0;
  for (uint64_t Seed = 1; Seed <= Graphs; ++Seed) {
    Graph G = randomLayeredGraph(Seed, 2 + Seed % 4, 1 + Seed % 3);
    CAPTURE(Seed);
    uint64_t Least = bruteForceLeastPeak(G).PeakBytes;
    uint64_t Full = storeAllPeak(G);
    for (unsigned Pct : {40u, 80u}) {
      uint64_t B = Least + (Full - Least) * Pct / 100;
      auto Truth = bruteForceLeastTime(G, B, /*FileOrder=*/true);
      GraphPlanOptions O{B, GraphMode::Exact, 10, /*UseExhaustive=*/false};
      auto R = planGraphOptimal(G, O);
      if (!Truth || !R) {
        if (!R)
          llvm::consumeError(R.takeError());
        continue;
      }
      REQUIRE(R->Class == GraphPlanClass::FileOrder);
      CHECK(R->LowerBound <= Truth->Time + 1e-9);
      if (R->ProvenOptimal && R->PlanInClass) {
        ++Proven;
        CHECK(R->Time == doctest::Approx(Truth->Time));
      }
    }
  }
  CHECK(Proven > 0);
}

} // namespace

TEST_CASE("graph optimality: the MILP's claims hold for the file's order") {
  checkFileOrderClaims(12);
}

// The MILP and the scalable planner behind the exhaustive search, measured
// the same way. Slow (the MILP runs on every budget, about 3 minutes), so
// skipped by default: build/tests/planner_tests --no-skip -tc='*behind*'.
TEST_CASE("graph optimality: the planners behind the search, 220 graphs" *
          doctest::skip()) {
  SweepStats St = sweep(/*UseExhaustive=*/false);
  print("MILP and scalable planner over orders", St);
  CHECK(St.ProvenAll == 0);
  checkFileOrderClaims(120);
}

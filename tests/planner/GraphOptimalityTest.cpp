//===- tests/planner/GraphOptimalityTest.cpp - remat against every schedule
//===//
//
// The property test of issue 12: seeded training graphs of up to 11 nodes,
// budgets from the least feasible to the store-everything peak, remat's
// `optimal` plan measured against GraphBruteForce.h's exhaustive search.

#include "GraphBruteForce.h"

#include "graph/RandomGraphs.h"
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
  unsigned Graphs = 0, Cases = 0, AtOptimum = 0, ClaimedProven = 0,
           WrongProven = 0, InfeasibleChecked = 0, WrongLeastBudget = 0,
           Refused = 0;
  double WorstRatio = 1; // remat's time / the true optimum
};

} // namespace

TEST_CASE("graph optimality: remat against every schedule, 220 graphs") {
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
      auto R = planGraphOptimal(G, {B, "auto", 10});
      ++St.Cases;
      if (!R) {
        ++St.Refused;
        llvm::consumeError(R.takeError());
        continue;
      }
      auto S = simulateGraph(G, R->Ops);
      REQUIRE(static_cast<bool>(S));
      CHECK(S->PeakBytes <= B);
      CHECK(S->Time >= Truth->Time - 1e-9);
      bool AtOpt = S->Time <= Truth->Time + 1e-9;
      St.AtOptimum += AtOpt;
      St.WorstRatio = std::max(St.WorstRatio, S->Time / Truth->Time);
      bool Claimed = R->ProvenOptimal || R->LowerBound >= R->Time;
      St.ClaimedProven += Claimed;
      St.WrongProven += Claimed && !AtOpt;
    }
    if (Least == 0)
      continue;
    auto R = planGraphOptimal(G, {Least - 1, "auto", 10});
    REQUIRE_FALSE(static_cast<bool>(R));
    llvm::handleAllErrors(R.takeError(), [&](const InfeasibleBudgetError &E) {
      ++St.InfeasibleChecked;
      St.WrongLeastBudget += E.MinFeasibleBytes != Least;
    });
  }
  std::printf("graphs %u, cases %u, at optimum %u, claimed proven %u, wrong "
              "proven %u, worst time ratio %.4f; exit-3 checked %u, wrong "
              "least budget %u, refused feasible %u\n",
              St.Graphs, St.Cases, St.AtOptimum, St.ClaimedProven,
              St.WrongProven, St.WorstRatio, St.InfeasibleChecked,
              St.WrongLeastBudget, St.Refused);
}

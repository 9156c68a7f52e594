//===- tests/planner/GraphMILPCoverProofTest.cpp - Proof by coverings -----===//
//
// proveNoPlanAtMost fixes recomputation columns to 0 from the covering
// solutions; a wrong fixing would "prove" that the optimum does not exist.
// On graphs whose optimum is worked out by hand, the proof must fail at the
// optimum (and any plan it finds must cost at most that) and succeed one
// time unit below it.
//
//===----------------------------------------------------------------------===//

#include "planner/GraphMILP.h"
#include "planner/GraphScalable.h"
#include "planner/Simulator.h"
#include "planner/graph/milp/GraphMILPBuilder.h"

#include "GraphFixtures.h"

#include <doctest/doctest.h>

#include <chrono>

using namespace remat;

#ifdef REMAT_HAVE_CBC
namespace {

Graph diamond() { return test::diamondGraph(); }
Graph keptOperand() { return test::keptOperandGraph(); }

milp::CoverProof prove(const milp::MilpBuilder &B, double Limit) {
  return milp::proveNoPlanAtMost(
      B, Limit, std::chrono::steady_clock::now() + std::chrono::seconds(60));
}

/// The proof fails at \p Optimum and holds one unit below it.
void checkOptimum(const Graph &G, uint64_t Budget, double Optimum) {
  GraphMilpOptions O;
  O.BudgetBytes = Budget;
  milp::MilpBuilder B(G, O);
  B.build();
  milp::CoverProof At = prove(B, Optimum);
  CHECK_FALSE(At.Proven);
  if (!At.X.empty()) {
    milp::StageSets St = B.readSolution(At.X.data());
    auto Sim = simulateGraph(G, stageSolutionToOps(G, St.R, St.S));
    REQUIRE(static_cast<bool>(Sim));
    CHECK(Sim->PeakBytes <= Budget);
    CHECK(Sim->Time <= Optimum);
  }
  milp::CoverProof Below = prove(B, Optimum - 1);
  CHECK(Below.Proven);
  CHECK(Below.X.empty());
}

} // namespace

TEST_CASE("graphmilp cover proof: chain3 at 22 and 21") {
  // Worked out in GraphMILPTest: at 22 only A is recomputed, for gA
  // (11 + 1 = 12); at 21 B is recomputed from a recomputed A and A once
  // more for gA (11 + 4 + 1 + 1 = 17).
  checkOptimum(test::chain3Graph(), 22, 12);
  checkOptimum(test::chain3Graph(), 21, 17);
}

TEST_CASE("graphmilp cover proof: the diamond at 25 and 24") {
  // Worked out in GraphMILPTest: at 25 and at 24, Q is recomputed from a
  // recomputed X for gQ: 14 + 2 + 1 = 17. X's recomputation (stage gQ)
  // lies after X's last reader, outside every covering segment; with the
  // covering of cost 2 (Q's segment), the slack 17 - 14 - 2 = 1 must leave
  // it free (a fixing rule that ignored the slack would "prove" 17
  // impossible).
  checkOptimum(diamond(), 25, 17);
  checkOptimum(diamond(), 24, 17);
}

TEST_CASE("graphmilp cover proof: an operand kept for a recomputation") {
  // At 22, U is recomputed for Z from P kept past its only reader's first
  // compute: 15 + 1 = 16 (dropping P too would cost 26).
  checkOptimum(keptOperand(), 22, 16);
}

TEST_CASE("graphmilp cover proof: exact mode proves a warm start optimal") {
  // The scalable plan of the diamond at 24 handed over as the warm start;
  // whatever it costs, exact mode ends at the optimum 17, proven.
  Graph G = diamond();
  ScalableResult Sc = planGraphScalable(G, {24});
  REQUIRE(Sc.Found);
  GraphMilpOptions O;
  O.BudgetBytes = 24;
  O.TimeLimitSeconds = 30;
  O.WarmStart = Sc.Best.Ops;
  auto R = solveGraphMilp(G, O);
  REQUIRE(static_cast<bool>(R));
  CHECK(R->ProvenOptimal);
  CHECK(R->Incumbent == doctest::Approx(17));
}
#endif

//===- tests/planner/GraphMILPTest.cpp - Exact graph MILP -----------------===//

#include "planner/GraphMILP.h"
#include "models/RandomGraphs.h"
#include "planner/Errors.h"
#include "planner/GraphMILPBound.h"
#include "planner/GraphPlanner.h"
#include "planner/GraphScalable.h"
#include "planner/Simulator.h"
#include "planner/graph/milp/GraphMILPBuilder.h"

#include "GraphFixtures.h"

#include <doctest/doctest.h>

#include <cmath>

using namespace remat;

namespace {

constexpr auto add = test::addNode;

/// A -> B -> C -> L, backward gC(L, C), gB(gC, B), gA(gB, A).
/// Store-all: peak 32 at gC (A, B, C, L = 31, plus gC's byte); time 11.
Graph chain3() { return test::chain3Graph(); }

/// X feeds P (slow, time 6) and Q (fast, time 2); Y reads both.
/// Store-all: peak 26 at gY (P, Q, Y, L = 25, plus gY); time 14.
Graph diamond() { return test::diamondGraph(); }

GraphMilpResult solve(const Graph &G, uint64_t Budget) {
  GraphMilpOptions O;
  O.BudgetBytes = Budget;
  O.TimeLimitSeconds = 30;
  auto R = solveGraphMilp(G, O);
  REQUIRE(static_cast<bool>(R));
  return *R;
}

/// Simulates the MILP's ops with the project simulator.
/// The incumbent is the time unless the MILP minimised the peak.
SimResult check(const Graph &G, const GraphMilpResult &R, uint64_t Budget,
                bool TimeObjective = true) {
  REQUIRE(R.HasSolution);
  auto S = simulateGraph(G, R.Ops);
  REQUIRE(static_cast<bool>(S));
  CHECK(S->PeakBytes <= Budget);
  if (TimeObjective)
    CHECK(S->Time == doctest::Approx(R.Incumbent));
  return *S;
}

} // namespace

#ifdef REMAT_HAVE_CBC
TEST_CASE("graphmilp: a generous budget needs no recomputation") {
  Graph G = chain3();
  GraphMilpResult R = solve(G, 32);
  SimResult S = check(G, R, 32);
  // Every node once: 1 + 4 + 2 + 1 + 1 + 1 + 1 = 11.
  CHECK(S.Time == 11);
  CHECK(S.ForwardRecomputations == 0);
  CHECK(R.ProvenOptimal);
}

TEST_CASE("graphmilp: the cheapest tensor is recomputed (chain)") {
  Graph G = chain3();
  // At gC, L (1) + C (10) + gC (1) must be there; with A and B too it is 32,
  // so one of them has to go. Recomputing A costs 1 (no inputs), B costs 4
  // (and needs A), so the optimum drops A after B and recomputes it for gA:
  // peaks B:20, C:20, L:21, gC:22, A again: 11 + ... <= 22; time 11 + 1 = 12.
  GraphMilpResult R = solve(G, 22);
  SimResult S = check(G, R, 22);
  CHECK(S.Time == 12);
  CHECK(S.ForwardRecomputations == 1);
  CHECK(R.ProvenOptimal);
}

TEST_CASE("graphmilp: a tight budget forces two recomputations of A") {
  Graph G = chain3();
  // Budget 21: B cannot survive to gB (B + C + L + gC = 22 at gC), so B is
  // recomputed (4) from a recomputed A (1); at gB, gC + B + gB = 12 leaves
  // no room for A (22), so A is freed and recomputed once more for gA (1):
  // 11 + 4 + 1 + 1 = 17.
  GraphMilpResult R = solve(G, 21);
  SimResult S = check(G, R, 21);
  CHECK(S.Time == 17);
  CHECK(R.ProvenOptimal);
}

TEST_CASE("graphmilp: below the least peak the MILP is infeasible") {
  Graph G = chain3();
  // Recomputing B needs A and gC resident: 10 + 10 + 1 = 21 bytes at least.
  GraphMilpResult R = solve(G, 20);
  CHECK_FALSE(R.HasSolution);
  CHECK(R.ProvenInfeasible);
  GraphMilpOptions O;
  O.MinimizePeak = true;
  O.TimeLimitSeconds = 30;
  auto M = solveGraphMilp(G, O);
  REQUIRE(static_cast<bool>(M));
  REQUIRE(M->HasSolution);
  CHECK(M->Incumbent == doctest::Approx(21));
  CHECK(check(G, *M, 21, false).PeakBytes == 21);
}

TEST_CASE("graphmilp: the diamond recomputes its cheap branch") {
  Graph G = diamond();
  // At gY, Y + L + gY (10) plus P and Q (16) is 26 > 25: P or Q must be
  // recomputed, and X with it (keeping X through gY would cost 8 more).
  // Q + X costs 2 + 1 = 3, P + X costs 6 + 1 = 7: time 14 + 3 = 17.
  GraphMilpResult R = solve(G, 25);
  SimResult S = check(G, R, 25);
  CHECK(S.Time == 17);
  CHECK(R.ProvenOptimal);
  CHECK(R.BestBound == doctest::Approx(17).epsilon(1e-6));
}

TEST_CASE("graphmilp: the diamond's least budget keeps the slow branch") {
  Graph G = diamond();
  // Y reads P and Q: P + Q + Y = 24 bytes at Y's compute, whatever else is
  // dropped, so 23 is infeasible and the error names 24.
  GraphPlanOptions O;
  O.Mode = GraphMode::Exact;
  O.TimeLimitSeconds = 30;
  O.BudgetBytes = 23;
  auto Bad = planGraphOptimal(G, O);
  REQUIRE_FALSE(static_cast<bool>(Bad));
  uint64_t Min = 0;
  llvm::handleAllErrors(
      Bad.takeError(),
      [&](const InfeasibleBudgetError &E) { Min = E.MinFeasibleBytes; },
      [&](const llvm::ErrorInfoBase &E) { FAIL(E.message()); });
  CHECK(Min == 24);
  // At 24, X (8) cannot stay with P, Q and Y, so it is recomputed (1). P is
  // kept through the backward (gY: Y + P + L + gY = 18; gP: gY + P + gP =
  // 10) and Q recomputed from X for gQ (gY + X + Q = 17): 14 + 1 + 2 = 17.
  // Keeping Q instead makes gP recompute X and P next to Q: 1 + 8 * 3 = 25.
  GraphMilpResult R = solve(G, 24);
  SimResult S = check(G, R, 24);
  CHECK(S.Time == 17);
  CHECK(R.ProvenOptimal);
}

TEST_CASE("graphmilp: an input read twice is freed once") {
  // A (10 bytes) feeds B = f(A, A); gB reads L, A, A. The model keeps one
  // free per distinct operand; the hand-computed optima must still hold.
  Graph G;
  add(G, "A", Phase::Forward, 3, 10, {});
  add(G, "B", Phase::Forward, 1, 10, {0, 0});
  add(G, "L", Phase::Loss, 1, 1, {1});
  add(G, "gB", Phase::Backward, 1, 1, {2, 0, 0});
  add(G, "gA", Phase::Backward, 1, 1, {3, 0});
  G.finalize();
  // At L: A + B + L = 21; at gB: A + L + gB = 12 with B freed.
  for (uint64_t Budget : {21, 20}) {
    GraphMilpResult R = solve(G, Budget);
    if (Budget == 21) {
      SimResult S = check(G, R, Budget);
      // Nothing to recompute: 3 + 1 + 1 + 1 + 1 = 7.
      CHECK(S.Time == 7);
    } else {
      // B needs A resident (20 bytes with B), L needs B: A must go after B,
      // and gB needs it back: 7 + 3 = 10.
      SimResult S = check(G, R, Budget);
      CHECK(S.Time == 10);
    }
  }
}

TEST_CASE("graphmilp: an operand is kept for a later recomputation") {
  // P (slow, 1 byte) -> U (10 bytes), read by V and, after W -> W2, by Z.
  Graph G = test::keptOperandGraph();
  // Budget 22. At W2, W + W2 = 20 leaves no room for U (30), so U is
  // recomputed for Z. Keeping P (1 byte) past its only reader's first
  // compute makes that cost 1: at Z, P + W2 + U + Z = 22. Time 15 + 1 = 16.
  // Without keeping P, P is recomputed as well: 15 + 10 + 1 = 26 (what
  // this model returned while it pruned S[t][P] after P's last reader).
  GraphMilpResult R = solve(G, 22);
  SimResult S = check(G, R, 22);
  CHECK(S.Time == 16);
  CHECK(R.ProvenOptimal);
}

TEST_CASE("graphmilp: a warm start satisfies every row, Y included") {
  // CBC's MIP start fixes every integer column, the covering Y included; a
  // start that broke a row would be rejected and exact mode would lose its
  // incumbent. The scalable plans of the bench graphs, read as stages, must
  // be integral and satisfy every row and bound of the model.
  for (const char *Family : {"layered", "unet", "transformer"})
    for (uint64_t Pct : {60, 80}) {
      Graph G = generateGraph(Family, 2026, 50);
      auto Full = simulateGraph(G, storeAllGraphOps(G));
      REQUIRE(static_cast<bool>(Full));
      GraphMilpOptions O;
      O.BudgetBytes = Full->PeakBytes * Pct / 100;
      ScalableResult Sc = planGraphScalable(G, {O.BudgetBytes});
      if (!Sc.Found)
        continue;
      milp::MilpBuilder B(G, O);
      B.build();
      std::vector<double> X = B.startVector(Sc.Best.Ops);
      std::vector<double> Row(B.RowLo.size(), 0);
      for (size_t E = 0; E != B.Coef.size(); ++E)
        Row[B.RowIdx[E]] += B.Coef[E] * X[B.ColIdx[E]];
      CAPTURE(Family);
      CAPTURE(Pct);
      unsigned Bad = 0, Covering = 0;
      for (size_t C = 0; C != X.size(); ++C) {
        Bad += X[C] < B.ColLo[C] - 1e-6 || X[C] > B.ColHi[C] + 1e-6;
        Bad += B.IsInt[C] && X[C] != std::round(X[C]);
      }
      for (size_t R = 0; R != Row.size(); ++R)
        Bad += Row[R] < B.RowLo[R] - 1e-6 || Row[R] > B.RowHi[R] + 1e-6;
      for (const auto &Y : B.YCols)
        Covering += X[Y.Col] == 1;
      CHECK(Bad == 0);
      // At 60% the plan recomputes, and some covering column is 1.
      if (Pct == 60)
        CHECK(Covering > 0);
    }
}

TEST_CASE("graphmilp: a stopped solve still returns a valid plan and a gap") {
  // A 49-node layered graph at 60% of its store-all peak does not prove
  // within a fraction of a second; whatever CBC reaches, the answer is a
  // plan within budget whose time is the incumbent, and a bound below it.
  Graph G = generateGraph("layered", 2026, 50);
  auto Full = simulateGraph(G, storeAllGraphOps(G));
  REQUIRE(static_cast<bool>(Full));
  uint64_t Budget = Full->PeakBytes * 60 / 100;
  ScalableResult Sc = planGraphScalable(G, {Budget});
  REQUIRE(Sc.Found);
  // The covering bound's LP relaxation (limit 0), the least that exact mode
  // starts from.
  GraphBoundResult Cover = graphTimeLowerBound(G, {Budget, 0});
  for (double Limit : {0.0, 0.3}) {
    GraphMilpOptions O;
    O.BudgetBytes = Budget;
    O.TimeLimitSeconds = Limit;
    O.WarmStart = Sc.Best.Ops;
    auto R = solveGraphMilp(G, O);
    REQUIRE(static_cast<bool>(R));
    SimResult S = check(G, *R, Budget);
    CHECK(S.Time <= Sc.Best.Time);
    CHECK(R->BestBound <= R->Incumbent + 1e-9);
    // The covering bound is proven before CBC starts, so it is a floor; with
    // no time at all, exact mode solves only its LP.
    CHECK(R->BestBound >= Cover.Time - 1e-9);
    if (Limit == 0) {
      // No time for CBC: the warm start and the covering bound.
      CHECK(S.Time == Sc.Best.Time);
      CHECK(R->BestBound == doctest::Approx(Cover.Time));
    }
  }
}
#endif

TEST_CASE("graphmilp: stage solutions become ops with eager frees") {
  Graph G = diamond();
  // Store-all as stages: stage t computes t and retains all live tensors.
  std::vector<std::vector<unsigned>> R, S(G.size());
  for (unsigned T = 0; T != G.size(); ++T)
    R.push_back({T});
  for (unsigned T = 1; T != G.size(); ++T)
    for (unsigned I = 0; I < T; ++I)
      if (!G.Users[I].empty() && G.Users[I].back() >= T)
        S[T].push_back(I);
  auto Sim = simulateGraph(G, stageSolutionToOps(G, R, S));
  REQUIRE(static_cast<bool>(Sim));
  // The store-all figures worked out on diamond(): peak 26, time 14.
  CHECK(Sim->PeakBytes == 26);
  CHECK(Sim->Time == 14);
}

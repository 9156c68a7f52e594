//===- tests/planner/GraphMILPBoundTest.cpp - Covering lower bound --------===//

#include "planner/GraphMILPBound.h"
#include "graph/RandomGraphs.h"
#include "planner/GraphPlanner.h"
#include "planner/GraphScalable.h"
#include "planner/Simulator.h"

#include "GraphFixtures.h"

#include <doctest/doctest.h>

using namespace remat;

namespace {

/// tests/planner/GraphFixtures.h has the graph and its arithmetic.
Graph chain3() { return test::chain3Graph(); }

// Live bytes plus the node's own at each first compute of chain3:
//   B: A + B = 20; C: A + B + C = 30; L: A, B, C + L = 31;
//   gC: A, B, C, L + gC = 32; gB: A, B, gC + gB = 22; gA: A, gB + gA = 12.
// Droppable segments: A between B and gA (moments C .. gB), B between C
// and gB (moments L, gC); the others end at the next node.

} // namespace

TEST_CASE("graphbound: chain3 at 22 bytes is bounded by its optimum") {
  // Needs: C 8, L 9, gC 10, all within A's segment: dropping A (time 1)
  // covers them, so the bound is 11 + 1 = 12, GraphMILPTest's optimum.
  GraphCover C = buildGraphCover(chain3(), 22);
  CHECK(C.RowNode == std::vector<unsigned>{2, 3, 4});
  CHECK(C.SegNode == std::vector<unsigned>{0, 1});
  GraphBoundResult R = graphTimeLowerBound(chain3(), {22, 5});
  CHECK(R.Time == 12);
  CHECK_FALSE(R.Infeasible);
}

TEST_CASE("graphbound: chain3 at 21 bytes, LP and branch and bound") {
  // Needs: C 9, L 10, gC 11, gB 1. gC needs both A and B dropped (10 + 10
  // >= 11): 1 + 4 = 5, bound 16 (the optimum is 17: A is recomputed twice,
  // which one segment cannot see). The LP takes yA = 1, yB = 0.1:
  // 1 + 0.4 = 1.4, so 12.4, rounded up to 13 (times are integers).
  GraphBoundResult Mip = graphTimeLowerBound(chain3(), {21, 5});
  CHECK(Mip.Time == 16);
  CHECK(Mip.Method == "cover-milp");
  GraphBoundResult Lp = graphTimeLowerBound(chain3(), {21, 0});
  CHECK(Lp.Time == 13);
  CHECK(Lp.Method == "cover-lp");
}

TEST_CASE("graphbound: a budget below an input set is infeasible") {
  // At gB, gC and B must be resident with gB: 12 bytes whatever is
  // dropped (only A can go). At 11 no plan exists; at 32 nothing is needed.
  CHECK(graphTimeLowerBound(chain3(), {11, 0}).Infeasible);
  GraphBoundResult Free = graphTimeLowerBound(chain3(), {32, 0});
  CHECK_FALSE(Free.Infeasible);
  CHECK(Free.Time == 11);
  CHECK(Free.Method == "sum");
}

TEST_CASE("graphbound: never above a plan that fits (seeded graphs)") {
  for (const char *Family : {"layered", "unet", "transformer"})
    for (unsigned Size : {50u, 100u}) {
      Graph G = generateGraph(Family, 7, Size);
      auto Full = simulateGraph(G, storeAllGraphOps(G));
      REQUIRE(static_cast<bool>(Full));
      for (unsigned Pct : {50u, 70u, 90u}) {
        uint64_t Budget = Full->PeakBytes * Pct / 100;
        ScalableResult Sc = planGraphScalable(G, {Budget});
        GraphBoundResult B = graphTimeLowerBound(G, {Budget, 0.5});
        INFO(Family << " " << Size << " at " << Pct << "%");
        if (Sc.Found) {
          CHECK_FALSE(B.Infeasible);
          CHECK(B.Time <= Sc.Best.Time + 1e-9);
        }
        // Store-all's time (each node once) is the floor.
        double Sum = 0;
        for (const Node &N : G.Nodes)
          Sum += N.Time;
        CHECK(B.Time >= Sum - 1e-9);
      }
    }
}

//===- tests/planner/GraphOrdersTest.cpp - Orders and what plans report ---===//

#include "planner/GraphOrders.h"
#include "planner/Errors.h"

#include "GraphBruteForce.h"

#include "models/RandomGraphs.h"
#include "planner/GraphPlanner.h"
#include "planner/Simulator.h"
#include "planner/Strategy.h"

#include <doctest/doctest.h>

using namespace remat;

namespace {

/// Every input of every node comes earlier in \p Order, which lists each
/// node once.
bool isTopological(const Graph &G, const std::vector<unsigned> &Order) {
  std::vector<int> Pos(G.size(), -1);
  for (unsigned I = 0; I < Order.size(); ++I) {
    if (Order[I] >= G.size() || Pos[Order[I]] != -1)
      return false;
    Pos[Order[I]] = int(I);
  }
  for (unsigned V = 0; V < G.size(); ++V)
    for (unsigned In : G.Nodes[V].Inputs)
      if (Pos[In] >= Pos[V])
        return false;
  return Order.size() == G.size();
}

uint64_t storeAllPeak(const Graph &G) {
  auto S = simulateGraph(G, storeAllGraphOps(G));
  REQUIRE(static_cast<bool>(S));
  return S->PeakBytes;
}

Model modelOf(Graph G) {
  Model M;
  M.Name = "random";
  M.G = std::move(G);
  M.FromGraphForm = true;
  return M;
}

} // namespace

TEST_CASE("graph orders: distinct topological orders, the file's first") {
  for (uint64_t Seed = 1; Seed <= 20; ++Seed) {
    Graph G = randomLayeredGraph(Seed, 4 + Seed % 8, 3);
    CAPTURE(Seed);
    std::vector<GraphOrder> Orders = candidateOrders(G, 6);
    REQUIRE(!Orders.empty());
    CHECK(Orders.size() <= 6);
    CHECK(Orders[0].Name == "file");
    for (unsigned I = 0; I < G.size(); ++I)
      CHECK(Orders[0].Order[I] == I);
    for (size_t K = 0; K < Orders.size(); ++K) {
      CHECK(isTopological(G, Orders[K].Order));
      for (size_t J = 0; J < K; ++J)
        CHECK(Orders[J].Order != Orders[K].Order);
    }
    CHECK(candidateOrders(G, 1).size() == 1);
  }
}

TEST_CASE("graph orders: plans move between numberings unchanged") {
  // The store-all plan of a renumbered graph, mapped back, is a valid plan
  // of the original with the same time and peak: the simulator sees the
  // same nodes in the same sequence.
  for (uint64_t Seed = 1; Seed <= 10; ++Seed) {
    Graph G = unetLikeGraph(Seed, 2, 2);
    for (const GraphOrder &O : candidateOrders(G, 5)) {
      CAPTURE(O.Name);
      Graph H = renumberGraph(G, O.Order);
      for (unsigned I = 0; I < H.size(); ++I)
        CHECK(H.Nodes[I].Name == G.Nodes[O.Order[I]].Name);
      auto InH = simulateGraph(H, storeAllGraphOps(H));
      REQUIRE(static_cast<bool>(InH));
      auto InG =
          simulateGraph(G, opsInOriginalIds(storeAllGraphOps(H), O.Order));
      REQUIRE(static_cast<bool>(InG));
      CHECK(InG->PeakBytes == InH->PeakBytes);
      CHECK(InG->Time == InH->Time);
    }
  }
}

TEST_CASE("graph orders: what optimal reports, and for which class") {
  // 9 nodes: the exhaustive search settles it, over all schedules.
  Model Small = modelOf(randomLayeredGraph(9, 4, 2));
  StrategyOptions O;
  O.BudgetBytes = storeAllPeak(Small.G) * 9 / 10;
  auto S = planStrategy(Small, O);
  REQUIRE_MESSAGE(static_cast<bool>(S), llvm::toString(S.takeError()));
  REQUIRE(S->Optimality);
  CHECK(S->Optimality->Method == "exhaustive search");
  CHECK(S->Optimality->Class == "over all schedules");
  CHECK(S->Optimality->ClassKey == "all_schedules");
  CHECK(S->Optimality->ProvenOptimal);
  CHECK(S->Optimality->LowerBound == doctest::Approx(S->Predicted.Time));
  // Issue 12's counterexample: the MILP proved 131 in the file's order;
  // every schedule's least time is 104 (the search and ours).
  auto Truth = test::bruteForceLeastTime(Small.G, *O.BudgetBytes);
  REQUIRE(Truth);
  CHECK(S->Predicted.Time == doctest::Approx(Truth->Time));
  CHECK(S->Predicted.Time == 104);

  // 29 nodes: beyond the search; the MILP's claims are for the file's
  // order, and other orders are tried besides.
  Model Big = modelOf(randomLayeredGraph(3, 14, 3));
  REQUIRE(Big.G.size() == 29);
  O.BudgetBytes = storeAllPeak(Big.G) * 7 / 10;
  O.TimeLimitSeconds = 5;
  auto B = planStrategy(Big, O);
  REQUIRE_MESSAGE(static_cast<bool>(B), llvm::toString(B.takeError()));
  REQUIRE(B->Optimality);
  const OptimalityReport &R = *B->Optimality;
  CHECK(R.Class == "for the file's order of first computations");
  CHECK(R.ClassKey == "file_order");
  CHECK(R.Detail.find("orders tried") != std::string::npos);
  // A claim about the plan needs the plan in the class, and a bound of the
  // class never lies above a plan of it.
  if (R.ProvenOptimal)
    CHECK(R.PlanInClass);
  if (R.PlanInClass)
    CHECK(R.LowerBound <= B->Predicted.Time + 1e-9);
}

TEST_CASE("graph orders: a bound above a plan of its class is an error") {
  Graph G = randomLayeredGraph(5, 6, 3);
  std::vector<GraphOp> Ops = storeAllGraphOps(G);
  auto S = simulateGraph(G, Ops);
  REQUIRE(static_cast<bool>(S));
  double T = S->Time;
  auto Fails = [](llvm::Error E) {
    bool Internal = false;
    llvm::handleAllErrors(std::move(E), [&](const InternalError &IE) {
      Internal = IE.message().find("lies above the time") != std::string::npos;
    });
    return Internal;
  };
  auto Passes = [](llvm::Error E) {
    bool Ok = !E;
    llvm::consumeError(std::move(E));
    return Ok;
  };
  for (GraphPlanClass C :
       {GraphPlanClass::FileOrder, GraphPlanClass::AllSchedules}) {
    CHECK(Passes(checkLowerBound(G, C, T, "bound", Ops, T, "plan")));
    CHECK(Passes(checkLowerBound(G, C, T * (1 + 1e-12), "bound", Ops, T, "p")));
    CHECK(Fails(checkLowerBound(G, C, T + 1, "bound", Ops, T, "plan")));
  }
  // The same plan with first computations in another order: a bound for
  // the file's order does not bound it, one over all schedules does.
  std::vector<GraphOrder> Orders = candidateOrders(G, 2);
  REQUIRE(Orders.size() == 2);
  std::vector<GraphOp> Other = opsInOriginalIds(
      storeAllGraphOps(renumberGraph(G, Orders[1].Order)), Orders[1].Order);
  CHECK_FALSE(firstComputesInIdOrder(G, Other));
  CHECK(firstComputesInIdOrder(G, Ops));
  CHECK(Passes(checkLowerBound(G, GraphPlanClass::FileOrder, T + 1, "bound",
                               Other, T, "plan")));
  CHECK(Fails(checkLowerBound(G, GraphPlanClass::AllSchedules, T + 1, "bound",
                              Other, T, "plan")));
}

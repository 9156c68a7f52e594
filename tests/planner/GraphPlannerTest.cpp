//===- tests/planner/GraphPlannerTest.cpp - Graph planning entry points ---===//

#include "planner/GraphPlanner.h"
#include "models/RandomGraphs.h"
#include "planner/Errors.h"
#include "planner/Simulator.h"

#include "TestUtil.h"

#include "GraphFixtures.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace remat;

namespace {

/// tests/planner/GraphFixtures.h has the graph and its arithmetic.
Graph chain3() { return test::chain3Graph(); }

SimResult simulated(const Graph &G, const std::vector<GraphOp> &Ops) {
  auto S = simulateGraph(G, Ops);
  if (!S) {
    FAIL(llvm::toString(S.takeError()));
    return {};
  }
  return *S;
}

GraphPlanResult plan(const Graph &G, uint64_t Budget, GraphMode Mode,
                     bool UseExhaustive = true) {
  GraphPlanOptions O;
  O.BudgetBytes = Budget;
  O.Mode = Mode;
  O.TimeLimitSeconds = 30;
  O.UseExhaustive = UseExhaustive;
  auto R = planGraphOptimal(G, O);
  if (!R) {
    FAIL(llvm::toString(R.takeError()));
    return {};
  }
  SimResult S = simulated(G, R->Ops);
  CHECK(S.PeakBytes <= Budget);
  CHECK(S.PeakBytes == R->PeakBytes);
  CHECK(S.Time == doctest::Approx(R->Time));
  return *R;
}

/// Store-all peak of \p G.
uint64_t fullPeak(const Graph &G) {
  return simulated(G, storeAllGraphOps(G)).PeakBytes;
}

/// The smallest feasible budget an InfeasibleBudgetError names.
uint64_t infeasibleMin(const Graph &G, uint64_t Budget, GraphMode Mode) {
  GraphPlanOptions O;
  O.BudgetBytes = Budget;
  O.Mode = Mode;
  O.TimeLimitSeconds = 30;
  auto R = planGraphOptimal(G, O);
  REQUIRE_FALSE(static_cast<bool>(R));
  uint64_t Min = 0;
  llvm::handleAllErrors(
      R.takeError(),
      [&](const InfeasibleBudgetError &E) { Min = E.MinFeasibleBytes; },
      [&](const llvm::ErrorInfoBase &E) { FAIL(E.message()); });
  return Min;
}

} // namespace

#ifdef REMAT_HAVE_CBC
TEST_CASE("graphplanner: exact mode reaches the hand-computed optimum") {
  Graph G = chain3();
  // GraphMILPTest works these out: budget 22 -> recompute A once (12);
  // budget 21 -> recompute B from A, and A again (17).
  // Small graphs go to the exhaustive search: optimal over all schedules.
  GraphPlanResult R22 = plan(G, 22, GraphMode::Exact);
  CHECK(R22.ModeUsed == GraphMethod::Exhaustive);
  CHECK(R22.Class == GraphPlanClass::AllSchedules);
  CHECK(R22.Time == 12);
  CHECK(R22.ProvenOptimal);
  CHECK(R22.LowerBound == 12);
  CHECK(R22.Gap == doctest::Approx(0));
  CHECK(plan(G, 21, GraphMode::Exact).Time == 17);
  CHECK(plan(G, 21, GraphMode::Auto).ModeUsed == GraphMethod::Exhaustive);
  // Without it, the MILP proves the same optima for the file's order.
  GraphPlanResult M22 = plan(G, 22, GraphMode::Exact, /*UseExhaustive=*/false);
  CHECK(M22.ModeUsed == GraphMethod::Milp);
  CHECK(M22.Class == GraphPlanClass::FileOrder);
  CHECK(M22.Time == 12);
  CHECK(M22.ProvenOptimal);
  CHECK(plan(G, 21, GraphMode::Auto, false).ModeUsed == GraphMethod::Milp);
  CHECK(plan(G, 21, GraphMode::Auto, false).Time == 17);
}

TEST_CASE("graphplanner: exact <= scalable <= baselines on small graphs") {
  for (uint64_t Seed = 1; Seed <= 3; ++Seed) {
    for (const char *Family : {"layered", "transformer"}) {
      Graph G = generateGraph(Family, Seed, Seed % 2 ? 17 : 21);
      uint64_t Budget = fullPeak(G) * 7 / 10;
      CAPTURE(Family);
      CAPTURE(Seed);
      GraphPlanOptions SO;
      SO.BudgetBytes = Budget;
      SO.Mode = GraphMode::Scalable;
      auto Sc = planGraphOptimal(G, SO);
      if (!Sc) {
        llvm::consumeError(Sc.takeError());
        continue;
      }
      GraphPlanResult Ex = plan(G, Budget, GraphMode::Exact);
      CHECK(Ex.Time <= Sc->Time + 1e-9);
      CHECK(Ex.LowerBound <= Ex.Time + 1e-6);
      // Chen's plans may all be over the budget: then it is infeasible for
      // chen (exit 3), and there is nothing to compare.
      auto Chen = graphBaselineOps(G, "chen", Budget);
      if (Chen) {
        SimResult SC = simulated(G, *Chen);
        CHECK(SC.PeakBytes <= Budget);
        CHECK(Sc->Time <= SC.Time + 1e-9);
      } else {
        CHECK(Chen.errorIsA<InfeasibleBudgetError>());
        llvm::consumeError(Chen.takeError());
      }
      auto All = graphBaselineOps(G, "recompute-all", std::nullopt);
      REQUIRE(static_cast<bool>(All));
      SimResult SA = simulated(G, *All);
      if (SA.PeakBytes <= Budget)
        CHECK(Sc->Time <= SA.Time + 1e-9);
    }
  }
}

TEST_CASE("graphplanner: exact infeasibility names the least feasible budget") {
  Graph G = chain3();
  // Recomputing B needs A and gC resident: 10 + 10 + 1 = 21 bytes.
  CHECK(infeasibleMin(G, 20, GraphMode::Exact) == 21);
  CHECK(plan(G, 21, GraphMode::Exact).PeakBytes == 21);
}
#endif

TEST_CASE("graphplanner: scalable infeasibility names a budget that works") {
  for (uint64_t Seed = 1; Seed <= 3; ++Seed) {
    Graph G = generateGraph("unet", Seed, 81);
    uint64_t Min = infeasibleMin(G, 1, GraphMode::Scalable);
    CHECK(Min > 1);
    CHECK(Min <= fullPeak(G));
    CHECK(plan(G, Min, GraphMode::Scalable).PeakBytes <= Min);
    CHECK(infeasibleMin(G, Min - 1, GraphMode::Scalable) == Min);
  }
}

TEST_CASE("graphplanner: auto mode goes scalable on large graphs") {
  Graph G = generateGraph("transformer", 3, 101);
  REQUIRE(G.size() > 60);
  GraphPlanResult R = plan(G, fullPeak(G) * 6 / 10, GraphMode::Auto);
  CHECK(R.ModeUsed == GraphMethod::Scalable);
  CHECK(R.Class == GraphPlanClass::FileOrder);
  // No clamp: the covering bound is a bound for the file's order, and a
  // plan of that order above it would have been an InternalError.
  if (R.PlanInClass)
    CHECK(R.LowerBound <= R.Time + 1e-9);
}

TEST_CASE("graphplanner: oversized exact runs are refused") {
  // 401 nodes, one above ExactMaxNodes. (An unknown --mode no longer reaches
  // the planner: GraphMode is an enum; tests/cli/GraphPlanTest.cpp checks
  // the CLI's message.)
  Graph G = generateGraph("layered", 5, 401);
  GraphPlanOptions O;
  O.BudgetBytes = fullPeak(G);
  O.Mode = GraphMode::Exact;
  auto R = planGraphOptimal(G, O);
  REQUIRE_FALSE(static_cast<bool>(R));
  std::string Msg = llvm::toString(R.takeError());
  CHECK(Msg.find("401") != std::string::npos);
}

TEST_CASE("graphplanner: baselines are complete and chen fits its budget") {
  Graph G = generateGraph("layered", 11, 61);
  auto All = graphBaselineOps(G, "recompute-all", std::nullopt);
  REQUIRE(static_cast<bool>(All));
  simulated(G, *All);
  auto Loose = graphBaselineOps(G, "chen", std::nullopt);
  REQUIRE(static_cast<bool>(Loose));
  uint64_t Least = simulated(G, *Loose).PeakBytes;
  // Without a budget chen takes its least-peak b; any budget at or above
  // that peak is met.
  auto Fit = graphBaselineOps(G, "chen", Least);
  REQUIRE(static_cast<bool>(Fit));
  CHECK(simulated(G, *Fit).PeakBytes <= Least);
  auto Bad = graphBaselineOps(G, "nope", std::nullopt);
  CHECK_FALSE(static_cast<bool>(Bad));
  if (!Bad)
    llvm::consumeError(Bad.takeError());
}

TEST_CASE("graphplanner: remat plan --strategy optimal on a graph model") {
  std::string Model = test::sourcePath("tests/data/graphplan_chain3.json");
  test::CliResult R =
      test::runCli({"plan", Model, "--strategy", "optimal", "--budget", "22"});
  REQUIRE_MESSAGE(R.Code == 0, R.Err);
  auto J = nlohmann::json::parse(R.Out);
  // Hand-computed in GraphMILPTest: one recomputation of A, time 12.
  CHECK(J["predicted"]["time"] == 12);
  CHECK(J["predicted"]["peak_bytes"].get<uint64_t>() <= 22);
  CHECK(J["predicted"]["forward_recomputations"] == 1);
  test::CliResult Tight =
      test::runCli({"plan", Model, "--strategy", "optimal", "--budget", "20"});
  CHECK(Tight.Code == 3);
#ifdef REMAT_HAVE_CBC
  // The least peak, 21 bytes, needs exact mode (GraphMILPTest).
  CHECK(Tight.Err.find("is 21 B (21 bytes)") != std::string::npos);
#endif
}

TEST_CASE("graphplanner: a chain planned as a graph is a lower bound") {
  // x_0 = 1 byte; stage a: fwd 10, bwd 10, output 4, saved 8 (4 extra
  // bytes, the node a.saved once lowered); stage b: fwd 1, bwd 1, output 4,
  // saved 12 (8 extra); loss bwd 1. Store-all time 10 + 1 + 1 + 1 + 10 = 23.
  test::TempFile Model("relax.json", R"({"format": "remat-model",
    "version": 1, "name": "relax", "input_bytes": 1,
    "loss": {"bwd_time": 1}, "layers": [
      {"name": "a", "fwd_time": 10, "bwd_time": 10, "output_bytes": 4,
       "saved_bytes": 8},
      {"name": "b", "fwd_time": 1, "bwd_time": 1, "output_bytes": 4,
       "saved_bytes": 12}]})");
  auto Plan = [&](const char *Budget, bool AsGraph) {
    std::vector<std::string> Args = {"plan",    Model.path(), "--strategy",
                                     "optimal", "--budget",   Budget};
    if (AsGraph)
      Args.push_back("--as-graph");
    return test::runCli(Args);
  };
  auto Time = [](const test::CliResult &R) {
    return nlohmann::json::parse(R.Out)["predicted"]["time"].get<double>();
  };
  // Chain semantics at 25 bytes: B of b holds x_0 (1), x_1 (4), x̄_2 (12),
  // y_2 (4) and y_1 (4) = 25, so x̄_1 (8 instead of x_1's 4) cannot be
  // resident then and F_all of a runs again after it: 23 + 10 = 33. At 24
  // nothing fits: x_0 and x_1 can only be freed by F_n/B, and F_n of a would
  // lose x_0, which B of a's re-forward needs.
  test::CliResult Chain25 = Plan("25", false);
  REQUIRE_MESSAGE(Chain25.Code == 0, Chain25.Err);
  CHECK(Time(Chain25) == 33);
  CHECK(Plan("24", false).Code == 3);
  // The lowered graph computes a.saved (time 0) from a and x_0 only when
  // g.a needs it, after g.b has freed b's tensors: no re-forward, time 23 =
  // the sum of node times, at 25 and even at 24 bytes. Every chain schedule
  // is a graph plan of no more time and peak (docs/graph-planning.md), so
  // the graph's figures bound the chain's from below; here by one forward
  // of a (10).
  for (const char *Budget : {"24", "25"}) {
    test::CliResult G = Plan(Budget, true);
    REQUIRE_MESSAGE(G.Code == 0, G.Err);
    CHECK(Time(G) == 23);
  }
  // With room for every tensor both store everything: 23.
  CHECK(Time(Plan("29", false)) == 23);
  CHECK(Time(Plan("29", true)) == 23);
}

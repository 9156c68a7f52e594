//===- tests/cli/GraphPlanTest.cpp - remat plan on graphs: what it claims -===//

#include "TestUtil.h"

#include "models/RandomGraphs.h"
#include "planner/GraphPlanner.h"
#include "planner/GraphScalable.h"
#include "planner/Simulator.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace remat;
using namespace remat::test;

namespace {

/// \p G as a graph-form model file.
std::string modelJson(const Graph &G) {
  nlohmann::ordered_json Nodes = nlohmann::ordered_json::array();
  for (const Node &N : G.Nodes) {
    nlohmann::ordered_json In = nlohmann::ordered_json::array();
    for (unsigned I : N.Inputs)
      In.push_back(G.Nodes[I].Name);
    Nodes.push_back({{"name", N.Name},
                     {"time", N.Time},
                     {"bytes", N.Bytes},
                     {"workspace", N.Workspace},
                     {"inputs", In},
                     {"phase", phaseName(N.NodePhase).str()}});
  }
  nlohmann::ordered_json J = {{"format", "remat-model"},
                              {"version", 1},
                              {"name", "random"},
                              {"graph", {{"nodes", Nodes}}}};
  return J.dump();
}

uint64_t storeAllPeak(const Graph &G) {
  auto S = simulateGraph(G, storeAllGraphOps(G));
  REQUIRE(static_cast<bool>(S));
  return S->PeakBytes;
}

} // namespace

TEST_CASE("cli graph plan: small graphs are proven over all schedules") {
  // graphplan_chain3: recomputing B needs A and gC resident, 10 + 10 + 1 =
  // 21 bytes (GraphMILPTest); the exhaustive search proves it is the least,
  // so the message names no class.
  std::string Model = sourcePath("tests/data/graphplan_chain3.json");
  CliResult Tight =
      runCli({"plan", Model, "--strategy", "optimal", "--budget", "20"});
  CHECK(Tight.Code == 3);
  CHECK(Tight.Err.find("the smallest feasible budget is 21 B (21 bytes)") !=
        std::string::npos);
  TempFile Out("plan.json");
  CliResult Ok = runCli({"plan", Model, "--strategy", "optimal", "--budget",
                         "21", "-o", Out.path()});
  REQUIRE(Ok.Code == 0);
  CHECK(Ok.Err.find("remat: exhaustive search, proven optimal over all "
                    "schedules\n") != std::string::npos);
}

TEST_CASE("cli graph plan: beyond the search, claims name their class") {
  Graph G = randomLayeredGraph(3, 14, 3); // 29 nodes
  REQUIRE(G.size() > GraphPlanExhaustiveMaxNodes);
  TempFile Model("random29.json", modelJson(G));
  TempFile Out("plan.json");
  std::string Budget = std::to_string(storeAllPeak(G) * 7 / 10);
  CliResult R =
      runCli({"plan", Model.path(), "--strategy", "optimal", "--budget", Budget,
              "--time-limit", "3", "-o", Out.path()});
  REQUIRE_MESSAGE(R.Code == 0, R.Err);
  CHECK(R.Err.find("for the file's order of first computations") !=
        std::string::npos);
  CHECK(R.Err.find("best of 5 orders tried") != std::string::npos);
  CHECK(R.Err.find("over all schedules") == std::string::npos);
}

TEST_CASE("cli graph plan: compare --json carries the class of the claim") {
  // diamond fits whole in 1 KiB: nothing is recomputed, and the exhaustive
  // search proves the plan optimal over all schedules.
  CliResult R = runCli({"compare", sourcePath("tests/data/diamond.json"),
                        "--budget", "1KiB", "--json"});
  REQUIRE_MESSAGE(R.Code == 0, R.Err);
  auto J = nlohmann::json::parse(R.Out);
  bool SawOptimal = false;
  for (const auto &Row : J["rows"]) {
    if (Row["strategy"] != "optimal") {
      CHECK(Row["optimality"].is_null());
      continue;
    }
    SawOptimal = true;
    const auto &O = Row["optimality"];
    CHECK(O["method"] == "exhaustive search");
    CHECK(O["optimal_class"] == "all_schedules");
    CHECK(O["proven_optimal"] == true);
    CHECK(O["lower_bound"] == Row["time"]);
  }
  CHECK(SawOptimal);
}

TEST_CASE("cli graph plan: --time-limit 0 is no proof of infeasibility") {
  // Issue 17 item 9: diamond.json at 26 bytes said "smallest feasible
  // budget is 27 B" with --time-limit 0. tests/planner/GraphLimitTest.cpp
  // checks with an independent brute force that 26 bytes fit; every call
  // gets a floor of work, enough for the exhaustive search on 4 nodes, so
  // the plan is found and proven, and 25 bytes are proven infeasible.
  std::string Model = sourcePath("tests/data/diamond.json");
  TempFile Out("plan.json");
  CliResult Fits = runCli({"plan", Model, "--strategy", "optimal", "--budget",
                           "26", "--time-limit", "0", "-o", Out.path()});
  REQUIRE_MESSAGE(Fits.Code == 0, Fits.Err);
  CHECK(Fits.Err.find("peak 26 B") != std::string::npos);
  CliResult Sim = runCli({"simulate", Model, Out.path(), "--json"});
  REQUIRE_MESSAGE(Sim.Code == 0, Sim.Err);
  CHECK(nlohmann::json::parse(Sim.Out)["simulated"]["peak_bytes"] == 26);
  CliResult Tight = runCli({"plan", Model, "--strategy", "optimal", "--budget",
                            "25", "--time-limit", "0"});
  CHECK(Tight.Code == 3);
  CHECK(Tight.Err.find("the smallest feasible budget is 26 B") !=
        std::string::npos);
}

TEST_CASE("cli graph plan: a time-out says infeasibility is not proven") {
  // 1,000 nodes, one byte below the least peak of every baseline: the full
  // search fits (checked below), but with --time-limit 0 the search stops
  // after the baselines. Exit 3, worded as a time-out, not a proof.
  Graph G = generateGraph("layered", 2026, 1000);
  uint64_t Least = recomputeAllPlan(G).PeakBytes;
  for (const KeepSetPlan &P : chenPlans(G))
    Least = std::min(Least, P.PeakBytes);
  std::string Budget = std::to_string(Least - 1);
  TempFile Model("layered1000.json", modelJson(G));
  TempFile Out("plan.json");
  CliResult Slow =
      runCli({"plan", Model.path(), "--strategy", "optimal", "--budget", Budget,
              "--time-limit", "600", "-o", Out.path()});
  REQUIRE_MESSAGE(Slow.Code == 0, Slow.Err);
  CliResult R = runCli({"plan", Model.path(), "--strategy", "optimal",
                        "--budget", Budget, "--time-limit", "0"});
  CHECK(R.Code == 3);
  CHECK(R.Err.find("found within the time limit; not proven infeasible; "
                   "the least budget proven feasible is") != std::string::npos);
  CHECK(R.Err.find("is infeasible") == std::string::npos);
}

TEST_CASE("cli graph plan: an unknown --mode is bad input naming it") {
  // The graph planner takes a GraphMode; the CLI's spelling is parsed once
  // (parseGraphMode) and anything else is refused with exit 2.
  std::string Model = sourcePath("tests/data/graphplan_chain3.json");
  CliResult Bad = runCli({"plan", Model, "--strategy", "optimal", "--budget",
                          "21", "--mode", "fastest"});
  CHECK(Bad.Code == 2);
  CHECK(Bad.Err.find("unknown graph planning mode 'fastest'") !=
        std::string::npos);
  // Negative control: the three spellings plan, at a budget every mode
  // meets: above the bytes of every node at once, 3 x 10 + 4 x 1 = 34.
  for (std::string Mode : {"auto", "exact", "scalable"}) {
    CAPTURE(Mode);
    CHECK(runCli({"plan", Model, "--strategy", "optimal", "--budget", "100",
                  "--mode", Mode})
              .Code == 0);
  }
}

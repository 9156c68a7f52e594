//===- tests/cli/FrontierTest.cpp - remat frontier ------------------------===//

#include "TestUtil.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace remat::test;

static const std::string FrontierChain4 = sourcePath("tests/data/chain4.json");

TEST_CASE("cli frontier: --json has every breakpoint, the knee, strategies") {
  CliResult R = runCli({"frontier", FrontierChain4, "--json"});
  REQUIRE_MESSAGE(R.Code == 0, R.Err);
  CHECK(R.Err.empty());
  auto J = nlohmann::json::parse(R.Out);
  CHECK(J["model"] == "chain4");
  CHECK(J["exact"] == true);
  // The curve is the persistent DP's: exact in that class only.
  CHECK(J["class"] == "persistent schedules (rotor's class)");
  REQUIRE(J["points"].size() >= 1);
  // Breakpoints: budgets ascending, times strictly descending.
  for (size_t K = 1; K < J["points"].size(); ++K) {
    CHECK(J["points"][K]["budget_bytes"].get<uint64_t>() >
          J["points"][K - 1]["budget_bytes"].get<uint64_t>());
    CHECK(J["points"][K]["time"].get<double>() <
          J["points"][K - 1]["time"].get<double>());
  }
  CHECK(J["knee"]["index"].get<size_t>() < J["points"].size());
  REQUIRE(J["strategies"].size() >= 1);
  for (const auto &S : J["strategies"])
    CHECK(S["optimal_time_at_peak"].get<double>() <=
          S["time"].get<double>() + 1e-9);
}

TEST_CASE("cli frontier: table and SVG file") {
  TempFile Svg("plot.svg");
  CliResult R = runCli({"frontier", FrontierChain4, "--svg", Svg.path()});
  REQUIRE_MESSAGE(R.Code == 0, R.Err);
  CHECK(R.Out.find("<- knee") != std::string::npos);
  CHECK(R.Out.find("sequential --segments 2") != std::string::npos);
  std::string Text = Svg.read();
  CHECK(Text.rfind("<svg", 0) == 0);
  CHECK(Text.find("</svg>") != std::string::npos);
  CHECK(Text.find("activation budget (B)") != std::string::npos);
  CHECK(Text.find("time per iteration (ms)") != std::string::npos);
  CHECK(Text.find("knee") != std::string::npos);
}

TEST_CASE("cli frontier: help, graph models and bad input") {
  CliResult H = runCli({"frontier", "--help"});
  CHECK(H.Code == 0);
  CHECK(H.Out.find("Example") != std::string::npos);
  // Graph models get a sampled curve, flagged as such in the JSON.
  CliResult G =
      runCli({"frontier", sourcePath("tests/data/diamond.json"), "--json"});
  CHECK(G.Code == 0);
  auto J = nlohmann::json::parse(G.Out);
  CHECK(J["sampled"] == true);
  CHECK(J["exact"] == false);
  CHECK(!J["points"].empty());
  CHECK(runCli({"frontier"}).Code == 2);
  CHECK(runCli({"frontier", FrontierChain4, "--slots", "x"}).Code == 2);
}

//===- tests/cli/CompareTest.cpp - remat compare --------------------------===//

#include "TestUtil.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace remat::test;

namespace {
const std::string Chain4 = sourcePath("tests/data/chain4.json");
} // namespace

TEST_CASE("cli compare: json rows, fits and the best fitting plan") {
  CliResult R = runCli({"compare", Chain4, "--budget", "60", "--json"});
  REQUIRE(R.Code == 0);
  auto J = nlohmann::json::parse(R.Out);
  CHECK(J["budget_bytes"] == 60);
  auto &Rows = J["rows"];
  REQUIRE(Rows.size() >= 6);
  // The store-all row: peak 72 and time 19 (see PlanTest.cpp), no reduction.
  CHECK(Rows[0]["label"] == "none");
  CHECK(Rows[0]["peak_bytes"] == 72);
  CHECK(Rows[0]["time"] == 19);
  CHECK(Rows[0]["fits"] == false);
  // sequential --segments ceil(sqrt 4) = 2: peak 52, time 22 (PlanTest).
  CHECK(Rows[1]["label"] == "sequential --segments 2");
  CHECK(Rows[1]["peak_bytes"] == 52);
  CHECK(Rows[1]["reduction"].get<double>() == doctest::Approx(1 - 52.0 / 72.0));
  int Best = -1;
  for (size_t I = 0; I < Rows.size(); ++I) {
    CHECK(Rows[I]["fits"] == (Rows[I]["peak_bytes"].get<uint64_t>() <= 60));
    if (Rows[I]["best"] == true) {
      CHECK(Best == -1);
      Best = int(I);
    }
  }
  REQUIRE(Best >= 0);
  CHECK(J["best"] == Rows[Best]["label"]);
  CHECK(Rows[Best]["fits"] == true);
  for (auto &Row : Rows)
    if (Row["fits"] == true)
      CHECK(Rows[Best]["time"].get<double>() <= Row["time"].get<double>());
}

TEST_CASE("cli compare: the table without a budget") {
  CliResult R = runCli({"compare", Chain4});
  REQUIRE(R.Code == 0);
  CHECK(R.Out.find("budget none") != std::string::npos);
  CHECK(R.Out.find("sequential --segments 2") != std::string::npos);
  CHECK(R.Out.find("selective --kinds attention") != std::string::npos);
  // No budget: no fits column values but '-', no best mark, no optimal.
  CHECK(R.Out.find("\n* ") == std::string::npos);
  CHECK(R.Out.find("optimal") == std::string::npos);
  CliResult J = runCli({"compare", Chain4, "--json"});
  REQUIRE(J.Code == 0);
  auto Doc = nlohmann::json::parse(J.Out);
  CHECK(Doc["best"].is_null());
  CHECK(Doc["rows"][0]["fits"].is_null());
}

TEST_CASE("cli compare: bad input exits 2") {
  CHECK(runCli({"compare"}).Code == 2);
  CHECK(runCli({"compare", Chain4, "--budget", "lots"}).Code == 2);
  CHECK(runCli({"compare", "--help"}).Code == 0);
}

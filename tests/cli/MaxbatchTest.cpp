//===- tests/cli/MaxbatchTest.cpp - remat maxbatch ------------------------===//

#include "TestUtil.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace remat::test;

static const std::string MaxbatchChain4 = sourcePath("tests/data/chain4.json");

TEST_CASE("cli maxbatch: --json rows and the standard vs checkpointed pair") {
  // chain4's static bytes are 1 + 1 + 2 KiB = 4096; 4096 + 1000 leaves a
  // budget of 1000 bytes.
  CliResult R =
      runCli({"maxbatch", MaxbatchChain4, "--device-memory", "5096", "--json"});
  REQUIRE_MESSAGE(R.Code == 0, R.Err);
  auto J = nlohmann::json::parse(R.Out);
  CHECK(J["static_bytes"] == 4096);
  CHECK(J["budget_bytes"] == 1000);
  CHECK(J["batch_declared"] == false);
  CHECK(J["standard_batch"].get<uint64_t>() <=
        J["checkpointed_batch"].get<uint64_t>());
  bool SawOptimal = false;
  for (const auto &Row : J["strategies"]) {
    SawOptimal |= Row["label"] == "optimal";
    if (Row["max_batch"].get<uint64_t>() > 0)
      CHECK(Row["peak_bytes"].get<uint64_t>() <= 1000);
  }
  CHECK(SawOptimal);
}

TEST_CASE("cli maxbatch: table, note, and errors") {
  CliResult R = runCli({"maxbatch", MaxbatchChain4, "--device-memory", "5096"});
  REQUIRE_MESSAGE(R.Code == 0, R.Err);
  CHECK(R.Out.find("declares no batch_size") != std::string::npos);
  CHECK(R.Out.find("checkpointed (optimal) batch") != std::string::npos);
  CHECK(runCli({"maxbatch", MaxbatchChain4}).Code == 2);
  CliResult Low =
      runCli({"maxbatch", MaxbatchChain4, "--device-memory", "100"});
  CHECK(Low.Code == 2);
  CHECK(Low.Err.find("static") != std::string::npos);
  CHECK(runCli({"maxbatch", "--help"}).Code == 0);
}

TEST_CASE("cli maxbatch: graph models, text and --json") {
  // diamond.json declares no static bytes and no batch_size, so the budget
  // is the device memory; see the JSON rows' own peaks for the bound.
  std::string Diamond = sourcePath("tests/data/diamond.json");
  CliResult R = runCli({"maxbatch", Diamond, "--device-memory", "1000",
                        "--time-limit", "5", "--json"});
  REQUIRE_MESSAGE(R.Code == 0, R.Err);
  auto J = nlohmann::json::parse(R.Out);
  std::vector<std::string> Labels;
  for (const auto &Row : J["strategies"]) {
    Labels.push_back(Row["label"]);
    CHECK(Row["max_batch_is_limit"] == false);
    if (Row["max_batch"].get<uint64_t>() > 0)
      CHECK(Row["peak_bytes"].get<uint64_t>() <=
            J["budget_bytes"].get<uint64_t>());
  }
  CHECK(Labels.size() == 6);
  CHECK(Labels[1] == "recompute-all");
  CliResult T = runCli({"maxbatch", Diamond, "--device-memory", "1000"});
  REQUIRE_MESSAGE(T.Code == 0, T.Err);
  CHECK(T.Out.find("checkpointed (optimal) batch") != std::string::npos);
  CHECK(runCli({"maxbatch", Diamond, "--device-memory", "1000", "--time-limit",
                "-1"})
            .Code == 2);
}

TEST_CASE("cli maxbatch: a batch at the search limit is marked as a bound") {
  // chain4 holds 72 B at batch 1 store-all (tests/data/chain4.json): with
  // 1 TiB every strategy fits past 2^24 = 16777216, where the search stops.
  // That was printed as the maximum; it is a lower bound.
  std::string Chain4 = sourcePath("tests/data/chain4.json");
  auto R = runCli({"maxbatch", Chain4, "--device-memory", "1TiB"});
  REQUIRE(R.Code == 0);
  CHECK(R.Out.find("  none                            16777216+ ") !=
        std::string::npos);
  CHECK(R.Out.find("  (+: the search stops at batch 16777216; a larger one "
                   "may fit)\n") != std::string::npos);
  CHECK(R.Out.find("standard (store everything) batch:  16777216+\n") !=
        std::string::npos);
  // Below the limit nothing is marked: 1 MiB holds batch 1024 * 1024 / 72
  // = 14563 of store-all at most.
  R = runCli({"maxbatch", Chain4, "--device-memory", "1MiB"});
  REQUIRE(R.Code == 0);
  CHECK(R.Out.find('+') == std::string::npos);
}

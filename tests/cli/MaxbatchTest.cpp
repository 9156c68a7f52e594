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

TEST_CASE("cli maxbatch: --static-bytes and set-up options replace the "
          "model's static bytes") {
  // --static-bytes 4000: 5096 - 4000 leaves a budget of 1096 bytes.
  auto S = runCli({"maxbatch", MaxbatchChain4, "--device-memory", "5096",
                   "--static-bytes", "4000", "--json"});
  REQUIRE_MESSAGE(S.Code == 0, S.Err);
  auto J = nlohmann::json::parse(S.Out);
  CHECK(J["static_bytes"] == 4000);
  CHECK(J["budget_bytes"] == 1096);
  CHECK(J["static_bytes_from"]["source"] == "--static-bytes");
  // 100 parameters, AdamW 8-bit in mixed precision: 2 B weights + 2 B
  // gradients + 4 B master copy + 2 B states = 1000 bytes; 5096 - 1000.
  auto T =
      runCli({"maxbatch", MaxbatchChain4, "--device-memory", "5096",
              "--parameters", "100", "--optimizer", "adamw-8bit", "--json"});
  REQUIRE_MESSAGE(T.Code == 0, T.Err);
  auto K = nlohmann::json::parse(T.Out);
  CHECK(K["static_bytes"] == 1000);
  CHECK(K["budget_bytes"] == 4096);
  CHECK(K["static_bytes_from"]["source"] == "training set-up");
  // ZeRO-3 over 4 devices shards all three: 1000 / 4 = 250.
  auto Z = runCli({"maxbatch", MaxbatchChain4, "--device-memory", "5096",
                   "--parameters", "100", "--optimizer", "adamw-8bit", "--zero",
                   "3", "--devices", "4", "--json"});
  REQUIRE_MESSAGE(Z.Code == 0, Z.Err);
  CHECK(nlohmann::json::parse(Z.Out)["static_bytes"] == 250);
  // Without the options the output has no static_bytes_from.
  auto P =
      runCli({"maxbatch", MaxbatchChain4, "--device-memory", "5096", "--json"});
  CHECK(!nlohmann::json::parse(P.Out).contains("static_bytes_from"));
  // Errors: set-up options without --parameters, both sources, a bad count.
  auto NoParams = runCli({"maxbatch", MaxbatchChain4, "--device-memory", "5096",
                          "--optimizer", "sgd"});
  CHECK(NoParams.Code == 2);
  CHECK(NoParams.Err.find("need --parameters N") != std::string::npos);
  auto Both = runCli({"maxbatch", MaxbatchChain4, "--device-memory", "5096",
                      "--static-bytes", "1", "--parameters", "5"});
  CHECK(Both.Code == 2);
  CHECK(Both.Err.find("do not combine") != std::string::npos);
  auto Bad = runCli({"maxbatch", MaxbatchChain4, "--device-memory", "5096",
                     "--parameters", "many"});
  CHECK(Bad.Code == 2);
  CHECK(Bad.Err.find("--parameters: 'many'") != std::string::npos);
}

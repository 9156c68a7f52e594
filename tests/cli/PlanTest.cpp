//===- tests/cli/PlanTest.cpp - remat plan --------------------------------===//
//
// tests/data/chain4.json by hand: x_0 = 4; embed out 8 saved 8 (fwd 1, bwd
// 2); h.0.attn and h.1.attn out 8 saved 20 (fwd 2, bwd 4, bwd_ws 4); head
// out 2 saved 6 (fwd 1, bwd 2, fwd_ws 3); loss bwd 1, ws 2.
// Store-all: peak 72 at B of h.1.attn (68 + 4), time 6 + 12 + 1 = 19.

#include "TestUtil.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace remat::test;

namespace {
const std::string Chain4 = sourcePath("tests/data/chain4.json");
} // namespace

TEST_CASE("cli plan: sequential to a file, summary on stderr") {
  TempFile Out("plan.json");
  CliResult R = runCli({"plan", Chain4, "--strategy", "sequential",
                        "--segments", "2", "-o", Out.path()});
  REQUIRE(R.Code == 0);
  CHECK(R.Out.empty());
  CHECK(R.Err.find("peak 52 B") != std::string::npos);
  auto J = nlohmann::json::parse(Out.read());
  // Segments of 2: [embed, h.0] checkpointed, [h.1, head] plain.
  // 4; F_ck 0: 12; F_n 1: 12; F_all 2: 32; F_all 3: 38 (41); loss 40 (42);
  // B 3: 48 -> 40; B 2: 48 (52) -> 12; F_all 0: 20; F_all 1: 40;
  // B 1: 48 (52) -> 20; B 0: 24 -> 4.
  CHECK(J["predicted"]["peak_bytes"] == 52);
  CHECK(J["predicted"]["time"] == 22); // 19 + 1 + 2
  CHECK(J["predicted"]["baseline_peak_bytes"] == 72);
  CHECK(J["predicted"]["baseline_time"] == 19);
  CHECK(J["predicted"]["forward_recomputations"] == 2);
  CHECK(J["budget_bytes"].is_null());
  CHECK(J["ops"][0] ==
        nlohmann::json{{"op", "F_ck"}, {"layer", 0}, {"name", "embed"}});
}

TEST_CASE("cli plan: stdout without -o, and no summary") {
  CliResult R = runCli({"plan", Chain4, "--strategy", "none"});
  REQUIRE(R.Code == 0);
  CHECK(R.Err.empty());
  auto J = nlohmann::json::parse(R.Out);
  CHECK(J["predicted"]["peak_bytes"] == 72);
  CHECK(J["ops"].size() == 9); // 4 F_all, loss, 4 B
}

TEST_CASE("cli plan: --emit text lists resident bytes and peaks") {
  CliResult R =
      runCli({"plan", Chain4, "--strategy", "none", "--emit", "text"});
  REQUIRE(R.Code == 0);
  // Op 4 is the loss: resident 58 + y_4 2 = 60, peak 60 + 2 = 62.
  CHECK(R.Out.find("       4  loss") != std::string::npos);
  CHECK(R.Out.find("60              62\n") != std::string::npos);
  // Op 6, B of h.1.attn: 68 + bwd_ws 4 = 72 peak, 40 after its frees.
  CHECK(R.Out.find("h.1.attn              40              72\n") !=
        std::string::npos);
}

TEST_CASE("cli plan: an infeasible budget exits 3 naming the least budget") {
  TempFile Out("never.json");
  CliResult R = runCli({"plan", Chain4, "--strategy", "sequential",
                        "--segments", "2", "--budget", "40", "-o", Out.path()});
  CHECK(R.Code == 3);
  CHECK(R.Err == "remat: error: strategy 'sequential': budget 40 B (40 "
                 "bytes) is infeasible; the smallest feasible budget is 52 "
                 "B (52 bytes)\n");
  CHECK(Out.read().empty());
}

TEST_CASE("cli plan: bad input exits 2") {
  CHECK(runCli({"plan", Chain4}).Code == 2);
  CHECK(runCli({"plan", Chain4, "--strategy", "bogus"}).Code == 2);
  CliResult Seg =
      runCli({"plan", Chain4, "--strategy", "sequential", "--segments", "5"});
  CHECK(Seg.Code == 2);
  CHECK(Seg.Err.find("more than the chain's 4 stages") != std::string::npos);
  CliResult Kinds =
      runCli({"plan", Chain4, "--strategy", "selective", "--kinds", "conv"});
  CHECK(Kinds.Code == 2);
  CHECK(Kinds.Err.find("(its kinds: embedding, attention, mlp)") !=
        std::string::npos);
  CHECK(runCli({"plan", Chain4, "--strategy", "none", "--emit", "xml"}).Code ==
        2);
  CHECK(runCli({"plan", Chain4, "--strategy", "none", "-o",
                "/nonexistent-dir/x.json"})
            .Code == 2);
}

TEST_CASE("cli plan: --help teaches") {
  CliResult R = runCli({"plan", "--help"});
  CHECK(R.Code == 0);
  CHECK(R.Out.find("--strategy") != std::string::npos);
  CHECK(R.Out.find("example") != std::string::npos);
}

// What the optimal planners prove is printed with the plan. chain4 at 72
// bytes: store-all fits (peak 72), so the optimum is its time, 19. chain4
// has 4 stages, few enough for the search over every schedule, which proves
// it among all schedules (with or without memory slots for the DP).
TEST_CASE("cli plan: optimal says what it proved") {
  CliResult Exact = runCli({"plan", Chain4, "--strategy", "optimal", "--budget",
                            "72", "--emit", "text"});
  REQUIRE(Exact.Code == 0);
  CHECK(Exact.Out.find(
            "\n; exhaustive search, proven optimal over all schedules\n") !=
        std::string::npos);

  CliResult Slots = runCli({"plan", Chain4, "--strategy", "optimal", "--budget",
                            "72", "--memory-slots", "72", "--emit", "text"});
  REQUIRE(Slots.Code == 0);
  CHECK(Slots.Out.find(
            "\n; exhaustive search, proven optimal over all schedules\n") !=
        std::string::npos);

  // Five slots of 15 bytes: a grid so coarse that rounding up may lose
  // every plan; the search over every schedule still proves 19.
  TempFile Out("coarse.json");
  CliResult Coarse =
      runCli({"plan", Chain4, "--strategy", "optimal", "--budget", "72",
              "--memory-slots", "5", "-o", Out.path()});
  REQUIRE(Coarse.Code == 0);
  CHECK(Coarse.Err.find(", proven optimal over all schedules\n") !=
        std::string::npos);

  // diamond (its backward derived): with room for everything nothing is
  // recomputed; the graph is small, so the exhaustive search proves the
  // plan optimal over all schedules, and says so.
  CliResult Graph =
      runCli({"plan", sourcePath("tests/data/diamond.json"), "--strategy",
              "optimal", "--budget", "1KiB", "--emit", "text"});
  REQUIRE(Graph.Code == 0);
  CHECK(Graph.Out.find("overhead 0.00%, 0 forward recomputations") !=
        std::string::npos);
  CHECK(Graph.Out.find(
            "\n; exhaustive search, proven optimal over all schedules\n") !=
        std::string::npos);
}

// Twelve stages are more than the search over every schedule takes
// (ChainExhaustiveMaxStages = 9): the DP's result is optimal only among
// persistent schedules, and the CLI says so, also when the budget is
// infeasible. Each stage: output 8, saved 16, fwd 1, bwd 2; x_0 = 8.
TEST_CASE("cli plan: a long chain's optimum names rotor's class") {
  TempFile Model("long12.json", R"({"format": "remat-model", "version": 1,
    "name": "long12", "input_bytes": 8, "loss": {"bwd_time": 1},
    "layers": [{"repeat": 12, "name": "h.{i}", "layers": [
      {"name": "f", "fwd_time": 1, "bwd_time": 2, "output_bytes": 8,
       "saved_bytes": 16}]}]})");
  CliResult Fit = runCli({"plan", Model.path(), "--strategy", "optimal",
                          "--budget", "1KiB", "--emit", "text"});
  REQUIRE_MESSAGE(Fit.Code == 0, Fit.Err);
  CHECK(Fit.Out.find("\n; exact, optimal among persistent schedules "
                     "(rotor's class)\n") != std::string::npos);
  CHECK(Fit.Out.find("proven") == std::string::npos);
  // x_0 and x_1 alone are 16 bytes, so 10 bytes fits no schedule.
  CliResult Tight =
      runCli({"plan", Model.path(), "--strategy", "optimal", "--budget", "10"});
  CHECK(Tight.Code == 3);
  CHECK(Tight.Err.find("strategy 'optimal': budget 10 B (10 bytes) is "
                       "infeasible; the smallest feasible budget for "
                       "persistent schedules (rotor's class) is") !=
        std::string::npos);
}

TEST_CASE("cli plan: graph baselines over budget exit 3 naming the least") {
  // Was exit 2, "internal error: strategy 'chen' produced a plan with peak
  // ... over its budget". The named budget must itself be accepted, and
  // one byte less refused, for each baseline.
  std::string Diamond = sourcePath("tests/data/diamond.json");
  for (const char *Strategy : {"chen", "recompute-all"}) {
    CAPTURE(Strategy);
    auto R = runCli({"plan", Diamond, "--strategy", Strategy, "--budget", "1"});
    CHECK(R.Code == 3);
    CHECK(R.Out.empty());
    std::string Key = "the smallest feasible budget is ";
    size_t At = R.Err.find(Key);
    REQUIRE(At != std::string::npos);
    size_t Open = R.Err.find('(', At);
    uint64_t Least = std::stoull(R.Err.substr(Open + 1));
    CHECK(R.Err == "remat: error: strategy '" + std::string(Strategy) +
                       "': budget 1 B (1 bytes) is infeasible; " + Key +
                       R.Err.substr(At + Key.size()));
    auto Fits = runCli({"plan", Diamond, "--strategy", Strategy, "--budget",
                        std::to_string(Least)});
    CHECK(Fits.Code == 0);
    auto Below = runCli({"plan", Diamond, "--strategy", Strategy, "--budget",
                         std::to_string(Least - 1)});
    CHECK(Below.Code == 3);
    CHECK(Below.Err.find(Key + R.Err.substr(At + Key.size(), 10)) !=
          std::string::npos);
  }
}

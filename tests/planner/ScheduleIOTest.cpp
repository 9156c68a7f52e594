//===- tests/planner/ScheduleIOTest.cpp - Schedule files ------------------===//

#include "SimTestUtil.h"

#include "planner/ChainStrategies.h"
#include "planner/Errors.h"
#include "planner/GraphPlanner.h"
#include "planner/ScheduleIO.h"
#include "planner/Simulator.h"

#include "TestUtil.h"

#include <doctest/doctest.h>

using namespace remat;
using namespace remat::test;

namespace {

/// A header with the hand model's hash around \p Ops (a JSON array).
std::string withOps(const std::string &Ops, const std::string &Extra = "") {
  return R"({"format": "remat-schedule", "version": 1, "model": "hand",
  "model_sha256": ")" +
         std::string(64, 'a') + R"(", "strategy": "x", "budget_bytes": null,
  "predicted": {"peak_bytes": 1, "time": 2.5, "baseline_time": 2,
    "baseline_peak_bytes": 1, "overhead": 0.25,
    "forward_recomputations": 0})" +
         Extra + R"(, "ops": )" + Ops + "}";
}

std::string parseError(const std::string &Text, const Model *M) {
  auto S = parseScheduleText(Text, "s.json", M);
  if (S)
    return "parsed";
  return llvm::toString(S.takeError());
}

} // namespace

TEST_CASE("schedule io: a chain schedule matches its golden file") {
  Model M = chainModel(handChain());
  auto Ops = everyOps(*M.AsChain, 2);
  REQUIRE(Ops);
  auto S = finalizeChainSchedule(M, "every", std::nullopt, *Ops);
  REQUIRE(S);
  // From the simulator tests: peak 150, time 30.5, baseline 21.5 and 155,
  // overhead 30.5 / 21.5 - 1 = 0.41860... -> 0.4186, 3 recomputations.
  CHECK(S->Predicted.PeakBytes == 150);
  CHECK(S->Predicted.BaselinePeakBytes == 155);
  CHECK(S->Predicted.Overhead == doctest::Approx(30.5 / 21.5 - 1));
  std::string Text = scheduleToJson(*S, M);
  CHECK(checkGolden("schedules/hand-every2.json", Text) == "");
  CHECK(Text.find("\"overhead\": 0.4186,") != std::string::npos);
  CHECK(Text.find("\"time\": 30.5,") != std::string::npos);
  CHECK(Text.find("\"budget_bytes\": null,") != std::string::npos);
}

TEST_CASE("schedule io: a graph schedule matches its golden file") {
  Model M = chainModel(handChain());
  auto S =
      finalizeGraphSchedule(M, "none", uint64_t(1000), storeAllGraphOps(M.G));
  REQUIRE(S);
  std::string Text = scheduleToJson(*S, M);
  CHECK(checkGolden("schedules/hand-graph-none.json", Text) == "");
  auto Back = parseScheduleText(Text, "g.json", &M);
  REQUIRE(Back);
  CHECK(Back->dialect() == Dialect::Graph);
  CHECK(Back->graphOps() == S->graphOps());
  CHECK(Back->BudgetBytes == std::optional<uint64_t>(1000));
  CHECK(scheduleToJson(*Back, M) == Text);
}

TEST_CASE("schedule io: whole times print as integers, others round-trip") {
  Model M = chainModel(handChain());
  Schedule S;
  S.Predicted.Time = 125;
  S.Predicted.BaselineTime = 0.1 + 0.2; // 0.30000000000000004
  S.Predicted.Overhead = -1e-17;        // rounds to 0, never "-0"
  std::string Text = scheduleToJson(S, M);
  CHECK(Text.find("\"time\": 125,") != std::string::npos);
  CHECK(Text.find("\"overhead\": 0,") != std::string::npos);
  auto Back = parseScheduleText(Text, "t.json", &M);
  REQUIRE(Back);
  CHECK(Back->Predicted.BaselineTime == 0.1 + 0.2);
  CHECK(Back->chainOps().empty());
}

TEST_CASE("schedule io: malformed files are rejected with exact messages") {
  Model M = chainModel(handChain());
  CHECK(parseError(withOps(R"([{"op": "F_x", "layer": 0}])"), &M) ==
        "s.json: ops[0]: unknown op \"F_x\" (chain ops: F_ck, F_n, F_all, "
        "loss, B; graph ops: compute, free)");
  CHECK(parseError(withOps(R"([{"op": "loss", "layer": 0}])"), &M) ==
        "s.json: ops[0]: unknown field \"layer\"");
  CHECK(parseError(withOps(R"([{"op": "B", "layer": 9, "name": "s9"}])"), &M) ==
        "s.json: ops[0].layer: 9 is out of range (the chain has 3 stages)");
  CHECK(parseError(withOps(R"([{"op": "B", "layer": -1}])"), &M) ==
        "s.json: ops[0].layer: must be a non-negative integer, got -1");
  CHECK(parseError(withOps(R"([{"op": "B", "layer": 1, "name": "s2"}])"), &M) ==
        "s.json: ops[0].name: \"s2\" is not the name of "
        "layer 1 (\"s1\" in hand.json)");
  CHECK(parseError(withOps(R"([{"op": "compute", "node": "nope"}])"), &M) ==
        "s.json: ops[0].node: no node named \"nope\" in hand.json");
  CHECK(parseError(withOps(R"([{"op": "F_ck", "layer": 0},
                               {"op": "free", "node": "x"}])"),
                   &M) ==
        "s.json: ops[1]: op \"free\" mixes the graph and chain dialects");
  CHECK(parseError(withOps("[]", R"(, "extra": 1)"), &M) ==
        "s.json: unknown field \"extra\"");
  CHECK(parseError(R"({"format": "remat-model"})", &M) ==
        "s.json: format: expected \"remat-schedule\", got \"remat-model\"");
  CHECK(parseError(R"({"format": "remat-schedule", "version": 2})", &M) ==
        "s.json: version: unsupported version 2 (this is 1)");
  CHECK(parseError(R"({"format": "remat-schedule", "version": 1})", &M) ==
        "s.json: missing required field \"model\"");
  CHECK(parseError(R"([1, 2])", &M) ==
        "s.json: the top level must be an object, got [1,2]");
  CHECK(parseError("{\"format\": ", &M).rfind("s.json:1:", 0) == 0);
  std::string BadPredicted = withOps("[]");
  BadPredicted.replace(BadPredicted.find("\"time\": 2.5"), 11,
                       "\"time\": \"2\"");
  CHECK(parseError(BadPredicted, &M) ==
        "s.json: predicted.time: time must be a number, got \"2\"");
}

TEST_CASE("schedule io: JSON nested 100000 deep is refused, no crash") {
  // Through `simulate` and `emit` this segfaulted (exit 139).
  std::string Deep = std::string(100000, '[') + std::string(100000, ']');
  CHECK(parseError(withOps(Deep), nullptr) ==
        "s.json: JSON nesting deeper than 512 levels");
  CHECK(parseError(withOps("[]", R"(, "x": )" + Deep), nullptr) ==
        "s.json: JSON nesting deeper than 512 levels");
}

TEST_CASE("schedule io: chain files parse without a model") {
  auto S = parseScheduleText(
      withOps(
          R"([{"op": "F_all", "layer": 4, "name": "deep"}, {"op": "loss"}])"),
      "s.json", nullptr);
  REQUIRE(S);
  CHECK(S->dialect() == Dialect::Chain);
  REQUIRE(S->chainOps().size() == 2);
  CHECK(S->chainOps()[0] == fall(4));
  REQUIRE(S->Names.size() == 5);
  CHECK(S->Names[4] == "deep");
  CHECK(S->Predicted.Time == 2.5);
  // A huge index parses (simulation rejects it) without allocating names.
  auto Huge = parseScheduleText(
      withOps(R"([{"op": "B", "layer": 4000000000, "name": "far"}])"), "s.json",
      nullptr);
  REQUIRE(Huge);
  CHECK(Huge->chainOps()[0] == bwd(4000000000u));
  CHECK(Huge->Names.empty());
}

TEST_CASE("schedule io: the model check names both hashes") {
  Model M = chainModel(handChain());
  auto S = parseScheduleText(withOps("[]"), "s.json", &M);
  REQUIRE(S);
  CHECK(!checkScheduleModel(*S, M, false));
  M.Sha256 = std::string(64, 'b');
  CHECK(llvm::toString(checkScheduleModel(*S, M, false)) ==
        "schedule s.json was made for model sha256 " + std::string(64, 'a') +
            " but hand.json has sha256 " + std::string(64, 'b') +
            "; pass --force to use it anyway");
  CHECK(!checkScheduleModel(*S, M, true));
}

TEST_CASE("schedule io: invalid schedule files fail simulation exactly") {
  // tests/golden/invalid/*.json are well-formed files for the hand chain
  // whose ops break spec §3a; each message is derived by hand in
  // SimulatorTest.cpp's matching case.
  const std::pair<const char *, const char *> Cases[] = {
      {"b-before-loss", "op 3 (B layer 2): y_3 is not resident"},
      {"b-without-xbar", "op 4 (B layer 2): xbar_3 is not resident"},
      {"input-freed", "op 1 (F_ck layer 0): x_0 is not resident"},
      {"loss-without-output", "op 0 (loss): x_3 is not resident"},
      {"incomplete", "schedule is incomplete: y_0 was never produced"},
      {"recompute-resident", "op 1 (F_ck layer 0): x_1 is already resident"},
      {"record-over-plain", "op 1 (F_all layer 0): x_1 is already resident"},
      {"loss-twice", "op 4 (loss): the loss has already run"},
      {"backward-twice", "op 5 (B layer 2): xbar_3 is not resident"},
      {"backward-skips", "op 5 (B layer 0): y_1 is not resident"},
      {"fn-frees-record", "op 5 (B layer 1): xbar_2 is not resident"},
  };
  Model M = chainModel(handChain());
  for (auto [Name, Message] : Cases) {
    CAPTURE(Name);
    auto S = loadScheduleFile(
        sourcePath(std::string("tests/golden/invalid/") + Name + ".json"), &M);
    REQUIRE(S);
    auto R = simulate(M, *S);
    REQUIRE(!R);
    std::string Got;
    llvm::handleAllErrors(
        R.takeError(), [&](const InvalidScheduleError &E) { Got = E.Msg; },
        [&](const llvm::ErrorInfoBase &E) { Got = "other: " + E.message(); });
    CHECK(Got == Message);
  }
}

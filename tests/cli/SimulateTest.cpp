//===- tests/cli/SimulateTest.cpp - remat simulate ------------------------===//

#include "TestUtil.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

using namespace remat::test;

namespace {
const std::string Chain4 = sourcePath("tests/data/chain4.json");

std::string readSource(const std::string &Rel) {
  std::ifstream In(sourcePath(Rel));
  std::stringstream SS;
  SS << In.rdbuf();
  return SS.str();
}
} // namespace

TEST_CASE("cli simulate: plan then simulate gives the same numbers") {
  for (std::vector<std::string> Strategy :
       {std::vector<std::string>{"none"},
        {"sqrt"},
        {"chen"},
        {"sequential", "--segments", "3"},
        {"every", "--k", "3"},
        {"selective", "--kinds", "attention"}}) {
    CAPTURE(Strategy[0]);
    TempFile Plan("plan.json");
    std::vector<std::string> Args = {"plan", Chain4, "--strategy"};
    Args.insert(Args.end(), Strategy.begin(), Strategy.end());
    Args.insert(Args.end(), {"-o", Plan.path()});
    REQUIRE(runCli(Args).Code == 0);
    CliResult R = runCli({"simulate", Chain4, Plan.path(), "--json"});
    REQUIRE(R.Code == 0);
    auto J = nlohmann::json::parse(R.Out);
    auto File = nlohmann::json::parse(Plan.read());
    CHECK(J["valid"] == true);
    CHECK(J["matches"] == true);
    CHECK(J["simulated"]["peak_bytes"] == File["predicted"]["peak_bytes"]);
    CHECK(J["simulated"]["time"] == File["predicted"]["time"]);
    CHECK(J["simulated"]["forward_recomputations"] ==
          File["predicted"]["forward_recomputations"]);
  }
}

TEST_CASE("cli simulate: human report") {
  TempFile Plan("plan.json");
  REQUIRE(
      runCli({"plan", Chain4, "--strategy", "none", "-o", Plan.path()}).Code ==
      0);
  CliResult R = runCli({"simulate", Chain4, Plan.path()});
  CHECK(R.Code == 0);
  CHECK(R.Out.find("valid and complete") != std::string::npos);
  CHECK(R.Out.find("the prediction matches") != std::string::npos);
  // The store-all peak (72) is reached at op 6, the B of h.1.attn.
  CHECK(R.Out.find("the peak (72 bytes) is reached at op 6") !=
        std::string::npos);
}

TEST_CASE("cli simulate: a wrong prediction exits 1") {
  TempFile Plan("plan.json");
  REQUIRE(
      runCli({"plan", Chain4, "--strategy", "none", "-o", Plan.path()}).Code ==
      0);
  std::string Text = Plan.read();
  size_t At = Text.find("\"peak_bytes\": 72");
  REQUIRE(At != std::string::npos);
  Text.replace(At, 16, "\"peak_bytes\": 70");
  TempFile Bad("bad.json", Text);
  CliResult R = runCli({"simulate", Chain4, Bad.path()});
  CHECK(R.Code == 1);
  CHECK(R.Out.find("peak_bytes: simulated 72, file says 70") !=
        std::string::npos);
  CHECK(R.Err.find("does not match") != std::string::npos);
}

TEST_CASE("cli simulate: a peak over the file's own budget exits 1") {
  // Store-all on chain4 peaks at 72 bytes (the test above); a file that
  // claims budget_bytes 71 was reported valid and as predicted, exit 0.
  TempFile Plan("plan.json");
  REQUIRE(
      runCli({"plan", Chain4, "--strategy", "none", "-o", Plan.path()}).Code ==
      0);
  std::string Text = Plan.read();
  size_t At = Text.find("\"budget_bytes\": null");
  REQUIRE(At != std::string::npos);
  Text.replace(At, 20, "\"budget_bytes\": 71");
  TempFile Over("over.json", Text);
  CliResult R = runCli({"simulate", Chain4, Over.path()});
  CHECK(R.Code == 1);
  CHECK(R.Err == "remat: error: the schedule's prediction does not match the "
                 "simulation (peak_bytes: simulated 72, over the file's "
                 "budget_bytes 71)\n");
  CliResult J = runCli({"simulate", Chain4, Over.path(), "--json"});
  CHECK(J.Code == 1);
  CHECK(nlohmann::json::parse(J.Out)["matches"] == false);
  // At exactly the peak it is fine.
  Text.replace(At, 18, "\"budget_bytes\": 72");
  TempFile At72("at.json", Text);
  CliResult Ok = runCli({"simulate", Chain4, At72.path()});
  CHECK_MESSAGE(Ok.Code == 0, Ok.Err);
}

TEST_CASE("cli simulate: an invalid schedule exits 1 naming the op") {
  TempFile Plan("plan.json");
  REQUIRE(
      runCli({"plan", Chain4, "--strategy", "none", "-o", Plan.path()}).Code ==
      0);
  std::string Text = Plan.read();
  // Drop the loss: op 4 becomes B of head, whose y_4 was never produced.
  size_t At = Text.find("    {\"op\": \"loss\"},\n");
  REQUIRE(At != std::string::npos);
  Text.erase(At, std::string("    {\"op\": \"loss\"},\n").size());
  TempFile Bad("bad.json", Text);
  CliResult R = runCli({"simulate", Chain4, Bad.path()});
  CHECK(R.Code == 1);
  CHECK(R.Err == "remat: error: invalid schedule: op 4 (B layer 3): y_4 is "
                 "not resident\n");
  CliResult J = runCli({"simulate", Chain4, Bad.path(), "--json"});
  CHECK(J.Code == 1);
  CHECK(nlohmann::json::parse(J.Out)["valid"] == false);
}

TEST_CASE("cli simulate: another model's schedule needs --force") {
  TempFile Plan("plan.json");
  REQUIRE(
      runCli({"plan", Chain4, "--strategy", "sqrt", "-o", Plan.path()}).Code ==
      0);
  // Same stages, different bytes (description), so a different sha256.
  std::string Model = readSource("tests/data/chain4.json");
  size_t At = Model.find("four hand-made stages");
  REQUIRE(At != std::string::npos);
  Model.replace(At, 4, "FOUR");
  TempFile Other("other.json", Model);
  CliResult R = runCli({"simulate", Other.path(), Plan.path()});
  CHECK(R.Code == 2);
  CHECK(R.Err.find("was made for model sha256") != std::string::npos);
  CHECK(R.Err.find("pass --force to use it anyway") != std::string::npos);
  CHECK(runCli({"simulate", Other.path(), Plan.path(), "--force"}).Code == 0);
}

TEST_CASE("cli simulate: malformed files exit 2") {
  TempFile Bad("bad.json", "{\"format\": \"remat-schedule\", \"version\": 1, "
                           "\"ops\": [{\"op\": \"F_x\"}]}");
  CliResult R = runCli({"simulate", Chain4, Bad.path()});
  CHECK(R.Code == 2);
  CHECK(R.Err.rfind("remat: error: " + Bad.path() + ": ", 0) == 0);
  CHECK(runCli({"simulate", Chain4}).Code == 2);
  CHECK(runCli({"simulate", "--help"}).Code == 0);
}

TEST_CASE("cli simulate: --svg draws the memory timeline with the budget") {
  // chain4's store-all peak is 72 bytes (tests/cli/InspectTest.cpp); a
  // 60-byte budget forces recomputation, and the plan records the budget,
  // so the plot must carry a budget line next to the resident curve.
  TempFile Plan("plan.json");
  REQUIRE(runCli({"plan", Chain4, "--strategy", "optimal", "--budget", "60",
                  "-o", Plan.path()})
              .Code == 0);
  TempFile Svg("memory.svg");
  CliResult R = runCli({"simulate", Chain4, Plan.path(), "--svg", Svg.path()});
  REQUIRE(R.Code == 0);
  std::string Text = Svg.read();
  CHECK(Text.rfind("<svg", 0) == 0);
  CHECK(Text.find("budget") != std::string::npos);
  CHECK(Text.find("resident") != std::string::npos);
  CHECK(Text.find("</svg>") != std::string::npos);
}

//===- tests/cli/InspectTest.cpp - remat inspect --------------------------===//

#include "TestUtil.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace remat;

namespace {
std::string chain4() { return test::sourcePath("tests/data/chain4.json"); }
} // namespace

// tests/data/chain4.json: x0 = 4 bytes; stages embed (out 8, saved 8),
// h.0.attn and h.1.attn (out 8, saved 20, bwd_workspace 4), head (out 2,
// saved 6, fwd_workspace 3); loss bwd_time 1, bwd_workspace 2.
//
// Store everything under spec §3a: F_all 0..3, loss, B 3..0.
//   start      {x0}                          4
//   F_all 0    + x̄1 (8)                     12
//   F_all 1    + x̄2 (20)                    32
//   F_all 2    + x̄3 (20)                    52
//   F_all 3    + x̄4 (6) = 58, + ws 3        61
//   loss       + y4 (|x4| = 2) = 60, + ws 2 62  (x4 is recorded, not plain)
//   B 3        + y3 (8) = 68                68, then frees y4, x̄4 -> 60
//   B 2        + y2 (8) = 68, + ws 4        72, then frees y3, x̄3 -> 40
//   B 1        + y1 (8) = 48, + ws 4        52, then frees y2, x̄2 -> 20
//   B 0        + y0 (4) = 24                24
// Peak 72 bytes. Time: forward 1+2+2+1 = 6, backward 2+4+4+2 = 12, loss 1:
// 19 ms. Static 1 KiB + 1024 + 2 KiB = 4096 bytes; with the peak 4168.
TEST_CASE("inspect: chain summary with the store-everything plan") {
  test::CliResult R = test::runCli({"inspect", chain4(), "--json"});
  REQUIRE(R.Code == 0);
  CHECK(R.Err == "");
  nlohmann::json J = nlohmann::json::parse(R.Out);
  CHECK(J["name"] == "chain4");
  CHECK(J["form"] == "chain");
  CHECK(J["recognised_as_chain"] == false);
  CHECK(J["layers"] == 4);
  CHECK(J["input_bytes"] == 4);
  CHECK(J["output_bytes_total"] == 8 + 8 + 8 + 2);
  CHECK(J["saved_bytes_total"] == 8 + 20 + 20 + 6);
  CHECK(J["static_bytes"]["total"] == 4096);
  CHECK(J["store_all"]["peak_bytes"] == 72);
  CHECK(J["store_all"]["peak_with_static_bytes"] == 4168);
  CHECK(J["store_all"]["time"] == 19.0);
  CHECK(J["kinds"] ==
        nlohmann::json({{"attention", 2}, {"embedding", 1}, {"mlp", 1}}));
  // Largest by saved bytes; the two 20-byte ties keep file order.
  std::vector<std::string> Largest;
  for (const auto &E : J["largest_layers"])
    Largest.push_back(E["name"]);
  CHECK(Largest ==
        std::vector<std::string>{"h.0.attn", "h.1.attn", "embed", "head"});
  // x0 + 4 stages + 3 saved extras (h.0, h.1, head) forward, one loss, four
  // backward nodes.
  CHECK(J["nodes"]["forward"] == 8);
  CHECK(J["nodes"]["backward"] == 4);
}

TEST_CASE("inspect: human output") {
  test::CliResult R = test::runCli({"inspect", chain4()});
  REQUIRE(R.Code == 0);
  CHECK(R.Err == "");
  // The golden file must not depend on where the checkout lives.
  size_t At = R.Out.find(chain4());
  REQUIRE(At != std::string::npos);
  R.Out.replace(At, chain4().size(), "tests/data/chain4.json");
  // The figures are checked by hand above; the golden file pins the layout.
  CHECK(test::checkGolden("inspect/chain4.txt", R.Out) == "");
  CHECK(R.Out.find("  peak                72 B\n") != std::string::npos);
  CHECK(R.Out.find("  time                19.000 ms\n") != std::string::npos);
}

TEST_CASE("inspect: graph form") {
  test::CliResult R = test::runCli(
      {"inspect", test::sourcePath("tests/data/diamond.json"), "--json"});
  REQUIRE(R.Code == 0);
  nlohmann::json J = nlohmann::json::parse(R.Out);
  CHECK(J["form"] == "graph");
  CHECK(J["layers"].is_null());
  CHECK(J["input_bytes"].is_null());
  // Forward a 8 + b 6 + c 2 + d 4.
  CHECK(J["output_bytes_total"] == 20);
  CHECK(J["nodes"]["total"] == 9);
  // Every node computed once: forward 1+2+3+1 = 7, loss 0, backward twice
  // that = 14.
  CHECK(J["store_all"]["time"] == 21.0);
  CHECK(J["largest_nodes"][0]["name"] == "a");
}

// tests/data/path3.json: forward path p0 (time 1, 10 bytes) -> p1 (2, 20) ->
// p2 (3, 30), loss (time 0, 30 bytes), backward g.p2 (6, 20), g.p1 (4, 10),
// g.p0 (2, 0): a chain with x0 = 0 bytes, stages saving just their outputs,
// backward times 6, 4, 2 from the last stage down, loss 0.
// Store everything (spec §3a): F_all 0..2 -> 10, 30, 60; loss + y3 (30) ->
// 90; B 2 + y2 (20) -> 110, frees y3, x̄3 -> 50; B 1 + y1 (10) -> 60, frees
// -> 20; B 0 + y0 (0) -> 20. Peak 110. Time 1+2+3 + 2+4+6 + 0 = 18.
TEST_CASE("inspect: graph form recognised as a chain") {
  test::CliResult R = test::runCli(
      {"inspect", test::sourcePath("tests/data/path3.json"), "--json"});
  REQUIRE(R.Code == 0);
  nlohmann::json J = nlohmann::json::parse(R.Out);
  CHECK(J["form"] == "graph");
  CHECK(J["recognised_as_chain"] == true);
  CHECK(J["layers"] == 3);
  CHECK(J["input_bytes"] == 0);
  CHECK(J["saved_bytes_total"] == 60);
  CHECK(J["store_all"]["peak_bytes"] == 110);
  CHECK(J["store_all"]["time"] == 18.0);
  CHECK(J["largest_layers"][0]["name"] == "p2");
  CHECK(J["largest_layers"][0]["bwd_time"] == 6.0);
}

TEST_CASE("inspect: bad input is exit 2 with one line") {
  test::TempFile Bad("bad.json",
                     R"({"format": "remat-model", "version": 1, "name": "t",
  "input_bytes": 4, "layers": [{"name": "a", "fwd_time": 1, "bwd_time": 2,
  "output_bytes": 8, "saved_bytes": 4}]})");
  test::CliResult R = test::runCli({"inspect", Bad.path()});
  CHECK(R.Code == 2);
  CHECK(R.Out == "");
  CHECK(R.Err == "remat: error: " + Bad.path() +
                     ": layers[0] (\"a\"): saved_bytes (4) is smaller than "
                     "output_bytes (8)\n");

  test::TempFile Trunc("trunc.json", "{\"format\": \"remat-model\",\n\"nam");
  R = test::runCli({"inspect", Trunc.path(), "--json"});
  CHECK(R.Code == 2);
  CHECK(R.Out == "");
  // Line 2 is `"nam`: the input ends at column 5.
  CHECK(R.Err == "remat: error: " + Trunc.path() +
                     ":2:5: invalid JSON: syntax error while parsing object "
                     "key - invalid string: missing closing quote; last read: "
                     "'\"nam'; expected string literal\n");

  R = test::runCli({"inspect", "no/such.json"});
  CHECK(R.Code == 2);
  CHECK(R.Err == "remat: error: no/such.json: cannot read file: No such file "
                 "or directory\n");

  R = test::runCli({"inspect"});
  CHECK(R.Code == 2);
  CHECK(R.Out == "");

  // A directory, and 100000 nested lists (no stack overflow).
  std::string Dir = test::sourcePath("tests/data");
  R = test::runCli({"inspect", Dir});
  CHECK(R.Code == 2);
  CHECK(R.Err ==
        "remat: error: " + Dir + ": cannot read file: Is a directory\n");
  test::TempFile Deep("deep.json",
                      std::string(100000, '[') + std::string(100000, ']'));
  R = test::runCli({"inspect", Deep.path(), "--json"});
  CHECK(R.Code == 2);
  CHECK(R.Out == "");
  CHECK(R.Err == "remat: error: " + Deep.path() +
                     ": JSON nesting deeper than 512 levels\n");
  // The issue's reproducer: the deep value beside valid fields segfaulted.
  test::TempFile Beside("beside.json", "{\"x\":" + std::string(100000, '[') +
                                           std::string(100000, ']') +
                                           ",\"y\":1}");
  R = test::runCli({"inspect", Beside.path()});
  CHECK(R.Code == 2);
  CHECK(R.Out == "");
  CHECK(R.Err == "remat: error: " + Beside.path() +
                     ": JSON nesting deeper than 512 levels\n");
}

TEST_CASE("inspect: every malformed file in tests/data/bad is exit 2") {
  // Each file is a different malformed model; the exact messages are checked
  // in tests/graph/ModelLoaderTest.cpp, here only the command's contract.
  for (const char *Name :
       {"cycle.json", "unknown-input.json", "float-size.json",
        "dup-after-repeat.json", "both-forms.json", "bad-phase.json"}) {
    INFO(Name);
    test::CliResult R = test::runCli(
        {"inspect", test::sourcePath(std::string("tests/data/bad/") + Name)});
    CHECK(R.Code == 2);
    CHECK(R.Out == "");
    CHECK(R.Err.rfind("remat: error: ", 0) == 0);
    CHECK(std::count(R.Err.begin(), R.Err.end(), '\n') == 1);
  }
}

TEST_CASE("inspect: --help teaches") {
  test::CliResult R = test::runCli({"inspect", "--help"});
  CHECK(R.Code == 0);
  CHECK(R.Out.find("usage: remat inspect MODEL [--json]") != std::string::npos);
  CHECK(R.Out.find("examples:") != std::string::npos);
  CHECK(R.Out.find("--json") != std::string::npos);
}

TEST_CASE("inspect, plan: control characters in names are escaped in text") {
  // Names with ESC, NUL, a newline and RLO (U+202E) were printed raw: they
  // could clear the screen, cut a line or reverse what a reader sees.
  test::TempFile M(
      "cc.json",
      R"({"format":"remat-model","version":1,"name":"m\u001b[2J\n",)"
      R"("description":"d\u202e","input_bytes":4,"layers":[)"
      R"({"name":"a\u0000b\nc","kind":"k\u001b","fwd_time":1,"bwd_time":2,)"
      R"("output_bytes":8,"saved_bytes":8}]})");
  auto Clean = [](const std::string &Out) {
    for (char C : Out)
      if ((static_cast<unsigned char>(C) < 0x20 && C != '\n') || C == 0x7f)
        return false;
    return Out.find("\xE2\x80\xAE") == std::string::npos;
  };
  auto R = test::runCli({"inspect", M.path()});
  REQUIRE(R.Code == 0);
  CHECK(Clean(R.Out));
  CHECK(R.Out.find("model m\\x1b[2J\\n\n") == 0);
  CHECK(R.Out.find("  description         d\\u202e\n") != std::string::npos);
  CHECK(R.Out.find("  a\\x00b\\nc  k\\x1b ") != std::string::npos);
  R = test::runCli({"plan", M.path(), "--strategy", "none", "--emit", "text"});
  REQUIRE(R.Code == 0);
  CHECK(Clean(R.Out));
  CHECK(R.Out.find("a\\x00b\\nc") != std::string::npos);
  // JSON output keeps the names exactly (escaped the JSON way).
  R = test::runCli({"inspect", M.path(), "--json"});
  REQUIRE(R.Code == 0);
  CHECK(R.Out.find(R"("a\u0000b\nc")") != std::string::npos);
}

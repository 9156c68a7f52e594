//===- tests/cli/EmitTest.cpp - `remat emit` end to end -------------------===//
//
// Golden outputs of every target for three schedules of a 4-stage model:
// store-all, checkpoint_sequential with 2 segments, and a hand-written
// two-level plan (x_0 and x_2 kept; stages 0 and 2 run three times). The
// schedules are written from the spec (§3a), not by a planner.
//
// The costs in the golden files were checked by hand (sizes below; y_i has
// the size of x_i):
// - store-all: x0 + x̄1..x̄4 = 1000+1000+5000+5000+4000 = 16000, loss +y4
//   = 18000, B 3 +y3 = 19000 B (18.55 KiB); time = fwd 5.5 + bwd 11 + loss
//   0.5 = 17 ms.
// - sequential: peak 14000 B (13.67 KiB, see the --json case); time 17 +
//   recomputed 0.5 + 2 = 19.5 ms.
// - two-level: {x0,x2,x4} 4000 after F_n 3, loss +y4 = 6000, frees x4,
//   F_ck 2 +x3, F_all 3 +x̄4, B 3 +y3 = 10000 B (9.77 KiB); time 17 +
//   2x0.5 + 2 + 2x2 + 1 = 25 ms.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "graph/ModelLoader.h"
#include "planner/ScheduleIO.h"
#include "planner/Simulator.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

using namespace remat;
using remat::test::checkGolden;
using remat::test::runCli;
using remat::test::TempFile;

namespace {

const char *ModelText = R"({
  "format": "remat-model", "version": 1, "name": "toy4",
  "input_bytes": 1000,
  "loss": {"bwd_time": 0.5},
  "layers": [
    {"name": "embed", "kind": "embedding", "fwd_time": 0.5, "bwd_time": 1,
     "output_bytes": 1000, "saved_bytes": 1000},
    {"name": "h0", "kind": "block", "fwd_time": 2, "bwd_time": 4,
     "output_bytes": 1000, "saved_bytes": 5000},
    {"name": "h1", "kind": "block", "fwd_time": 2, "bwd_time": 4,
     "output_bytes": 1000, "saved_bytes": 5000},
    {"name": "head", "kind": "head", "fwd_time": 1, "bwd_time": 2,
     "output_bytes": 2000, "saved_bytes": 4000}
  ]
}
)";

ChainOp op(ChainOpKind K, unsigned L = 0) { return {K, L}; }

using K = ChainOpKind;

std::vector<ChainOp> storeAll() {
  return {op(K::FAll, 0), op(K::FAll, 1), op(K::FAll, 2),
          op(K::FAll, 3), op(K::Loss),    op(K::B, 3),
          op(K::B, 2),    op(K::B, 1),    op(K::B, 0)};
}

/// checkpoint_sequential(blocks, 2): [0,2) checkpointed, [2,4) plain.
std::vector<ChainOp> sequential2() {
  return {op(K::FCk, 0),  op(K::FN, 1), op(K::FAll, 2), op(K::FAll, 3),
          op(K::Loss),    op(K::B, 3),  op(K::B, 2),    op(K::FAll, 0),
          op(K::FAll, 1), op(K::B, 1),  op(K::B, 0)};
}

/// Keeps x_0 and x_2. In the backward of [2,4), x_3 is recomputed from x_2
/// without recording before stage 3 is recorded; likewise x_1 from x_0.
std::vector<ChainOp> twoLevel() {
  return {op(K::FCk, 0),  op(K::FN, 1),   op(K::FCk, 2),  op(K::FN, 3),
          op(K::Loss),    op(K::FCk, 2),  op(K::FAll, 3), op(K::B, 3),
          op(K::FAll, 2), op(K::B, 2),    op(K::FCk, 0),  op(K::FAll, 1),
          op(K::B, 1),    op(K::FAll, 0), op(K::B, 0)};
}

/// The model and schedule files of one case.
struct Files {
  TempFile ModelFile{"toy4.json", ModelText};
  std::unique_ptr<TempFile> Sched;

  explicit Files(std::vector<ChainOp> Ops) {
    auto M = parseModelText(ModelText, ModelFile.path());
    REQUIRE_MESSAGE(static_cast<bool>(M), toString(M.takeError()));
    auto S = finalizeChainSchedule(*M, "hand", std::nullopt, std::move(Ops));
    REQUIRE_MESSAGE(static_cast<bool>(S), toString(S.takeError()));
    Sched = std::make_unique<TempFile>("s.json", scheduleToJson(*S, *M));
  }
};

void goldenAllTargets(const std::string &Case, std::vector<ChainOp> Ops) {
  Files F(std::move(Ops));
  for (const char *T :
       {"pytorch", "hf", "megatron", "deepspeed", "torchtitan", "jax"}) {
    auto R = runCli({"emit", F.Sched->path(), "--target", T, "--model",
                     F.ModelFile.path()});
    INFO("target ", T, ": ", R.Err);
    CHECK(R.Code == 0);
    CHECK(R.Err.empty());
    CHECK(checkGolden("emit/" + Case + "-" + T + ".txt", R.Out) == "");
  }
}

} // namespace

TEST_CASE("cli emit: golden output, store-all schedule") {
  goldenAllTargets("none", storeAll());
}

TEST_CASE("cli emit: golden output, checkpoint_sequential schedule") {
  goldenAllTargets("sequential", sequential2());
}

TEST_CASE("cli emit: golden output, two-level schedule") {
  goldenAllTargets("twolevel", twoLevel());
}

TEST_CASE("cli emit: without --model the cost is asked for") {
  Files F(twoLevel());
  auto R = runCli({"emit", F.Sched->path(), "--target", "megatron"});
  CHECK(R.Code == 0);
  CHECK(checkGolden("emit/twolevel-megatron-nomodel.txt", R.Out) == "");
}

TEST_CASE("cli emit: --json is one object; -o writes the file") {
  Files F(sequential2());
  auto R = runCli({"emit", F.Sched->path(), "--target", "megatron", "--json",
                   "--model", F.ModelFile.path()});
  REQUIRE(R.Code == 0);
  auto J = nlohmann::json::parse(R.Out);
  CHECK(J["target"] == "megatron");
  // [0,2) as one checkpoint with [2,4) stored is neither uniform (all
  // chunks checkpointed) nor block (one layer per checkpoint). Peaks by
  // hand (x_0..x_3 1000 B, x_4 2000 B, x̄ 1000/5000/5000/4000 B; y as x):
  // - schedule: {x0,x2} 2000 + x̄3 + x̄4 = 11000, loss +y4 = 13000, B 3 +y3
  //   = 14000;
  // - block 2 (layers 0, 1 alone) also keeps x1: 15000 at B 3, too much;
  // - block 3 keeps x0..x3 (4000) + x̄4 = 8000, +y4 = 10000, +y3 = 11000,
  //   then B 2 after F_all 2: 4000 - x3 + ... stays below: peak 11000.
  // So the nearest is block 3, which also recomputes layer 2.
  CHECK(J["exact"] == false);
  CHECK(J["schedule_cost"]["peak_bytes"] == 14000);
  CHECK(J["nearest"]["cost"]["peak_bytes"] == 11000);
  CHECK(J["nearest"]["fits_schedule_peak"] == true);
  CHECK(J["nearest"]["differing_layers"] == 1);
  CHECK(J["plan"]["config"]["recompute_method"] == "block");
  CHECK(J["plan"]["config"]["recompute_num_layers"] == 3);
  TempFile Out("plan.json");
  auto W = runCli(
      {"emit", F.Sched->path(), "--target", "pytorch", "-o", Out.path()});
  CHECK(W.Code == 0);
  CHECK(W.Out.empty());
  auto Plan = nlohmann::json::parse(Out.read());
  CHECK(Plan["format"] == "remat-torch-plan");
  CHECK(Plan["ops"].size() == 11);
}

TEST_CASE("cli emit: bad input exits 2 with one line") {
  Files F(storeAll());
  auto NoTarget = runCli({"emit", F.Sched->path()});
  CHECK(NoTarget.Code == 2);
  CHECK(NoTarget.Err.find("--target") != std::string::npos);
  auto Unknown = runCli({"emit", F.Sched->path(), "--target", "keras"});
  CHECK(Unknown.Code == 2);
  CHECK(Unknown.Err ==
        "remat: error: --target 'keras' is unknown; use one of pytorch, hf, "
        "megatron, deepspeed, torchtitan, jax\n");
  auto Missing = runCli({"emit", "/nonexistent/s.json", "--target", "hf"});
  CHECK(Missing.Code == 2);
  CHECK(Missing.Out.empty());
  for (const auto *R : {&NoTarget, &Unknown, &Missing}) {
    CHECK(R->Err.rfind("remat: error: ", 0) == 0);
    CHECK(std::count(R->Err.begin(), R->Err.end(), '\n') == 1);
  }
  CHECK(Missing.Err.find("/nonexistent/s.json") != std::string::npos);
  // A chain schedule against a graph model (--force skips the sha256 check).
  std::string Graph = remat::test::sourcePath("tests/data/diamond.json");
  auto Mismatch = runCli(
      {"emit", F.Sched->path(), "--target", "hf", "--model", Graph, "--force"});
  CHECK(Mismatch.Code == 2);
  CHECK(Mismatch.Out.empty());
  CHECK(Mismatch.Err == "remat: error: " + Graph +
                            ": the schedule is in the chain dialect but the "
                            "model is a graph\n");
  // 100000 nested lists: one line, no stack overflow.
  TempFile Deep("deep.json",
                std::string(100000, '[') + std::string(100000, ']'));
  auto D = runCli({"emit", Deep.path(), "--target", "hf"});
  CHECK(D.Code == 2);
  CHECK(D.Out.empty());
  CHECK(D.Err == "remat: error: " + Deep.path() +
                     ": JSON nesting deeper than 512 levels\n");
  auto Help = runCli({"emit", "--help"});
  CHECK(Help.Code == 0);
  CHECK(Help.Out.find("--target") != std::string::npos);
}

TEST_CASE("cli emit: graph schedules give a per-node list for jax only") {
  std::string Model = remat::test::sourcePath("data/models/sd21-unet.json");
  TempFile Sched("g.json");
  auto P = runCli({"plan", Model, "--strategy", "none", "-o", Sched.path()});
  REQUIRE_MESSAGE(P.Code == 0, P.Err);
  auto Bad =
      runCli({"emit", Sched.path(), "--target", "megatron", "--model", Model});
  CHECK(Bad.Code == 2);
  CHECK(Bad.Err.find("graph dialect") != std::string::npos);
  auto R = runCli(
      {"emit", Sched.path(), "--target", "jax", "--json", "--model", Model});
  REQUIRE_MESSAGE(R.Code == 0, R.Err);
  auto J = nlohmann::json::parse(R.Out);
  // Store-all computes every node once: every forward node of the file is
  // saved, none recomputed.
  std::ifstream In(Model);
  auto File = nlohmann::json::parse(In);
  size_t Forward = 0;
  for (const auto &N : File["graph"]["nodes"])
    Forward += N["phase"] == "forward";
  CHECK(J["plan"]["config"]["saved_names"].size() == Forward);
  CHECK(J["exact"] == false);
}

TEST_CASE("cli emit: hf on llama2-7b numbers its 32 decoder layers") {
  // llama2-7b.json: embed, layers.N.attn and layers.N.mlp for N < 32, head
  // (66 stages). Every index Hugging Face gets must be a decoder layer
  // (< 32), named layers.N.
  std::string Model = remat::test::sourcePath("data/models/llama2-7b.json");
  TempFile Sched("s.json");
  auto P = runCli({"plan", Model, "--strategy", "sqrt", "-o", Sched.path()});
  REQUIRE_MESSAGE(P.Code == 0, P.Err);
  auto R = runCli(
      {"emit", Sched.path(), "--target", "hf", "--json", "--model", Model});
  REQUIRE_MESSAGE(R.Code == 0, R.Err);
  auto J = nlohmann::json::parse(R.Out);
  REQUIRE(J["layers"].size() == 66);
  const auto &Idx = J["plan"]["config"]["checkpointed_layers"];
  const auto &Names = J["plan"]["config"]["remat_layer_names"];
  REQUIRE(!Idx.empty());
  REQUIRE(Idx.size() == Names.size());
  for (size_t K = 0; K < Idx.size(); ++K) {
    unsigned I = Idx[K];
    CHECK(I < 32);
    CHECK(Names[K] == "layers." + std::to_string(I));
  }
  // The snippet finds the model's own layers (GradientCheckpointingLayer
  // modules), not a hard-coded path, and checks their number (32).
  const std::string Snip = J["plan"]["snippet"].get<std::string>();
  CHECK(Snip.find("model.model.layers") == std::string::npos);
  CHECK(Snip.find("assert len(layers) == 32") != std::string::npos);
}

TEST_CASE(
    "cli emit: jax runs revolve and optimal plans as nested checkpoints") {
  // revolve and the optimal plan at its least budget recompute at several
  // levels; both recompute in nested order, which nested jax.checkpoint
  // runs exactly (the reader also checks the ops round-trip).
  std::string Model = remat::test::sourcePath("tests/data/emit_layers.json");
  for (std::vector<std::string> Args :
       {std::vector<std::string>{"revolve", "--slots", "2"},
        std::vector<std::string>{"revolve", "--slots", "3"}}) {
    TempFile Sched("s.json");
    std::vector<std::string> Cmd{"plan", Model, "--strategy"};
    Cmd.insert(Cmd.end(), Args.begin(), Args.end());
    Cmd.insert(Cmd.end(), {"-o", Sched.path()});
    auto P = runCli(Cmd);
    REQUIRE_MESSAGE(P.Code == 0, P.Err);
    auto J = runCli(
        {"emit", Sched.path(), "--target", "jax", "--json", "--model", Model});
    REQUIRE_MESSAGE(J.Code == 0, J.Err);
    auto Doc = nlohmann::json::parse(J.Out);
    INFO(Args[2]);
    CHECK(Doc["multi_level"] == true);
    CHECK(Doc["exact"] == true);
    CHECK(Doc["plan"]["config"]["levels"] >= 2);
  }
}

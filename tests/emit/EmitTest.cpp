//===- tests/emit/EmitTest.cpp - Schedules as trainer settings ------------===//
//
// Op lists are written here from the spec (§3a), independently of the
// planners, so the analysis is checked against plans whose shape is known.
//
//===----------------------------------------------------------------------===//

#include "emit/Emit.h"
#include "emit/Trainer.h"

#include "TestUtil.h"
#include "graph/ModelLoader.h"
#include "planner/Simulator.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <sys/wait.h>
#include <vector>

using namespace remat;

namespace {

struct Seg {
  unsigned Begin, End;
  bool Ckpt;
};

/// A single-level plan: stored segments record (F_all); checkpointed ones
/// keep their input (F_ck, then F_n) and are re-run recording after the
/// loss, right before their backward.
std::vector<ChainOp> segOps(const std::vector<Seg> &Segs) {
  std::vector<ChainOp> Ops;
  for (const Seg &S : Segs)
    for (unsigned I = S.Begin; I < S.End; ++I)
      Ops.push_back({!S.Ckpt        ? ChainOpKind::FAll
                     : I == S.Begin ? ChainOpKind::FCk
                                    : ChainOpKind::FN,
                     I});
  Ops.push_back({ChainOpKind::Loss, 0});
  for (auto It = Segs.rbegin(); It != Segs.rend(); ++It) {
    if (It->Ckpt)
      for (unsigned I = It->Begin; I < It->End; ++I)
        Ops.push_back({ChainOpKind::FAll, I});
    for (unsigned I = It->End; I-- > It->Begin;)
      Ops.push_back({ChainOpKind::B, I});
  }
  return Ops;
}

/// Keeps only x_0; before B t, recomputes x_t from x_0 without recording.
/// Stage i runs L + 1 - i times (once before the loss, once for each later
/// t > i, once recording).
std::vector<ChainOp> quadraticOps(unsigned L) {
  std::vector<ChainOp> Ops{{ChainOpKind::FCk, 0}};
  for (unsigned I = 1; I < L; ++I)
    Ops.push_back({ChainOpKind::FN, I});
  Ops.push_back({ChainOpKind::Loss, 0});
  for (unsigned T = L; T-- > 0;) {
    for (unsigned I = 0; I < T; ++I)
      Ops.push_back({I == 0 ? ChainOpKind::FCk : ChainOpKind::FN, I});
    Ops.push_back({ChainOpKind::FAll, T});
    Ops.push_back({ChainOpKind::B, T});
  }
  return Ops;
}

Schedule chainSchedule(std::vector<ChainOp> Ops, unsigned L) {
  Schedule S;
  S.ModelName = "toy";
  S.Strategy = "hand";
  S.Ops = std::move(Ops);
  for (unsigned I = 0; I < L; ++I)
    S.Names.push_back("l" + std::to_string(I));
  return S;
}

/// L identical stages; kinds alternate attention/mlp.
Model toyModel(unsigned L) {
  Model M;
  M.Name = "toy";
  M.Path = "toy.json";
  Chain C;
  C.InputBytes = 10;
  for (unsigned I = 0; I < L; ++I)
    C.Stages.push_back({"l" + std::to_string(I), I % 2 ? "mlp" : "attention",
                        1.0, 2.0, 10, 30, 0, 0});
  M.AsChain = C;
  return M;
}

std::vector<Segment> segs(const std::vector<Seg> &In) {
  std::vector<Segment> Out;
  for (const Seg &S : In)
    Out.push_back({S.Begin, S.End, S.Ckpt});
  return Out;
}

/// The trainer spelled \p Name; the test fails when there is none.
const Trainer &trainer(const char *Name) {
  const Trainer *T = findTrainer(Name);
  REQUIRE_MESSAGE(T != nullptr, Name);
  return *T;
}

EmitResult emitOk(const Schedule &S, const Trainer &T,
                  const Model *M = nullptr) {
  auto R = emitSchedule(S, T, M);
  REQUIRE_MESSAGE(static_cast<bool>(R), toString(R.takeError()));
  return std::move(*R);
}

} // namespace

TEST_CASE("emit analysis: store-all is one stored segment") {
  auto A = analyzeChainOps(segOps({{0, 4, false}}), 4, {});
  REQUIRE(static_cast<bool>(A));
  CHECK_FALSE(A->MultiLevel);
  CHECK(A->Segments == segs({{0, 4, false}}));
  for (const StageDecision &D : A->Stages)
    CHECK(D.ForwardCount == 1);
  CHECK(A->Stages[2].Name == "stage2"); // no names given
}

TEST_CASE("emit analysis: checkpointed segments run twice, boundaries kept") {
  // [0,2) and [2,3) checkpointed back to back, [3,5) stored.
  auto A = analyzeChainOps(segOps({{0, 2, true}, {2, 3, true}, {3, 5, false}}),
                           5, {});
  REQUIRE(static_cast<bool>(A));
  CHECK_FALSE(A->MultiLevel);
  CHECK(A->Segments == segs({{0, 2, true}, {2, 3, true}, {3, 5, false}}));
  std::vector<unsigned> Counts;
  for (const StageDecision &D : A->Stages)
    Counts.push_back(D.ForwardCount);
  CHECK(Counts == std::vector<unsigned>{2, 2, 2, 1, 1});
}

TEST_CASE("emit analysis: nested recomputation is multi-level") {
  auto A = analyzeChainOps(quadraticOps(4), 4, {});
  REQUIRE(static_cast<bool>(A));
  CHECK(A->MultiLevel);
  // L + 1 - i with L = 4.
  for (unsigned I = 0; I < 4; ++I)
    CHECK(A->Stages[I].ForwardCount == 5 - I);
  CHECK(A->Segments == segs({{0, 4, true}}));
}

TEST_CASE("emit analysis: operands must be resident") {
  std::vector<ChainOp> Ops{{ChainOpKind::FN, 0}, {ChainOpKind::FAll, 0}};
  auto A = analyzeChainOps(Ops, 2, {});
  REQUIRE_FALSE(static_cast<bool>(A));
  CHECK(toString(A.takeError()) == "op 1 (F_all layer 0): x_0 is not resident");
  auto B = analyzeChainOps(segOps({{0, 2, false}}), 1, {});
  REQUIRE_FALSE(static_cast<bool>(B));
  CHECK(toString(B.takeError()).find("out of range") != std::string::npos);
}

TEST_CASE("emit analysis: a huge layer index fails fast") {
  // Without a model the stage count comes from the ops. Store-all over 4
  // stages is 9 ops (4 F_all, loss, 4 B), so no valid schedule of 9 ops
  // names layer 4000000000; it used to size the tables by it (gigabytes).
  std::vector<ChainOp> Ops = segOps({{0, 4, false}});
  REQUIRE(Ops.size() == 9);
  Ops[3].Layer = 4'000'000'000u;
  auto R = emitSchedule(chainSchedule(Ops, 0), trainer("hf"), nullptr);
  REQUIRE_FALSE(static_cast<bool>(R));
  CHECK(toString(R.takeError()) ==
        "op 3 (F_all layer 4000000000): layer is out of range (a schedule "
        "of 9 ops computes at most 9 stages)");
}

TEST_CASE("emit targets: parse and list") {
  REQUIRE(findTrainer("megatron") != nullptr);
  CHECK(findTrainer("megatron")->name() == "megatron");
  CHECK(findTrainer("keras") == nullptr);
  CHECK(trainerList() == "pytorch, hf, megatron, deepspeed, torchtitan, jax");
}

TEST_CASE("emit targets: every registered trainer names itself and its "
          "package version") {
  // The six trainers of the spec (docs/formats.md, `remat emit`), in order.
  const char *Want[] = {"pytorch",   "hf",         "megatron",
                        "deepspeed", "torchtitan", "jax"};
  REQUIRE(allTrainers().size() == std::size(Want));
  for (size_t I = 0; I < std::size(Want); ++I) {
    const Trainer *T = allTrainers()[I];
    CAPTURE(Want[I]);
    CHECK(T->name() == Want[I]);
    CHECK(findTrainer(Want[I]) == T);
    // "<package> <major>.<minor>.<patch>"
    CHECK(T->version().count('.') == 2);
    CHECK(T->version().contains(' '));
    CHECK_FALSE(T->summary().empty());
  }
}

TEST_CASE("emit megatron: uniform and block plans are exact") {
  auto Uni = emitOk(chainSchedule(segOps({{0, 2, true}, {2, 4, true}}), 4),
                    trainer("megatron"));
  CHECK(Uni.Exact);
  CHECK(Uni.Plan.Config["recompute_method"] == "uniform");
  CHECK(Uni.Plan.Config["recompute_num_layers"] == 2);
  // block 1: layer 0 checkpointed on its own, the rest stored.
  auto Blk = emitOk(chainSchedule(segOps({{0, 1, true}, {1, 4, false}}), 4),
                    trainer("megatron"));
  CHECK(Blk.Exact);
  CHECK(Blk.Plan.Config["recompute_method"] == "block");
  CHECK(Blk.Plan.Config["recompute_num_layers"] == 1);
  CHECK(Blk.Plan.Snippet.find("--recompute-granularity full") !=
        std::string::npos);
}

TEST_CASE("emit megatron: inexpressible plan gets the nearest by layers") {
  // Wanted recomputed flags 0 1 1 0. block 3 recomputes 1 1 1 0 (1 layer
  // differs); every other plan differs in 2 or more (none: 2, uniform: 2,
  // block 1: 3, block 2: 2, block 4: 2).
  auto R = emitOk(
      chainSchedule(segOps({{0, 1, false}, {1, 3, true}, {3, 4, false}}), 4),
      trainer("megatron"));
  CHECK_FALSE(R.Exact);
  REQUIRE(R.Nearest.has_value());
  CHECK(R.Nearest->DifferingStages == 1);
  CHECK(R.Plan.Config["recompute_method"] == "block");
  CHECK(R.Plan.Config["recompute_num_layers"] == 3);
  CHECK_FALSE(R.Nearest->Cost.has_value());
  CHECK(std::string(renderEmitText(R, chainSchedule({}, 0), "ms"))
            .find("not exactly expressible") != std::string::npos);
}

TEST_CASE("emit megatron: with the model the nearest plan is simulated") {
  Model M = toyModel(4);
  Schedule S =
      chainSchedule(segOps({{0, 1, false}, {1, 3, true}, {3, 4, false}}), 4);
  auto R = emitOk(S, trainer("megatron"), &M);
  REQUIRE(R.Nearest.has_value());
  REQUIRE(R.Nearest->Cost.has_value());
  REQUIRE(R.OriginalCost.has_value());
  // Property: the choice is the fastest family plan within the schedule's
  // peak, or, when none fits, the one with the least peak.
  auto A = analyzeChainOps(S.chainOps(), 4, S.Names);
  REQUIRE(static_cast<bool>(A));
  std::optional<double> BestFitTime;
  uint64_t LeastPeak = UINT64_MAX;
  for (const TargetPlan &P : targetFamily(trainer("megatron"), *A, {})) {
    auto C = segmentPlanCost(*M.AsChain, P.Segments);
    REQUIRE(static_cast<bool>(C));
    LeastPeak = std::min(LeastPeak, C->PeakBytes);
    if (C->PeakBytes <= R.OriginalCost->PeakBytes &&
        (!BestFitTime || C->Time < *BestFitTime))
      BestFitTime = C->Time;
  }
  CHECK(R.Nearest->FitsOriginalPeak == BestFitTime.has_value());
  if (BestFitTime)
    CHECK(R.Nearest->Cost->Time == *BestFitTime);
  else
    CHECK(R.Nearest->Cost->PeakBytes == LeastPeak);
}

TEST_CASE("emit hf: per-layer flags") {
  auto R = emitOk(
      chainSchedule(
          segOps({{0, 1, true}, {1, 2, false}, {2, 3, true}, {3, 4, false}}),
          4),
      trainer("hf"));
  CHECK(R.Exact);
  CHECK(R.Plan.Config["checkpointed_layers"] == nlohmann::json({0, 2}));
  CHECK(R.Plan.Config["remat_layer_names"] == nlohmann::json({"l0", "l2"}));
  CHECK(R.Plan.Config["every_n_layers"] == 2);
  CHECK(R.Plan.Snippet.find("every_n_layers=2") != std::string::npos);
  CHECK(R.Plan.Snippet.find("model.model.layers") == std::string::npos);
  // Two layers in one checkpoint: HF checkpoints layer by layer, so the
  // nearest plan checkpoints each of them alone (no layer differs).
  auto Two = emitOk(chainSchedule(segOps({{0, 2, true}, {2, 4, false}}), 4),
                    trainer("hf"));
  CHECK_FALSE(Two.Exact);
  REQUIRE(Two.Nearest.has_value());
  CHECK(Two.Nearest->DifferingStages == 0);
  CHECK(Two.Plan.Config["checkpointed_layers"] == nlohmann::json({0, 1}));
}

TEST_CASE("emit torchtitan: FullAC or none; layer frequency is gone") {
  // torchtitan 0.3.0 has no layer-frequency option (selective_ac_option was
  // removed): layers 1 and 3 checkpointed alone is not expressible, and the
  // nearest is none or FullAC (each differs in 2 of 4 layers; none first).
  auto R = emitOk(
      chainSchedule(
          segOps({{0, 1, false}, {1, 2, true}, {2, 3, false}, {3, 4, true}}),
          4),
      trainer("torchtitan"));
  CHECK_FALSE(R.Exact);
  REQUIRE(R.Nearest.has_value());
  CHECK(R.Nearest->DifferingStages == 2);
  CHECK(R.Plan.Config["mode"] == "none");
  CHECK(R.Plan.Snippet.find("selective_ac_option") == std::string::npos);
  auto Full = emitOk(
      chainSchedule(segOps({{0, 1, true}, {1, 2, true}, {2, 3, true}}), 3),
      trainer("torchtitan"));
  CHECK(Full.Exact);
  CHECK(Full.Plan.Config["mode"] == "full");
  CHECK(Full.Plan.Snippet.find("activation_checkpoint=FullAC.Config()") !=
        std::string::npos);
}

TEST_CASE("emit deepspeed: interval and checkpointable classes") {
  auto R = emitOk(chainSchedule(segOps({{0, 2, true}, {2, 4, true}}), 4),
                  trainer("deepspeed"));
  CHECK(R.Exact);
  CHECK(R.Plan.Config["activation_checkpoint_interval"] == 2);
  CHECK(R.Plan.Config["checkpointable_layers"].is_null());
  // Layers 0 and 2 (attention) checkpointed alone, mlp stored: interval 1
  // with checkpointable_layers ["attention"]. Needs the kinds of the model.
  Schedule S = chainSchedule(
      segOps({{0, 1, true}, {1, 2, false}, {2, 3, true}, {3, 4, false}}), 4);
  CHECK_FALSE(emitOk(S, trainer("deepspeed")).Exact);
  Model M = toyModel(4);
  auto K = emitOk(S, trainer("deepspeed"), &M);
  CHECK(K.Exact);
  CHECK(K.Plan.Config["activation_checkpoint_interval"] == 1);
  CHECK(K.Plan.Config["checkpointable_layers"] ==
        nlohmann::json({"attention"}));
}

TEST_CASE("emit jax: single level exact, nested multi-level exact") {
  auto R = emitOk(
      chainSchedule(segOps({{0, 2, true}, {2, 3, false}, {3, 4, true}}), 4),
      trainer("jax"));
  CHECK(R.Exact);
  CHECK(R.Plan.Config["saved_names"] == nlohmann::json({"x0", "x3"}));
  CHECK(R.Plan.Snippet.find("jax.checkpoint(run(0, 2))") != std::string::npos);
  // quadraticOps(4) is jax.checkpoint nested 4 deep: [0,4) holds [0,3) and
  // stored 3; [0,3) holds [0,2) and stored 2; [0,2) holds [0,1) and stored
  // 1; [0,1) holds stored 0. Stage i then runs 5 - i times, as the ops say.
  auto M = emitOk(chainSchedule(quadraticOps(4), 4), trainer("jax"));
  CHECK(M.Exact);
  CHECK(M.Plan.Config["levels"] == 4);
  CHECK(M.Plan.Label == "nested jax.checkpoint, 4 levels");
  // (ordered_json: compared as plain json, key order aside.)
  CHECK(nlohmann::json::parse(M.Plan.Config["regions"].dump()) ==
        nlohmann::json::parse(R"([{"level": 1, "begin": 0, "end": 4},
                                  {"level": 2, "begin": 0, "end": 3},
                                  {"level": 3, "begin": 0, "end": 2},
                                  {"level": 4, "begin": 0, "end": 1}])"));
  for (const char *Line :
       {"def ckpt4_0_1(params, x):  # level 4: l0\n"
        "    x = run(0, 1)(params, x)  # stored: l0\n",
        "def ckpt1_0_4(params, x):  # level 1: l0 .. l3\n"
        "    x = jax.checkpoint(ckpt2_0_3)(params, x)  # keeps x0; recomputes "
        "l0 .. l2\n"
        "    x = run(3, 4)(params, x)  # stored: l3\n",
        "def forward(params, x):\n"
        "    x = jax.checkpoint(ckpt1_0_4)(params, x)"})
    CHECK_MESSAGE(M.Plan.Snippet.find(Line) != std::string::npos, Line);
}

TEST_CASE("emit jax: nested reading round-trips and refuses other orders") {
  auto Q = nestedCheckpoints(quadraticOps(4), 4);
  REQUIRE(Q.has_value());
  CHECK(nestedDepth(*Q) == 4);
  CHECK(nestedOps(*Q) == quadraticOps(4));
  REQUIRE(Q->size() == 1);
  CHECK(((*Q)[0].Begin == 0 && (*Q)[0].End == 4 && (*Q)[0].Checkpointed));
  CHECK(nestedDepth(*nestedCheckpoints(segOps({{0, 4, false}}), 4)) == 0);
  // Stage 0 recorded (F_all), its record then dropped by F_n 1, and
  // recorded again after the loss: valid under §3a (F_n 1 frees x̄1, the
  // loss frees x2, x0 stays resident), multi-level (stage 0 runs twice,
  // recording both times), but no nesting of jax.checkpoint records a stage
  // and then recomputes it.
  using K = ChainOpKind;
  std::vector<ChainOp> Ops{{K::FAll, 0}, {K::FN, 1}, {K::Loss, 0}, {K::FAll, 0},
                           {K::FAll, 1}, {K::B, 1},  {K::B, 0}};
  CHECK_FALSE(nestedCheckpoints(Ops, 2).has_value());
  Model Toy = toyModel(2);
  REQUIRE(static_cast<bool>(simulateChain(*Toy.AsChain, Ops)));
  auto R = emitOk(chainSchedule(Ops, 2), trainer("jax"));
  CHECK(R.Analysis->MultiLevel);
  CHECK_FALSE(R.Exact);
  CHECK(R.NotExactReason.find("nested jax.checkpoint") != std::string::npos);
}

TEST_CASE("emit pytorch: plan document and checkpoint_sequential") {
  // checkpoint_sequential(blocks, 2) on 5 blocks: [0,2) checkpointed, the
  // remainder [2,5) run plainly.
  Schedule S = chainSchedule(segOps({{0, 2, true}, {2, 5, false}}), 5);
  auto R = emitOk(S, trainer("pytorch"));
  CHECK(R.Exact);
  const auto &Doc = R.TorchPlan;
  CHECK(Doc["format"] == "remat-torch-plan");
  CHECK(Doc["torch_checkpoint"]["checkpoint_sequential"]["segments"] == 2);
  CHECK(Doc["ops"].size() == S.chainOps().size());
  CHECK(Doc["ops"][0]["op"] == "F_ck");
  CHECK(Doc["ops"][0]["name"] == "l0");
  CHECK(Doc["layers"][1]["action"] == "recomputed");
  CHECK(Doc["layers"][3]["forward_count"] == 1);
  // Multi-level: still exact through the executor; no plain form.
  auto Q = emitOk(chainSchedule(quadraticOps(3), 3), trainer("pytorch"));
  CHECK(Q.Exact);
  CHECK(Q.TorchPlan["multi_level"] == true);
  CHECK(Q.TorchPlan["torch_checkpoint"].is_null());
}

TEST_CASE("emit graph schedules: per-node list or a clear error") {
  Schedule S;
  S.Names = {"a", "b"};
  S.Ops = std::vector<GraphOp>{{GraphOpKind::Compute, 0},
                               {GraphOpKind::Compute, 1},
                               {GraphOpKind::Free, 0},
                               {GraphOpKind::Compute, 0}};
  auto Bad = emitSchedule(S, trainer("megatron"), nullptr);
  REQUIRE_FALSE(static_cast<bool>(Bad));
  CHECK(toString(Bad.takeError()).find("graph dialect") != std::string::npos);
  auto R = emitOk(S, trainer("pytorch"));
  CHECK(R.Plan.Config["nodes"][0]["action"] == "recompute");
  CHECK(R.Plan.Config["nodes"][1]["action"] == "save");
}

namespace {
/// tests/data/emit_layers.json: embed (stage 0), h.0..h.2 as attn/mlp pairs
/// (stages 1-2, 3-4, 5-6) and head (stage 7).
Model layersModel() {
  auto M = loadModelFile(test::sourcePath("tests/data/emit_layers.json"));
  REQUIRE_MESSAGE(static_cast<bool>(M), toString(M.takeError()));
  return std::move(*M);
}

Schedule layersSchedule(const Model &M, const std::vector<Seg> &Segs) {
  Schedule S = chainSchedule(segOps(Segs), 0);
  for (const Stage &St : M.AsChain->Stages)
    S.Names.push_back(St.Name);
  return S;
}
} // namespace

TEST_CASE("emit layers: stages named <prefix>.<N>.* group into layers") {
  Model M = layersModel();
  Schedule S = layersSchedule(M, {{0, 8, false}});
  auto A = analyzeChainOps(S.chainOps(), 8, S.Names);
  REQUIRE(static_cast<bool>(A));
  auto G = transformerLayers(*A);
  REQUIRE(G.has_value());
  REQUIRE(G->size() == 3);
  CHECK(((*G)[0].Begin == 1 && (*G)[0].End == 3));
  CHECK(((*G)[2].Begin == 5 && (*G)[2].End == 7));
  // Names without a `.<N>.` part (the toy model's l0, l1, ...) give none.
  Schedule Toy = chainSchedule(segOps({{0, 4, false}}), 4);
  auto B = analyzeChainOps(Toy.chainOps(), 4, Toy.Names);
  REQUIRE(static_cast<bool>(B));
  CHECK_FALSE(transformerLayers(*B).has_value());
}

TEST_CASE("emit layers: a stage named <prefix>.<N> is a whole layer") {
  // remat_torch exports an unmodified transformers model with one stage per
  // decoder layer, named by module path: embed, three layers, norm, head.
  std::vector<std::string> Names = {"model.embed_tokens", "model.layers.0",
                                    "model.layers.1",     "model.layers.2",
                                    "model.norm",         "lm_head"};
  Schedule S = chainSchedule(segOps({{0, 6, false}}), 6);
  S.Names = Names;
  auto A = analyzeChainOps(S.chainOps(), 6, S.Names);
  REQUIRE(static_cast<bool>(A));
  auto G = transformerLayers(*A);
  REQUIRE(G.has_value());
  // Stages 1, 2 and 3, one layer each.
  REQUIRE(G->size() == 3);
  CHECK(((*G)[0].Begin == 1 && (*G)[0].End == 2));
  CHECK(((*G)[2].Begin == 3 && (*G)[2].End == 4));
  // timm's ResNet: "layer2" has no index after a dot; "layer2.1" has.
  S.Names = {"conv1", "layer2", "layer2.1", "fc", "h.3.attn", "h.3.mlp"};
  auto B = analyzeChainOps(S.chainOps(), 6, S.Names);
  REQUIRE(static_cast<bool>(B));
  auto H = transformerLayers(*B);
  REQUIRE(H.has_value());
  REQUIRE(H->size() == 2);
  CHECK(((*H)[0].Begin == 2 && (*H)[0].End == 3));
  CHECK(((*H)[1].Begin == 4 && (*H)[1].End == 6));
}

TEST_CASE("emit layers: megatron counts transformer layers, not stages") {
  Model M = layersModel();
  // Each of the 3 layers checkpointed on its own: uniform with 1 layer per
  // chunk (counted in stages it would be chunks of 2 starting after embed,
  // which no stage-level uniform plan gives).
  auto R1 = emitOk(layersSchedule(M, {{0, 1, false},
                                      {1, 3, true},
                                      {3, 5, true},
                                      {5, 7, true},
                                      {7, 8, false}}),
                   trainer("megatron"), &M);
  CHECK(R1.Exact);
  CHECK(R1.Plan.Config["recompute_method"] == "uniform");
  CHECK(R1.Plan.Config["recompute_num_layers"] == 1);
  // Layers h.0-h.1 (stages 1..4) as one chunk, h.2 (stages 5..6) the short
  // last chunk: uniform, 2 layers (4 stages; 3 layers = 6 stages in all).
  Schedule S2 = layersSchedule(
      M, {{0, 1, false}, {1, 5, true}, {5, 7, true}, {7, 8, false}});
  auto R2 = emitOk(S2, trainer("megatron"), &M);
  CHECK(R2.Exact);
  CHECK(R2.Plan.Config["recompute_num_layers"] == 2);
  CHECK(renderEmitText(R2, S2, "ms").find("--recompute-num-layers 2") !=
        std::string::npos);
  // DeepSpeed's chunks count every entry of layers (stages, embed and head
  // included): interval 4 gives [0,4) [4,8), not this plan.
  CHECK_FALSE(emitOk(S2, trainer("deepspeed"), &M).Exact);
  // Interval 2 over the 8 stages: [0,2) embed+h.0.attn, [2,4), [4,6),
  // [6,8) h.2.mlp+head. With checkpointable_layers = the transformer
  // stages' kinds (attention, mlp), the chunks holding embedding or head
  // (kinds "embedding", "linear") are not checkpointed.
  auto D =
      emitOk(layersSchedule(
                 M, {{0, 2, false}, {2, 4, true}, {4, 6, true}, {6, 8, false}}),
             trainer("deepspeed"), &M);
  CHECK(D.Exact);
  CHECK(D.Plan.Config["activation_checkpoint_interval"] == 2);
  CHECK(D.Plan.Config["checkpointable_layers"] ==
        nlohmann::json({"attention", "mlp"}));
  CHECK(D.Plan.Config["ds_config"]["activation_checkpointing"].contains(
      "cpu_checkpointing"));
  CHECK(D.Plan.Config["ds_config"]["pipeline"]
                     ["activation_checkpoint_interval"] == 2);
}

TEST_CASE("emit torchtitan: memory_budget is offered as an approximation") {
  Model M = layersModel();
  // Only h.1.mlp recomputed: peak 116 (see "hf with a split layer" below);
  // storing everything peaks at 124. 116 / 124 = 0.935... -> 0.94.
  Schedule S = layersSchedule(M, {{0, 4, false}, {4, 5, true}, {5, 8, false}});
  auto R = emitOk(S, trainer("torchtitan"), &M);
  CHECK_FALSE(R.Exact);
  bool Found = false;
  for (const std::string &N : R.Notes)
    Found = Found || (N.find("memory_budget=0.94") != std::string::npos &&
                      N.find("(116 of 124 bytes)") != std::string::npos &&
                      N.find("approximate") != std::string::npos);
  CHECK(Found);
}

TEST_CASE("emit hf: labels say 'every N layers', never 'every Nth'") {
  // Issue 13 found "every 3th block"; the every-N candidates of a 7-layer
  // chain are N = 2..6.
  auto A = analyzeChainOps(segOps({{0, 7, false}}), 7, {});
  REQUIRE(static_cast<bool>(A));
  unsigned EveryN = 0;
  for (const TargetPlan &P : targetFamily(trainer("hf"), *A, {})) {
    CHECK(P.Label.find("th ") == std::string::npos);
    EveryN += P.Label.find("every_n_layers=") != std::string::npos;
  }
  CHECK(EveryN == 5);
}

TEST_CASE("emit layers: megatron selective recomputes the mlp modules") {
  Model M = layersModel();
  // h.N.mlp (stages 2, 4, 6) each recomputed alone, the rest stored: what
  // --recompute-granularity selective --recompute-modules mlp does.
  Schedule S = layersSchedule(M, {{0, 2, false},
                                  {2, 3, true},
                                  {3, 4, false},
                                  {4, 5, true},
                                  {5, 6, false},
                                  {6, 7, true},
                                  {7, 8, false}});
  auto R = emitOk(S, trainer("megatron"), &M);
  CHECK(R.Exact);
  CHECK(R.Plan.Config["recompute_granularity"] == "selective");
  CHECK(R.Plan.Config["recompute_modules"] == nlohmann::json({"mlp"}));
  CHECK_FALSE(R.Plan.Config.contains("recompute_num_layers"));
  CHECK(R.Plan.Snippet.find("--recompute-granularity selective "
                            "--recompute-modules mlp") != std::string::npos);
}

TEST_CASE("emit megatron: a model that is not a transformer stack") {
  // Stage kinds conv/bottleneck, names without <prefix>.<N>.: Megatron
  // recomputes transformer layers only, so no plan is exact, even the one
  // that "uniform 2" would give on a transformer.
  Model M = toyModel(4);
  for (Stage &St : M.AsChain->Stages)
    St.Kind = "bottleneck";
  auto R = emitOk(chainSchedule(segOps({{0, 2, true}, {2, 4, true}}), 4),
                  trainer("megatron"), &M);
  CHECK_FALSE(R.Exact);
  CHECK(R.NotExactReason.find("not a transformer stack") != std::string::npos);
  CHECK_FALSE(R.Nearest.has_value());
  CHECK(R.Plan.Label == "not expressible");
}

TEST_CASE("emit layers: half a layer is not exact; nearest is simulated") {
  Model M = layersModel();
  // Only h.0.mlp (stage 2) recomputed: no layer-level plan splits h.0.
  Schedule S = layersSchedule(M, {{0, 2, false}, {2, 3, true}, {3, 8, false}});
  auto R = emitOk(S, trainer("megatron"), &M);
  CHECK_FALSE(R.Exact);
  REQUIRE(R.Nearest.has_value());
  REQUIRE(R.Nearest->Cost.has_value());
  // The reported cost is the simulation of the nearest plan's stage
  // segments, and those checkpoint whole layers: every checkpointed segment
  // starts at a layer's first stage (1, 3, 5) and ends after its last (3, 5,
  // 7), so embed (0) and head (7) stay stored.
  auto C = segmentPlanCost(*M.AsChain, R.Nearest->Plan.Segments);
  REQUIRE(static_cast<bool>(C));
  CHECK(C->PeakBytes == R.Nearest->Cost->PeakBytes);
  CHECK(C->Time == R.Nearest->Cost->Time);
  for (const Segment &G : R.Nearest->Plan.Segments)
    if (G.Checkpointed) {
      CHECK((G.Begin == 1 || G.Begin == 3 || G.Begin == 5));
      CHECK((G.End == 3 || G.End == 5 || G.End == 7));
    }
  CHECK(renderEmitText(R, S, "ms").find("nearest ") != std::string::npos);
}

TEST_CASE("emit layers: hf flags index transformer layers") {
  Model M = layersModel();
  // h.0 (stages 1-2) and h.2 (stages 5-6) each checkpointed alone: Hugging
  // Face layers 0 and 2 (decoder layers; embed and head are not in the
  // stack), not stage indices 1, 2, 5, 6.
  Schedule S = layersSchedule(M, {{0, 1, false},
                                  {1, 3, true},
                                  {3, 5, false},
                                  {5, 7, true},
                                  {7, 8, false}});
  auto R = emitOk(S, trainer("hf"), &M);
  CHECK(R.Exact);
  CHECK(R.Plan.Config["checkpointed_layers"] == nlohmann::json({0, 2}));
  CHECK(R.Plan.Config["remat_layer_names"] == nlohmann::json({"h.0", "h.2"}));
  CHECK(R.Plan.Snippet.find("every_n_layers=2") != std::string::npos);
  // One checkpoint around h.0 and h.1 together: HF checkpoints layer by
  // layer, so not exact; the nearest without the model recomputes the same
  // stages (layers 0 and 1 each alone, no stage differs).
  auto Two =
      emitOk(layersSchedule(M, {{0, 1, false}, {1, 5, true}, {5, 8, false}}),
             trainer("hf"));
  CHECK_FALSE(Two.Exact);
  REQUIRE(Two.Nearest.has_value());
  CHECK(Two.Nearest->DifferingStages == 0);
  CHECK(Two.Plan.Config["checkpointed_layers"] == nlohmann::json({0, 1}));
}

TEST_CASE("emit layers: hf with a split layer picks a simulated per-layer "
          "plan") {
  Model M = layersModel();
  // Only h.1.mlp (stage 4) recomputed. Sizes (tests/data/emit_layers.json):
  // x0 4, x1 = x̄1 8, x2..x7 8 with x̄ 16, x8 = x̄8 4; fwd 1, bwd 2 each.
  // Schedule: F_all 0-3 (60), F_ck 4 +x5 (68), F_all 5-7 (104), loss +y8
  // (108), B7 +y7 = 116 -> peak 116; time 8 + 16 + 1 recomputed = 25.
  Schedule S = layersSchedule(M, {{0, 4, false}, {4, 5, true}, {5, 8, false}});
  auto R = emitOk(S, trainer("hf"), &M);
  CHECK_FALSE(R.Exact);
  CHECK(R.NotExactReason == "a transformer layer is split: h.1.mlp recomputed "
                            "but h.1.attn stored; hf checkpoints whole layers");
  REQUIRE(R.OriginalCost.has_value());
  CHECK(R.OriginalCost->PeakBytes == 116);
  CHECK(R.OriginalCost->Time == 25);
  // Per-layer candidates (peak, time): none (124, 24), all (76, 30), h.1
  // (100, 26), layer 0 (100, 26), layers 0-1 (76, 28), every 2nd = 0, 2
  // (100, 28). Checkpointing h.1: forward x0 x̄1 x̄2 x̄3 = 44, F_ck 3, F_n 4
  // -> 52, F_all 5-7 -> 88, loss 92, B7 +y7 = 100. Fastest within 116: h.1
  // and layer 0 (26); h.1 differs in 1 stage (h.1.attn), layer 0 in 3.
  REQUIRE(R.Nearest.has_value());
  REQUIRE(R.Nearest->Cost.has_value());
  CHECK(R.Plan.Config["checkpointed_layers"] == nlohmann::json({1}));
  CHECK(R.Plan.Config["remat_layer_names"] == nlohmann::json({"h.1"}));
  CHECK(R.Plan.Snippet.find("checkpointed = {1}  # indices into layers") !=
        std::string::npos);
  CHECK(R.Nearest->Cost->PeakBytes == 100);
  CHECK(R.Nearest->Cost->Time == 26);
  CHECK(R.Nearest->FitsOriginalPeak);
  CHECK(R.Nearest->DifferingStages == 1);
  // Without the model: fewest differing stages; "no layer" (stage 4 differs)
  // ties with h.1 (stage 3 differs) and comes first.
  auto N = emitOk(S, trainer("hf"));
  CHECK(N.Plan.Config["checkpointed_layers"] == nlohmann::json::array());
  CHECK(N.Nearest->DifferingStages == 1);
}

TEST_CASE("emit pytorch: selective checkpointing regions are whole layers") {
  Model M = layersModel();
  // Only h.1.mlp (stage 4) recomputed: the region is layer h.1 (stages 3-4);
  // its one checkpointed segment ends the region, so SAC recomputes it
  // right before its backward, as the plan does.
  Schedule S = layersSchedule(M, {{0, 4, false}, {4, 5, true}, {5, 8, false}});
  auto R = emitOk(S, trainer("pytorch"), &M);
  const auto &Sac = R.TorchPlan["selective_ac"];
  CHECK(Sac["exact"] == true);
  CHECK(Sac["recomputed_layers"] == nlohmann::json({"h.1.mlp"}));
  REQUIRE(Sac["regions"].size() == 1);
  CHECK(Sac["regions"][0]["begin"] == 3);
  CHECK(Sac["regions"][0]["end"] == 5);
  std::string Code = Sac["code"];
  CHECK(Code.find("torch >= 2.4") != std::string::npos);
  CHECK(Code.find("    \"h.1.mlp\",\n})") != std::string::npos);
  CHECK(Code.find("x = checkpoint(run(3, 5), x, use_reentrant=False,") !=
        std::string::npos);
  CHECK(Code.find("x = run(0, 3)(x)  # stored: embed .. h.0.mlp") !=
        std::string::npos);
  // Only h.0.attn (stage 1) recomputed: region h.0 (1-2) has the stored
  // h.0.mlp after it; SAC would recompute h.0.attn during h.0.mlp's
  // backward, earlier than the plan.
  auto A =
      emitOk(layersSchedule(M, {{0, 1, false}, {1, 2, true}, {2, 8, false}}),
             trainer("pytorch"), &M);
  CHECK(A.TorchPlan["selective_ac"]["exact"] == false);
  CHECK(A.TorchPlan["selective_ac"]["regions"][0]["end"] == 3);
  // Multi-level plans have no SAC form.
  auto Q = emitOk(chainSchedule(quadraticOps(3), 3), trainer("pytorch"));
  CHECK(Q.TorchPlan["selective_ac"].is_null());
  // Without layers the regions are the checkpointed segments themselves.
  auto P = analyzeChainOps(segOps({{0, 2, true}, {2, 3, false}, {3, 4, true}}),
                           4, {});
  REQUIRE(static_cast<bool>(P));
  CHECK(sacRegions(*P) == segs({{0, 2, true}, {3, 4, true}}));
}

TEST_CASE("emit pytorch: every checkpoint_sequential plan is recognised") {
  // checkpoint_sequential(blocks, N) over L blocks: N - 1 checkpointed
  // segments of floor(L/N) blocks, then the rest stored. Distinct N give
  // distinct plans (the first segment fixes floor(L/N), the count N).
  for (unsigned L = 2; L <= 12; ++L)
    for (unsigned N = 2; N <= L; ++N) {
      unsigned K = L / N;
      std::vector<Seg> Plan;
      for (unsigned S = 0; S + 1 < N; ++S)
        Plan.push_back({S * K, (S + 1) * K, true});
      Plan.push_back({(N - 1) * K, L, false});
      auto R = emitOk(chainSchedule(segOps(Plan), L), trainer("pytorch"));
      INFO("L = ", L, ", N = ", N);
      CHECK(R.Plan.Config["checkpoint_sequential"]["segments"] == N);
    }
}

TEST_CASE("emit pytorch: the Hugging Face hint only when regions are layers") {
  Model M = layersModel();
  // h.1.mlp alone: region = layer h.1, so layer-level checkpointing runs it.
  auto One =
      emitOk(layersSchedule(M, {{0, 4, false}, {4, 5, true}, {5, 8, false}}),
             trainer("pytorch"), &M);
  CHECK(One.TorchPlan["selective_ac"]["code"].get<std::string>().find(
            "activation_checkpointing_kwargs") != std::string::npos);
  // One segment over h.0.mlp .. h.1.attn (stages 2-3) widens to h.0 and h.1
  // together (stages 1-4): two layers in one region, which per-layer
  // checkpointing does not give.
  auto Two =
      emitOk(layersSchedule(M, {{0, 2, false}, {2, 4, true}, {4, 8, false}}),
             trainer("pytorch"), &M);
  REQUIRE(Two.TorchPlan["selective_ac"]["regions"].size() == 1);
  CHECK(Two.TorchPlan["selective_ac"]["regions"][0]["begin"] == 1);
  CHECK(Two.TorchPlan["selective_ac"]["regions"][0]["end"] == 5);
  CHECK(Two.TorchPlan["selective_ac"]["code"].get<std::string>().find(
            "activation_checkpointing_kwargs") == std::string::npos);
}

TEST_CASE("emit: safeName escapes what could end a comment or mislead") {
  using namespace std::string_literals;
  CHECK(safeName("h.0.attn") == "h.0.attn");
  CHECK(safeName("a\nb\rc\td") == "a\\nb\\rc\\td");
  CHECK(safeName("a\0b"s) == "a\\x00b");
  CHECK(safeName("\x1b[2J\x7f") == "\\x1b[2J\\x7f");
  CHECK(safeName("a\\n") == "a\\\\n"); // a backslash is escaped too
  // U+202E (RLO) = E2 80 AE, U+2028 = E2 80 A8, U+2066 = E2 81 A6,
  // U+0085 (NEL) = C2 85; U+00E9 (C3 A9), U+00A0 (C2 A0) and U+2014
  // (E2 80 94) are kept.
  CHECK(safeName("x\xE2\x80\xAEy") == "x\\u202ey");
  CHECK(safeName("\xE2\x80\xA8\xE2\x81\xA6\xC2\x85") ==
        "\\u2028\\u2066\\u0085");
  CHECK(safeName("\xC3\xA9\xC2\xA0\xE2\x80\x94") ==
        "\xC3\xA9\xC2\xA0\xE2\x80\x94");
}

TEST_CASE("emit: codeLiteral escapes separators inside string literals") {
  using json = nlohmann::ordered_json;
  // U+2029 = E2 80 A9, U+0085 = C2 85, DEL = 7F; JSON escapes the newline
  // and the quote itself; U+00E9 (C3 A9) is kept.
  CHECK(codeLiteral(json("a\xE2\x80\xA9"
                         "b\xC2\x85\x7f\n\"\xC3\xA9")) ==
        "\"a\\u2029b\\u0085\\u007f\\n\\\"\xC3\xA9\"");
  CHECK(codeLiteral(json::array({"x", "\xE2\x80\xAE"})) ==
        "[\"x\",\"\\u202e\"]");
  // The result reads back as the same JSON value.
  json V = json::array({"a\xE2\x80\xA9"
                        "b",
                        "c\xC2\x85"});
  CHECK(json::parse(codeLiteral(V)) == V);
}

namespace {
/// Runs python3 on \p Code: it must compile, and no __import__ may appear
/// outside comments and string literals (so nothing a name carries runs).
/// Returns the exit status: 0 clean, 3 injected, other: does not compile.
int checkPython(const std::string &Code) {
  remat::test::TempFile Src("snippet.py", Code);
  remat::test::TempFile Checker(
      "check.py",
      "import io, sys, tokenize\n"
      "src = open(sys.argv[1], encoding='utf-8').read()\n"
      "compile(src, 'emitted', 'exec')\n"
      "for t in tokenize.generate_tokens(io.StringIO(src).readline):\n"
      "    if t.type == tokenize.NAME and t.string == '__import__':\n"
      "        sys.exit(3)\n");
  std::string Cmd =
      "python3 " + Checker.path() + " " + Src.path() + " >/dev/null 2>&1";
  int Status = std::system(Cmd.c_str());
  return WIFEXITED(Status) ? WEXITSTATUS(Status) : -1;
}
} // namespace

TEST_CASE("emit: hostile stage names cannot inject code") {
  if (std::system("python3 -c 'pass' >/dev/null 2>&1") != 0) {
    MESSAGE("python3 not found: skipped");
    return;
  }
  using namespace std::string_literals;
  // The issue's payload put an executable line into forward(); newlines
  // broke the pytorch and jax code, NUL bytes made it invalid.
  const std::string Payload = "b\n    __import__('os').system('echo PWNED')  #";
  std::vector<std::string> Hostile = {Payload,          "c\r__import__('os')",
                                      "d\0e"s,          "f\x1b[31m",
                                      "g\xE2\x80\xA8h", "q\"'\\",
                                      "t\xE2\x80\xAE",  "u\xE2\x80\xA9\x7f"};
  // Both single-level (segments) and multi-level (nested jax) plans.
  for (bool Nested : {false, true}) {
    unsigned L = Nested ? 3 : 5;
    Schedule S =
        Nested ? chainSchedule(quadraticOps(3), 3)
               : chainSchedule(
                     segOps({{0, 2, true}, {2, 3, false}, {3, 5, true}}), 5);
    for (unsigned I = 0; I < L; ++I)
      S.Names[I] = Hostile[(I + Nested) % Hostile.size()] + std::to_string(I);
    std::vector<std::pair<std::string, std::string>> Codes;
    for (const char *TName : {"pytorch", "hf", "deepspeed", "jax"}) {
      const Trainer &T = trainer(TName);
      auto R = emitSchedule(S, T, nullptr);
      REQUIRE_MESSAGE(bool(R), toString(R.takeError()));
      std::string Name = T.name().str();
      Codes.push_back({Name, R->Plan.Snippet});
      if (R->Nearest)
        Codes.push_back({Name + " nearest", R->Nearest->Plan.Snippet});
      if (Name == "pytorch") {
        const auto &Doc = R->TorchPlan;
        if (Doc["torch_checkpoint"].is_object())
          Codes.push_back(
              {"torch_checkpoint", Doc["torch_checkpoint"]["code"]});
        if (Doc["selective_ac"].is_object())
          Codes.push_back({"selective_ac", Doc["selective_ac"]["code"]});
      }
    }
    for (const auto &[Where, Code] : Codes) {
      CAPTURE(Where);
      CAPTURE(Code);
      CHECK(!Code.empty());
      CHECK(checkPython(Code) == 0);
      // Nothing a reader or an editor could take for a line break or a
      // hidden character, in comments or in string literals (the fuzzer
      // found a raw U+2029 in a string literal).
      for (const char *Raw :
           {"\x7f", "\xC2\x85", "\xE2\x80\xA8", "\xE2\x80\xA9", "\xE2\x80\xAE"})
        CHECK(Code.find(Raw) == std::string::npos);
    }
  }
  // The checker itself catches the injection it is for.
  CHECK(checkPython("def forward(x):\n    x = 1  # stored: " + Payload +
                    "\n") == 3);
  CHECK(checkPython("x = 1  # a\0b"s) != 0);
}

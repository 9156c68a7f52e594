//===- planner/EmitTargets.cpp - What each trainer can express ------------===//
//
// The family of plans of each target and the settings/snippet of each plan.
// Flag names and semantics follow the trainers' documentation and sources;
// docs/trainers.md cites them.
//
//===----------------------------------------------------------------------===//

#include "planner/Emit.h"

#include "llvm/ADT/StringExtras.h"

#include <fmt/format.h>

using namespace llvm;
using json = nlohmann::ordered_json;

namespace remat {

/// "h.2" or "h.2 .. h.4".
static std::string rangeText(const ChainAnalysis &A, const Segment &S) {
  // In comments of the emitted code: names escaped (safeName).
  if (S.End == S.Begin + 1)
    return safeName(A.Stages[S.Begin].Name);
  return safeName(A.Stages[S.Begin].Name) + " .. " +
         safeName(A.Stages[S.End - 1].Name);
}

static json segmentsJson(const ChainAnalysis &A, ArrayRef<Segment> Segs) {
  json Arr = json::array();
  for (const Segment &S : Segs) {
    json Names = json::array();
    for (unsigned I = S.Begin; I < S.End; ++I)
      Names.push_back(A.Stages[I].Name);
    Arr.push_back({{"begin", S.Begin},
                   {"end", S.End},
                   {"checkpointed", S.Checkpointed},
                   {"layers", Names}});
  }
  return Arr;
}

/// Each stage flagged in \p Ckpt is its own checkpointed segment.
static std::vector<Segment> perStageSegments(const std::vector<bool> &Ckpt) {
  std::vector<Segment> Segs;
  for (unsigned I = 0; I < Ckpt.size(); ++I)
    Segs.push_back({I, I + 1, static_cast<bool>(Ckpt[I])});
  return normalizeSegments(Segs);
}

/// Chunks of \p K stages (the last may be shorter); \p Ckpt decides each.
template <typename Pred>
static std::vector<Segment> chunkSegments(unsigned L, unsigned K, Pred Ckpt) {
  std::vector<Segment> Segs;
  for (unsigned B = 0; B < L; B += K) {
    Segment S{B, std::min(L, B + K), false};
    S.Checkpointed = Ckpt(S);
    Segs.push_back(S);
  }
  return normalizeSegments(Segs);
}

/// checkpoint_sequential(functions, N): segments of floor(L/N) stages, the
/// last (remainder) segment not checkpointed. Returns N when \p Segs is that
/// plan for some N >= 2.
static std::optional<unsigned> sequentialSegments(ArrayRef<Segment> Segs,
                                                  unsigned L) {
  // The first segment is checkpointed and has K = floor(L/N) stages; only
  // the N with that floor need checking (not all N up to L: that made
  // emitting a long chain cubic).
  if (Segs.empty() || !Segs[0].Checkpointed || Segs[0].Begin != 0 ||
      Segs[0].End == 0)
    return std::nullopt;
  unsigned First = Segs[0].End;
  for (unsigned N = std::max(2u, L / (First + 1) + 1); N <= L / First; ++N) {
    unsigned K = L / N;
    std::vector<Segment> Want;
    for (unsigned S = 0; S + 1 < N; ++S)
      Want.push_back({S * K, (S + 1) * K, true});
    Want.push_back({(N - 1) * K, L, false});
    if (normalizeSegments(Want) == normalizeSegments(Segs))
      return N;
  }
  return std::nullopt;
}

static std::string torchSnippet(const ChainAnalysis &A, ArrayRef<Segment> Segs,
                                std::optional<unsigned> Seq) {
  std::string S = "# torch 2.15.0\nimport torch\n"
                  "from torch.utils.checkpoint import checkpoint\n\n"
                  "def run(start, end):  # blocks: the model's list of blocks\n"
                  "    def f(x):\n        for block in blocks[start:end]:\n"
                  "            x = block(x)\n        return x\n    return f\n\n"
                  "def forward(x):\n";
  for (const Segment &G : Segs) {
    if (G.Checkpointed)
      S += fmt::format("    x = checkpoint(run({}, {}), x, use_reentrant=False,"
                       " preserve_rng_state=True)  # recomputed: {}\n",
                       G.Begin, G.End, rangeText(A, G));
    else
      S += fmt::format("    x = run({}, {})(x)  # stored: {}\n", G.Begin, G.End,
                       rangeText(A, G));
  }
  S += "    return x\n";
  if (Seq)
    S += fmt::format("\n# the same plan (use_reentrant needs torch >= 2.1 "
                     "here):\n# torch.utils.checkpoint.checkpoint_sequential("
                     "blocks, {}, x, use_reentrant=False)\n",
                     *Seq);
  return S;
}

static std::string jaxSnippet(const ChainAnalysis &A, ArrayRef<Segment> Segs) {
  std::string S = "# jax 0.10.2\nimport jax\n\n"
                  "def run(start, end):  # layers[i](params[i], x): one stage\n"
                  "    def f(params, x):\n        for i in range(start, end):\n"
                  "            x = layers[i](params[i], x)\n        return x\n"
                  "    return f\n\ndef forward(params, x):\n";
  for (const Segment &G : Segs) {
    if (G.Checkpointed)
      S += fmt::format("    x = jax.checkpoint(run({}, {}))(params, x)"
                       "  # saves x{} only; recomputes {}\n",
                       G.Begin, G.End, G.Begin, rangeText(A, G));
    else
      S += fmt::format("    x = run({}, {})(params, x)  # stored: {}\n",
                       G.Begin, G.End, rangeText(A, G));
  }
  S += "    return x\n";
  return S;
}

TargetPlan segmentPlanFor(EmitTarget T, const ChainAnalysis &A,
                          ArrayRef<Segment> Segs) {
  TargetPlan P;
  P.Segments = normalizeSegments(Segs);
  P.Config["segments"] = segmentsJson(A, P.Segments);
  if (T == EmitTarget::Jax) {
    json Names = json::array();
    for (const Segment &G : P.Segments)
      if (G.Checkpointed)
        Names.push_back(fmt::format("x{}", G.Begin));
    P.Label = "jax.checkpoint per checkpointed segment";
    P.Config["saved_names"] = Names;
    P.Snippet = jaxSnippet(A, P.Segments);
    return P;
  }
  std::optional<unsigned> Seq = sequentialSegments(P.Segments, A.numStages());
  P.Label = Seq ? fmt::format("checkpoint_sequential with {} segments", *Seq)
                : "torch.utils.checkpoint per checkpointed segment";
  P.Config["checkpoint_sequential"] =
      Seq ? json{{"segments", *Seq}} : json(nullptr);
  P.Snippet = torchSnippet(A, P.Segments, Seq);
  return P;
}

/// The layer key of a stage name: the text before the first `.<N>.` plus
/// the index ("h.3" for "h.3.attn"); empty when there is none.
static StringRef layerKey(StringRef Name) {
  size_t Pos = 0;
  while ((Pos = Name.find('.', Pos)) != StringRef::npos) {
    size_t End = Pos + 1;
    while (End < Name.size() && isDigit(Name[End]))
      ++End;
    if (End > Pos + 1 && End < Name.size() && Name[End] == '.')
      return Name.take_front(End);
    Pos = Pos + 1;
  }
  return {};
}

std::optional<std::vector<LayerGroup>>
transformerLayers(const ChainAnalysis &A) {
  std::vector<LayerGroup> Groups;
  StringRef Prev;
  for (unsigned I = 0; I < A.numStages(); ++I) {
    StringRef Key = layerKey(A.Stages[I].Name);
    if (Key.empty()) {
      Prev = {};
      continue;
    }
    if (!Groups.empty() && Key == Prev && Groups.back().End == I)
      Groups.back().End = I + 1;
    else
      Groups.push_back({I, I + 1});
    Prev = Key;
  }
  if (Groups.empty())
    return std::nullopt;
  return Groups;
}

/// \p LayerSegs (over layer indices) as stage segments: a checkpointed run of
/// layers checkpoints its stages from the first group's start to the last
/// group's end; every other stage is stored.
static std::vector<Segment> lowerSegments(ArrayRef<LayerGroup> Groups,
                                          unsigned NumStages,
                                          ArrayRef<Segment> LayerSegs) {
  std::vector<Segment> Out;
  unsigned Pos = 0;
  for (const Segment &S : LayerSegs) {
    if (!S.Checkpointed || S.Begin >= S.End)
      continue;
    unsigned B = Groups[S.Begin].Begin, E = Groups[S.End - 1].End;
    if (Pos < B)
      Out.push_back({Pos, B, false});
    Out.push_back({B, E, true});
    Pos = E;
  }
  if (Pos < NumStages)
    Out.push_back({Pos, NumStages, false});
  return normalizeSegments(Out);
}

/// Hugging Face's decoder layers: the transformer layers when stage names
/// group (transformerLayers), else one layer per stage.
static std::vector<LayerGroup> hfLayers(const ChainAnalysis &A) {
  if (auto G = transformerLayers(A))
    return std::move(*G);
  std::vector<LayerGroup> G;
  for (unsigned I = 0; I < A.numStages(); ++I)
    G.push_back({I, I + 1});
  return G;
}

/// A layer's name: its `<prefix>.<N>` key, else its (only) stage's name.
static std::string layerName(const ChainAnalysis &A, const LayerGroup &G) {
  StringRef Key = layerKey(A.Stages[G.Begin].Name);
  return Key.empty() ? A.Stages[G.Begin].Name : Key.str();
}

/// Each layer flagged in \p Ckpt is its own checkpointed segment of its
/// stages; every other stage is stored.
static std::vector<Segment> perLayerSegments(ArrayRef<LayerGroup> Groups,
                                             unsigned NumStages,
                                             const std::vector<bool> &Ckpt) {
  return lowerSegments(Groups, NumStages, perStageSegments(Ckpt));
}

static TargetPlan hfPlan(const ChainAnalysis &A, ArrayRef<LayerGroup> Groups,
                         const std::vector<bool> &Ckpt, std::string Label) {
  TargetPlan P;
  P.Label = std::move(Label);
  P.Segments = perLayerSegments(Groups, A.numStages(), Ckpt);
  json Idx = json::array(), Names = json::array();
  std::string IdxText;
  for (unsigned I = 0; I < Ckpt.size(); ++I)
    if (Ckpt[I]) {
      Idx.push_back(I);
      Names.push_back(layerName(A, Groups[I]));
      IdxText += (IdxText.empty() ? "" : ", ") + std::to_string(I);
    }
  // every_n_layers = N checkpoints the layers whose index is a multiple of
  // N (transformers' _set_gradient_checkpointing: layer_index % N == 0).
  std::optional<unsigned> EveryN;
  for (unsigned N = 1; N <= Ckpt.size() && !EveryN && !Idx.empty(); ++N) {
    bool Match = true;
    for (unsigned I = 0; I < Ckpt.size() && Match; ++I)
      Match = Ckpt[I] == (I % N == 0);
    if (Match)
      EveryN = N;
  }
  P.Config = {{"checkpointed_layers", Idx},
              {"every_n_layers", EveryN ? json(*EveryN) : json(nullptr)},
              {"remat_layer_names", Names}};
  if (Idx.empty()) {
    P.Snippet = "# transformers 5.25.0\nmodel.activation_checkpointing_"
                "disable()  # store every layer\n";
    return P;
  }
  // The layers are the model's own GradientCheckpointingLayer modules in
  // module order, the ones every_n_layers counts: GPT-2's transformer.h.N,
  // Llama's model.layers.N, BERT's and ViT's encoder.layer.N.
  std::string S = fmt::format(
      "# transformers 5.25.0 (gradient_checkpointing_enable is its deprecated "
      "alias)\n"
      "from transformers.modeling_layers import GradientCheckpointingLayer\n"
      "model.activation_checkpointing_enable(\n"
      "    activation_checkpointing_kwargs={{\"use_reentrant\": False}}{})\n"
      "layers = [m for m in model.modules()\n"
      "          if isinstance(m, GradientCheckpointingLayer)]\n"
      "assert len(layers) == {}, \"the plan has {} layers, the model %d\" % "
      "len(layers)\n",
      EveryN ? fmt::format(", every_n_layers={}", *EveryN) : std::string(),
      Ckpt.size(), Ckpt.size());
  if (!EveryN)
    S += fmt::format("checkpointed = {{{}}}  # indices into layers\n"
                     "for i, layer in enumerate(layers):\n"
                     "    layer.gradient_checkpointing = i in checkpointed\n",
                     IdxText);
  P.Snippet = std::move(S);
  return P;
}

/// A Hugging Face candidate without its settings: renderCandidate adds them
/// to the one chosen (building them for all ~2L candidates dominated the
/// run time on long chains).
static TargetPlan hfCandidate(ArrayRef<LayerGroup> Groups, unsigned NumStages,
                              const std::vector<bool> &Ckpt,
                              std::string Label) {
  TargetPlan P;
  P.Label = std::move(Label);
  P.Segments = perLayerSegments(Groups, NumStages, Ckpt);
  return P;
}

/// Per-layer flags over hfLayers: none, all, the layers the schedule
/// recomputes (a layer whose stages disagree: once checkpointed, once not),
/// then the first K layers and every N-th layer (more plans to pick the
/// nearest from).
static std::vector<TargetPlan> hfFamily(const ChainAnalysis &A) {
  std::vector<LayerGroup> G = hfLayers(A);
  unsigned L = G.size(), NS = A.numStages();
  std::vector<bool> Any(L, false), All(L, true);
  for (unsigned K = 0; K < L; ++K)
    for (unsigned I = G[K].Begin; I < G[K].End; ++I) {
      Any[K] = Any[K] || A.Stages[I].recomputed();
      All[K] = All[K] && A.Stages[I].recomputed();
    }
  std::vector<TargetPlan> F{
      hfCandidate(G, NS, std::vector<bool>(L, false), "checkpoint no layer"),
      hfCandidate(G, NS, std::vector<bool>(L, true), "checkpoint every layer"),
      hfCandidate(G, NS, Any, "checkpoint each recomputed layer on its own")};
  if (All != Any)
    F.push_back(hfCandidate(G, NS, All,
                            "checkpoint each layer whose stages are all "
                            "recomputed"));
  for (unsigned K = 1; K < L; ++K) {
    std::vector<bool> First(L, false);
    for (unsigned I = 0; I < K; ++I)
      First[I] = true;
    F.push_back(hfCandidate(G, NS, First,
                            fmt::format("checkpoint layers 0..{}", K - 1)));
  }
  for (unsigned N = 2; N < L; ++N) {
    std::vector<bool> Every(L, false);
    for (unsigned I = 0; I < L; ++I)
      Every[I] = I % N == 0;
    F.push_back(hfCandidate(G, NS, Every,
                            fmt::format("checkpoint every {} layers from "
                                        "layer 0 (every_n_layers={})",
                                        N, N)));
  }
  return F;
}

static TargetPlan megatronPlan(const char *Method, unsigned K,
                               std::vector<Segment> Segs) {
  TargetPlan P;
  P.Segments = std::move(Segs);
  if (K == 0) {
    P.Label = "no recomputation";
    P.Config = {{"recompute_granularity", nullptr}};
    P.Snippet = "# megatron-core 0.16.1\n# no recompute flags: Megatron keeps "
                "every layer's activations\n";
    return P;
  }
  P.Label = fmt::format("full recomputation, method {}, {} layer{}", Method, K,
                        K == 1 ? "" : "s");
  P.Config = {{"recompute_granularity", "full"},
              {"recompute_method", Method},
              {"recompute_num_layers", K}};
  P.Snippet = fmt::format(
      "# megatron-core 0.16.1\n# Megatron-LM arguments\n"
      "--recompute-granularity full "
      "--recompute-method {0} --recompute-num-layers {1}\n"
      "# Megatron Core TransformerConfig\nrecompute_granularity=\"full\", "
      "recompute_method=\"{0}\", recompute_num_layers={1}\n",
      Method, K);
  return P;
}

/// The megatron-core recompute_modules entry that recomputes exactly a stage
/// of this kind (or, without kinds, this last name part) from its input:
/// "mlp" (the dense MLP) and "moe" (the MoE layer) are whole submodules.
/// "core_attn" recomputes only the core attention, not the projections, so
/// an attention stage has none.
static std::optional<std::string> megatronModule(StringRef Kind) {
  if (Kind == "mlp" || Kind == "moe")
    return Kind.str();
  return std::nullopt;
}

/// --recompute-granularity selective --recompute-modules M...: in every
/// transformer layer, the stages of modules M are recomputed (their input
/// kept), everything else stored. One plan per non-empty subset of the
/// modules present (at most "mlp" and "moe": three plans).
static std::vector<TargetPlan> megatronSelective(const ChainAnalysis &A,
                                                 ArrayRef<LayerGroup> Groups,
                                                 ArrayRef<std::string> Kinds) {
  std::vector<std::optional<std::string>> Mod(A.numStages());
  std::vector<std::string> Present;
  for (const LayerGroup &G : Groups)
    for (unsigned I = G.Begin; I < G.End; ++I) {
      StringRef Name = A.Stages[I].Name;
      Mod[I] = megatronModule(Kinds.size() == A.numStages()
                                  ? StringRef(Kinds[I])
                                  : Name.substr(layerKey(Name).size() + 1));
      if (Mod[I] &&
          std::find(Present.begin(), Present.end(), *Mod[I]) == Present.end())
        Present.push_back(*Mod[I]);
    }
  std::sort(Present.begin(), Present.end());
  std::vector<TargetPlan> F;
  for (unsigned Mask = 1; Mask < (1u << Present.size()); ++Mask) {
    std::vector<std::string> Use;
    for (unsigned B = 0; B < Present.size(); ++B)
      if (Mask & (1u << B))
        Use.push_back(Present[B]);
    std::vector<bool> Ckpt(A.numStages(), false);
    for (unsigned I = 0; I < A.numStages(); ++I)
      Ckpt[I] =
          Mod[I] && std::find(Use.begin(), Use.end(), *Mod[I]) != Use.end();
    TargetPlan P;
    P.Segments = perStageSegments(Ckpt);
    P.Label = "selective recomputation of " + join(Use, ", ");
    P.Config = {{"recompute_granularity", "selective"},
                {"recompute_modules", Use}};
    P.Snippet =
        fmt::format("# megatron-core 0.16.1\n# Megatron-LM arguments\n"
                    "--recompute-granularity selective --recompute-modules {}\n"
                    "# Megatron Core TransformerConfig\nrecompute_granularity="
                    "\"selective\", recompute_modules={}\n",
                    join(Use, " "), json(Use).dump());
    F.push_back(std::move(P));
  }
  return F;
}

/// uniform K: chunks of K layers, each checkpointed as a whole. block K: the
/// first K layers each checkpointed on its own, the rest stored.
static std::vector<TargetPlan> megatronFamily(unsigned L) {
  std::vector<TargetPlan> F;
  F.push_back(megatronPlan("", 0, {{0, L, false}}));
  for (unsigned K = 1; K <= L; ++K)
    F.push_back(megatronPlan("uniform", K,
                             chunkSegments(L, K, [](auto &) { return true; })));
  for (unsigned K = 1; K <= L; ++K) {
    std::vector<bool> Ckpt(L, false);
    for (unsigned I = 0; I < K; ++I)
      Ckpt[I] = true;
    F.push_back(megatronPlan("block", K, perStageSegments(Ckpt)));
  }
  return F;
}

/// DeepSpeed's PipelineModule (deepspeed 0.19.8, runtime/pipe/module.py)
/// checkpoints chunks range(0, len(layers), K) over every entry of `layers`
/// (embedding and head included); a chunk is checkpointed when every entry's
/// class is in checkpointable_layers, or, with None, when some entry has
/// parameters (remat assumes every stage has). Each remat stage is one entry.
static TargetPlan deepspeedPlan(unsigned L, unsigned K,
                                const std::vector<std::string> &Classes,
                                ArrayRef<std::string> Kinds) {
  TargetPlan P;
  auto Ckpt = [&](const Segment &S) {
    if (Classes.empty())
      return true;
    for (unsigned I = S.Begin; I < S.End; ++I)
      if (std::find(Classes.begin(), Classes.end(), Kinds[I]) == Classes.end())
        return false;
    return true;
  };
  P.Segments =
      K == 0 ? std::vector<Segment>{{0, L, false}} : chunkSegments(L, K, Ckpt);
  json ClassJson = Classes.empty() ? json(nullptr) : json(Classes);
  P.Label = K == 0 ? "no activation checkpointing"
                   : fmt::format("interval {}{}", K,
                                 Classes.empty() ? ""
                                                 : ", checkpointable "
                                                   "classes only");
  // The ds_config keys of deepspeed/runtime/activation_checkpointing/
  // config.py at their defaults; pipeline.activation_checkpoint_interval,
  // when > 0, overrides the module's argument (runtime/pipe/engine.py).
  // pipeline.use_reentrant false makes the engine use
  // non_reentrant_checkpoint too.
  json DsConfig = {
      {"pipeline",
       {{"activation_checkpoint_interval", K}, {"use_reentrant", false}}},
      {"activation_checkpointing",
       {{"partition_activations", false},
        {"cpu_checkpointing", false},
        {"contiguous_memory_optimization", false},
        {"number_checkpoints", nullptr},
        {"synchronize_checkpoint_boundary", false},
        {"profile", false}}}};
  P.Config = {{"activation_checkpoint_interval", K},
              {"checkpointable_layers", ClassJson},
              {"ds_config", DsConfig}};
  P.Snippet = fmt::format(
      "# deepspeed 0.19.8: layers holds one entry per remat stage, in order "
      "({} entries){}\n"
      "import deepspeed\nfrom deepspeed.pipe import PipelineModule\n"
      "model = PipelineModule(\n    layers=layers, num_stages=num_stages,\n"
      "    activation_checkpoint_interval={},\n"
      "    activation_checkpoint_func="
      "deepspeed.checkpointing.non_reentrant_checkpoint,\n"
      "    checkpointable_layers={})\n"
      "# ds_config (pipeline.activation_checkpoint_interval overrides the "
      "argument above):\nimport json\nds_config = json.loads('{}')\n",
      L,
      Classes.empty() ? ""
                      : ";\n# checkpointable_layers: the class names of the "
                        "entries of these remat kinds",
      K, Classes.empty() ? "None" : codeLiteral(ClassJson), DsConfig.dump());
  return P;
}

/// Classes checkpointed in the schedule and never stored: the
/// checkpointable_layers list that reproduces its choice by class name.
static std::vector<std::string> recomputedOnlyKinds(const ChainAnalysis &A,
                                                    ArrayRef<std::string> K) {
  std::vector<std::string> Rec, Stored;
  for (unsigned I = 0; I < K.size(); ++I)
    (A.Stages[I].recomputed() ? Rec : Stored).push_back(K[I]);
  std::vector<std::string> Out;
  for (const std::string &Kind : Rec)
    if (!Kind.empty() &&
        std::find(Stored.begin(), Stored.end(), Kind) == Stored.end() &&
        std::find(Out.begin(), Out.end(), Kind) == Out.end())
      Out.push_back(Kind);
  std::sort(Out.begin(), Out.end());
  return Out;
}

/// The kinds of the stages inside transformer layers that no stage outside
/// them has: checkpointable_layers that keeps embedding and head out.
static std::vector<std::string> layerKinds(const ChainAnalysis &A,
                                           ArrayRef<std::string> K) {
  auto Groups = transformerLayers(A);
  std::vector<std::string> Out;
  if (!Groups)
    return Out;
  std::vector<bool> In(A.numStages(), false);
  for (const LayerGroup &G : *Groups)
    for (unsigned I = G.Begin; I < G.End; ++I)
      In[I] = true;
  for (unsigned I = 0; I < K.size(); ++I)
    if (In[I] && std::find(Out.begin(), Out.end(), K[I]) == Out.end())
      Out.push_back(K[I]);
  for (unsigned I = 0; I < K.size(); ++I)
    if (!In[I] && std::find(Out.begin(), Out.end(), K[I]) != Out.end())
      return {};
  std::sort(Out.begin(), Out.end());
  return Out;
}

/// Over every stage (DeepSpeed's layers list); class-filtered plans when
/// \p Kinds names each stage.
static std::vector<TargetPlan> deepspeedFamily(const ChainAnalysis &A,
                                               ArrayRef<std::string> Kinds) {
  unsigned L = A.numStages();
  std::vector<TargetPlan> F;
  F.push_back(deepspeedPlan(L, 0, {}, Kinds));
  std::vector<std::vector<std::string>> ClassSets;
  if (Kinds.size() == L) {
    for (auto Set : {layerKinds(A, Kinds), recomputedOnlyKinds(A, Kinds)})
      if (!Set.empty() &&
          std::find(ClassSets.begin(), ClassSets.end(), Set) == ClassSets.end())
        ClassSets.push_back(Set);
  }
  for (unsigned K = 1; K <= L; ++K) {
    F.push_back(deepspeedPlan(L, K, {}, Kinds));
    for (const auto &Classes : ClassSets)
      F.push_back(deepspeedPlan(L, K, Classes, Kinds));
  }
  return F;
}

/// torchtitan 0.3.0 (torchtitan/distributed/activation_checkpoint.py):
/// Trainer.Config.activation_checkpoint is FullAC.Config() (every block of
/// model.layers wrapped), SelectiveAC.Config() (per-op policy), MemoryBudget
/// AC.Config() (the compiler's partitioner) or None. Only None and FullAC
/// take a layer plan.
static TargetPlan titanPlan(unsigned L, bool Full) {
  TargetPlan P;
  P.Segments = perStageSegments(std::vector<bool>(L, Full));
  P.Config = {{"mode", Full ? "full" : "none"},
              {"activation_checkpoint", Full ? "FullAC.Config()" : "None"}};
  P.Label = Full ? "every transformer block checkpointed (FullAC)"
                 : "no activation checkpointing";
  P.Snippet =
      Full ? "# torchtitan 0.3.0: in your config_registry's Trainer.Config\n"
             "from torchtitan.distributed.activation_checkpoint import FullAC\n"
             "activation_checkpoint=FullAC.Config()\n"
           : "# torchtitan 0.3.0: in your config_registry's Trainer.Config\n"
             "activation_checkpoint=None\n";
  return P;
}

static std::vector<TargetPlan> titanFamily(unsigned L) {
  return {titanPlan(L, false), titanPlan(L, true)};
}

TargetPlan renderCandidate(EmitTarget T, const ChainAnalysis &A, TargetPlan P) {
  if (T == EmitTarget::PyTorch || T == EmitTarget::Jax)
    return segmentPlanFor(T, A, P.Segments);
  if (T != EmitTarget::HF)
    return P;
  std::vector<bool> Stage(A.numStages(), false);
  for (const Segment &S : P.Segments)
    for (unsigned I = S.Begin; I < S.End && I < Stage.size(); ++I)
      Stage[I] = S.Checkpointed;
  std::vector<LayerGroup> G = hfLayers(A);
  std::vector<bool> Ckpt;
  for (const LayerGroup &L : G)
    Ckpt.push_back(Stage[L.Begin]);
  return hfPlan(A, G, Ckpt, std::move(P.Label));
}

std::vector<TargetPlan> targetFamily(EmitTarget T, const ChainAnalysis &A,
                                     ArrayRef<std::string> Kinds) {
  std::vector<TargetPlan> F = targetCandidates(T, A, Kinds);
  for (TargetPlan &P : F)
    P = renderCandidate(T, A, std::move(P));
  return F;
}

/// Megatron and torchtitan number transformer layers: their plans are made
/// over the layers and lowered to stages. DeepSpeed's chunks count stages.
static std::vector<TargetPlan> layerFamily(EmitTarget T, const ChainAnalysis &A,
                                           ArrayRef<std::string> Kinds) {
  if (T == EmitTarget::DeepSpeed)
    return deepspeedFamily(A, Kinds);
  auto Groups = transformerLayers(A);
  unsigned L = Groups ? Groups->size() : A.numStages();
  std::vector<TargetPlan> F =
      T == EmitTarget::Megatron ? megatronFamily(L) : titanFamily(L);
  if (Groups)
    for (TargetPlan &P : F)
      P.Segments = lowerSegments(*Groups, A.numStages(), P.Segments);
  if (Groups && T == EmitTarget::Megatron)
    for (TargetPlan &P : megatronSelective(A, *Groups, Kinds))
      F.push_back(std::move(P));
  return F;
}

std::vector<TargetPlan> targetCandidates(EmitTarget T, const ChainAnalysis &A,
                                         ArrayRef<std::string> Kinds) {
  unsigned L = A.numStages();
  switch (T) {
  case EmitTarget::HF:
    return hfFamily(A);
  case EmitTarget::Megatron:
  case EmitTarget::DeepSpeed:
  case EmitTarget::TorchTitan:
    return layerFamily(T, A, Kinds);
  case EmitTarget::PyTorch:
  case EmitTarget::Jax:
    break;
  }
  // Any single-level plan: the schedule's own (outer) segments, then every
  // K-th stage. Segments only; renderCandidate writes the code of the one
  // chosen (code for all L candidates took seconds and 250 MB at L = 2000).
  std::vector<TargetPlan> F{{"", {}, "", normalizeSegments(A.Segments)}};
  for (unsigned K = 1; K <= L; ++K)
    F.push_back({"", {}, "", chunkSegments(L, K, [](auto &) { return true; })});
  return F;
}

} // namespace remat

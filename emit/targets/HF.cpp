//===- emit/targets/HF.cpp - Hugging Face transformers --------------------===//
//
// Per-layer gradient checkpointing flags over the model's own
// GradientCheckpointingLayer modules (activation_checkpointing_enable, with
// every_n_layers where the plan is periodic).
//
//===----------------------------------------------------------------------===//

#include "emit/EmitInternal.h"
#include "emit/Trainer.h"

#include <fmt/format.h>

using namespace llvm;
using json = nlohmann::ordered_json;

namespace remat {

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

/// A Hugging Face candidate without its settings: render adds them
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

namespace {
class HFTrainer final : public Trainer {
public:
  StringRef name() const override { return "hf"; }
  StringRef version() const override { return "transformers 5.25.0"; }
  StringRef summary() const override {
    return "which GradientCheckpointingLayer modules checkpoint "
           "(activation_checkpointing_enable, every_n_layers when periodic)";
  }
  bool numbersLayers() const override { return true; }

  std::vector<TargetPlan> candidates(const ChainAnalysis &A,
                                     ArrayRef<std::string>) const override {
    return hfFamily(A);
  }

  TargetPlan render(const ChainAnalysis &A, TargetPlan P) const override {
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

  void addNotes(EmitResult &R, const ChainAnalysis &A) const override {
    if (splitLayer(A))
      R.Notes.push_back(
          "a split layer can run under layer-level checkpointing with a "
          "selective-checkpointing policy: remat emit --target pytorch gives "
          "it (selective_ac, torch >= 2.4), passed as context_fn in "
          "activation_checkpointing_kwargs");
  }
};
} // namespace

const Trainer &hfTrainer() {
  static const HFTrainer T;
  return T;
}

} // namespace remat

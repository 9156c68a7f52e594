//===- emit/targets/Megatron.cpp - Megatron-LM / megatron-core ------------===//
//
// Full recomputation (uniform or block, over transformer layers) and
// selective recomputation of whole submodules (--recompute-modules).
//
//===----------------------------------------------------------------------===//

#include "emit/EmitInternal.h"
#include "emit/Trainer.h"

#include "llvm/ADT/StringExtras.h"

#include <fmt/format.h>

using namespace llvm;
using json = nlohmann::ordered_json;

namespace remat {

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
    F.push_back(megatronPlan("uniform", K, uniformSegments(L, K)));
  for (unsigned K = 1; K <= L; ++K) {
    std::vector<bool> Ckpt(L, false);
    for (unsigned I = 0; I < K; ++I)
      Ckpt[I] = true;
    F.push_back(megatronPlan("block", K, perStageSegments(Ckpt)));
  }
  return F;
}

/// Megatron recomputes transformer layers only: a model whose stages do not
/// group into layers (<prefix>.<N>.*) and whose kinds name no transformer
/// part (attention, mlp, transformer, block, layer) is not a transformer
/// stack (resnet-1001: stem, bottleneck, head).
static bool notTransformerStack(const ChainAnalysis &A,
                                ArrayRef<std::string> Kinds) {
  if (Kinds.empty() || transformerLayers(A))
    return false;
  return std::none_of(Kinds.begin(), Kinds.end(), [](const std::string &K) {
    return K == "attention" || K == "mlp" || K == "transformer" ||
           K == "block" || K == "layer";
  });
}

namespace {
class MegatronTrainer final : public Trainer {
public:
  StringRef name() const override { return "megatron"; }
  StringRef version() const override { return "megatron-core 0.16.1"; }
  StringRef summary() const override {
    return "recompute flags: full (uniform or block, over layers) or selective "
           "--recompute-modules";
  }
  bool numbersLayers() const override { return true; }

  /// Megatron numbers transformer layers: plans are made over the layers
  /// and lowered to stages.
  std::vector<TargetPlan>
  candidates(const ChainAnalysis &A,
             ArrayRef<std::string> Kinds) const override {
    auto Groups = transformerLayers(A);
    std::vector<TargetPlan> F =
        megatronFamily(Groups ? Groups->size() : A.numStages());
    if (!Groups)
      return F;
    for (TargetPlan &P : F)
      P.Segments = lowerSegments(*Groups, A.numStages(), P.Segments);
    for (TargetPlan &P : megatronSelective(A, *Groups, Kinds))
      F.push_back(std::move(P));
    return F;
  }

  std::optional<std::pair<std::string, TargetPlan>>
  refuseModel(const ChainAnalysis &A,
              ArrayRef<std::string> Kinds) const override {
    if (!notTransformerStack(A, Kinds))
      return std::nullopt;
    TargetPlan P;
    P.Label = "not expressible";
    P.Config = {{"recompute_granularity", nullptr}};
    P.Snippet = "# megatron-core 0.16.1: not expressible (not a "
                "transformer stack)\n";
    return std::pair<std::string, TargetPlan>(
        "the model is not a transformer stack (no stage named "
        "<prefix>.<N>.*, no attention, mlp, transformer, block or layer "
        "kind); Megatron recomputes transformer layers only",
        std::move(P));
  }

  std::string splitLayerRule() const override {
    return "checkpoints whole layers, or the same submodules (mlp, moe) in "
           "every layer";
  }

  void addNotes(EmitResult &R, const ChainAnalysis &) const override {
    if (R.Plan.Config.contains("recompute_num_layers"))
      R.Notes.push_back("recompute_num_layers counts layers per pipeline "
                        "stage; with pipeline parallelism, plan and emit each "
                        "stage's chain on its own");
  }
};
} // namespace

const Trainer &megatronTrainer() {
  static const MegatronTrainer T;
  return T;
}

} // namespace remat

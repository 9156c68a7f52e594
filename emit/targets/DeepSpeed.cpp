//===- emit/targets/DeepSpeed.cpp - DeepSpeed PipelineModule --------------===//
//
// activation_checkpoint_interval over every entry of the PipelineModule's
// layers (stages, not transformer layers), optionally limited to
// checkpointable_layers classes, and the ds_config sections.
//
//===----------------------------------------------------------------------===//

#include "emit/EmitInternal.h"
#include "emit/Trainer.h"

#include <fmt/format.h>

using namespace llvm;
using json = nlohmann::ordered_json;

namespace remat {

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

namespace {
class DeepSpeedTrainer final : public Trainer {
public:
  StringRef name() const override { return "deepspeed"; }
  StringRef version() const override { return "deepspeed 0.19.8"; }
  StringRef summary() const override {
    return "PipelineModule activation_checkpoint_interval and "
           "checkpointable_layers, and the ds_config sections";
  }

  std::vector<TargetPlan>
  candidates(const ChainAnalysis &A,
             ArrayRef<std::string> Kinds) const override {
    return deepspeedFamily(A, Kinds);
  }

  void addNotes(EmitResult &R, const ChainAnalysis &) const override {
    // The offload variant of the chosen plan: cpu_checkpointing copies the
    // input each checkpointed chunk keeps to host memory (deepspeed 0.19.8,
    // runtime/activation_checkpointing/checkpointing.py, both the reentrant
    // and the non-reentrant path).
    if (R.Plan.Config.value("activation_checkpoint_interval", 0u) > 0) {
      R.Plan.Config["offload"] = {
          {"kind", "offload"},
          {"ds_config",
           {{"activation_checkpointing", {{"cpu_checkpointing", true}}}}},
          {"simulated", false}};
      R.Notes.push_back(
          "offload variant (plan.config.offload, not remat's plan): "
          "activation_checkpointing.cpu_checkpointing true keeps each "
          "checkpointed chunk's input in host memory instead of on the "
          "device; the transfer time is not simulated");
    }
    R.Notes.push_back(
        "DeepSpeed chunks range(0, len(layers), interval) over every entry "
        "of layers, embedding and head included; with "
        "checkpointable_layers=None it checkpoints the chunks that contain "
        "parameters (remat assumes every stage has), so name the classes; "
        "non_reentrant_checkpoint lets a checkpointed first chunk get its "
        "gradient (DeepSpeed issue #688)");
  }
};
} // namespace

const Trainer &deepspeedTrainer() {
  static const DeepSpeedTrainer T;
  return T;
}

} // namespace remat

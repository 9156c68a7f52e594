//===- emit/targets/Jax.cpp - JAX -----------------------------------------===//
//
// jax.checkpoint per checkpointed segment for single-level plans, nested
// jax.checkpoint for multi-level plans in nested order (emit/Nested.cpp),
// and save_only_these_names over tagged node outputs for graph schedules.
//
//===----------------------------------------------------------------------===//

#include "emit/EmitInternal.h"
#include "emit/Trainer.h"

#include <fmt/format.h>

using namespace llvm;
using json = nlohmann::ordered_json;

namespace remat {

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

static TargetPlan jaxSegmentPlan(const ChainAnalysis &A,
                                 ArrayRef<Segment> Segs) {
  TargetPlan P;
  P.Segments = normalizeSegments(Segs);
  P.Config["segments"] = segmentsJson(A, P.Segments);
  json Names = json::array();
  for (const Segment &G : P.Segments)
    if (G.Checkpointed)
      Names.push_back(fmt::format("x{}", G.Begin));
  P.Label = "jax.checkpoint per checkpointed segment";
  P.Config["saved_names"] = Names;
  P.Snippet = jaxSnippet(A, P.Segments);
  return P;
}

/// The offload variant of a plan that saves the values tagged \p Names:
/// save_and_offload_only_these_names moves them to host memory instead of
/// keeping them on the device, and recomputes the rest as before. Not
/// remat's plan: the transfers are not simulated.
static json offloadVariant(const json &Names, StringRef Wrapped) {
  std::string Code =
      "# jax 0.10.2: offload variant\nimport jax\n"
      "offloaded_names = " +
      codeLiteral(Names) +
      "\npolicy = jax.checkpoint_policies."
      "save_and_offload_only_these_names(\n"
      "    names_which_can_be_saved=[], "
      "names_which_can_be_offloaded=offloaded_names,\n"
      "    offload_src=\"device\", offload_dst=\"pinned_host\")\n" +
      Wrapped.str() + " = jax.checkpoint(" + Wrapped.str() +
      ", policy=policy)\n";
  return {{"kind", "offload"},
          {"policy", "save_and_offload_only_these_names"},
          {"names_which_can_be_offloaded", Names},
          {"offload_src", "device"},
          {"offload_dst", "pinned_host"},
          {"simulated", false},
          {"snippet", Code}};
}

static const char *OffloadNote =
    "offload variant (plan.config.offload, not remat's plan): the same "
    "values, tagged by name, go to pinned host memory instead of staying on "
    "the device; the device then holds none of them, and the transfer time "
    "is not simulated";

namespace {
class JaxTrainer final : public Trainer {
public:
  StringRef name() const override { return "jax"; }
  StringRef version() const override { return "jax 0.10.2"; }
  StringRef summary() const override {
    return "jax.checkpoint code, nested for multi-level plans; "
           "save_only_these_names for graph plans";
  }
  bool takesGraphSchedules() const override { return true; }

  std::vector<TargetPlan> candidates(const ChainAnalysis &A,
                                     ArrayRef<std::string>) const override {
    return anySegmentPlans(A);
  }
  TargetPlan render(const ChainAnalysis &A, TargetPlan P) const override {
    return jaxSegmentPlan(A, P.Segments);
  }

  bool exactForm(EmitResult &R, const Schedule &S,
                 const ChainAnalysis &A) const override {
    // Multi-level, but in nested order: nested jax.checkpoint runs it.
    auto Nested = nestedCheckpoints(S.chainOps(), A.numStages());
    if (!Nested)
      return false;
    R.Exact = true;
    R.Plan = nestedJaxPlan(A, *Nested);
    return true;
  }

  std::string multiLevelReason() const override {
    return "the schedule recomputes at several levels in an order nested "
           "jax.checkpoint does not follow (a region's stages are "
           "recomputed outside its own backward)";
  }

  void addNotes(EmitResult &R, const ChainAnalysis &A) const override {
    if (R.Exact && A.MultiLevel)
      R.Notes.push_back(
          "nested jax.checkpoint recomputes in the schedule's order (ops "
          "checked against it); XLA chooses buffer lifetimes, so the peak is "
          "the schedule's under remat's accounting, not a promise about XLA");
  }

  void renderGraph(EmitResult &R, const Schedule &, const json &,
                   const json &Saved) const override {
    R.Plan.Config["saved_names"] = Saved;
    R.Plan.Snippet =
        "# jax 0.10.2\nimport jax\n"
        "from jax.ad_checkpoint import checkpoint_name\n"
        "# tag each node's output: y = checkpoint_name(y, \"<node name>\")\n"
        "saved_names = " +
        codeLiteral(Saved) +
        "\npolicy = jax.checkpoint_policies.save_only_these_names("
        "*saved_names)\nloss_fn = jax.checkpoint(loss_fn, policy=policy)\n";
    R.Notes.push_back(
        "JAX saves exactly the tagged outputs in saved_names that the "
        "backward needs and recomputes every other residual, including those "
        "inside a node whose output is saved: the plan's count of "
        "recomputations holds when each node is one JAX operation "
        "(jax.ad_checkpoint.print_saved_residuals lists what is saved)");
    if (!Saved.empty()) {
      R.Plan.Config["offload"] = offloadVariant(Saved, "loss_fn");
      R.Notes.push_back(OffloadNote);
    }
  }
};
} // namespace

const Trainer &jaxTrainer() {
  static const JaxTrainer T;
  return T;
}

} // namespace remat

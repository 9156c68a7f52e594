//===- planner/EmitRender.cpp - Text and JSON forms of an emit result -----===//
//
// The remat_torch plan document, the graph-dialect per-node list, the
// terminal report and the --json object of `remat emit`.
//
//===----------------------------------------------------------------------===//

#include "planner/Emit.h"

#include "graph/Size.h"

#include <fmt/format.h>

using namespace llvm;
using json = nlohmann::ordered_json;

namespace remat {

static json opsJson(const Schedule &S, const ChainAnalysis &A) {
  json Ops = json::array();
  for (const ChainOp &Op : S.ChainOps) {
    json O = {{"op", chainOpName(Op.Kind).str()}};
    if (Op.Kind != ChainOpKind::Loss) {
      O["layer"] = Op.Layer;
      O["name"] = A.Stages[Op.Layer].Name;
    }
    Ops.push_back(std::move(O));
  }
  return Ops;
}

static json budgetJson(const Schedule &S) {
  return S.BudgetBytes ? json(*S.BudgetBytes) : json(nullptr);
}

static const char *SelectiveNote =
    "selective_ac is this plan as PyTorch >= 2.4 selective activation "
    "checkpointing: a policy_fn that recomputes the ATen ops run inside "
    "recomputed blocks and saves the others (the model names blocks, not "
    "ATen ops); null for multi-level plans, which SAC cannot express";

/// The document remat_torch.apply reads (docs/trainers.md describes it).
json torchPlanJson(const Schedule &S, const ChainAnalysis &A,
                   const TargetPlan &Plain) {
  json Layers = json::array();
  unsigned Seg = 0;
  for (unsigned I = 0; I < A.numStages(); ++I) {
    // Segments partition [0, L) in order.
    while (Seg + 1 < A.Segments.size() && A.Segments[Seg].End <= I)
      ++Seg;
    Layers.push_back(
        {{"index", I},
         {"name", A.Stages[I].Name},
         {"action", A.Stages[I].recomputed() ? "recomputed" : "stored"},
         {"forward_count", A.Stages[I].ForwardCount},
         {"segment", Seg}});
  }
  json Doc = {{"format", "remat-torch-plan"},
              {"version", 1},
              {"dialect", "chain"},
              {"model", S.ModelName},
              {"model_sha256", S.ModelSha256},
              {"strategy", S.Strategy},
              {"budget_bytes", budgetJson(S)},
              {"num_layers", A.numStages()},
              {"multi_level", A.MultiLevel},
              {"layers", Layers}};
  Doc["segments"] = Plain.Config["segments"];
  Doc["torch_checkpoint"] = A.MultiLevel
                                ? json(nullptr)
                                : json{{"checkpoint_sequential",
                                        Plain.Config["checkpoint_sequential"]},
                                       {"use_reentrant", false},
                                       {"preserve_rng_state", true},
                                       {"code", Plain.Snippet}};
  Doc["selective_ac"] = selectiveAcJson(A);
  Doc["selective_ac_note"] = SelectiveNote;
  Doc["ops"] = opsJson(S, A);
  return Doc;
}

Expected<EmitResult> emitGraphSchedule(const Schedule &S, EmitTarget T,
                                       const Model *M) {
  if (T != EmitTarget::PyTorch && T != EmitTarget::Jax)
    return createStringError(
        inconvertibleErrorCode(),
        "target '%s' needs a chain schedule, but this schedule is in the "
        "graph dialect; use --target pytorch or --target jax for a per-node "
        "save/recompute list",
        emitTargetName(T).str().c_str());
  std::vector<unsigned> Count(S.Names.size(), 0);
  for (const GraphOp &Op : S.GraphOps)
    if (Op.Kind == GraphOpKind::Compute && Op.Node < Count.size())
      ++Count[Op.Node];
  json Nodes = json::array(), Saved = json::array();
  for (size_t N = 0; N < Count.size(); ++N) {
    bool Forward =
        !M || N >= M->G.size() || M->G.Nodes[N].NodePhase == Phase::Forward;
    if (!Forward)
      continue;
    bool Rec = Count[N] > 1;
    Nodes.push_back({{"name", S.Names[N]},
                     {"computations", Count[N]},
                     {"action", Rec ? "recompute" : "save"}});
    if (!Rec)
      Saved.push_back(S.Names[N]);
  }
  EmitResult R;
  R.Target = T;
  R.NotExactReason = "a graph schedule's op order cannot be handed to the "
                     "trainer; this is the per-node save/recompute decision";
  R.Plan.Label = "per-node save/recompute list";
  R.Plan.Config = {{"dialect", "graph"}, {"nodes", Nodes}};
  R.Notes.push_back(fmt::format("remat's decision: {} forward nodes, {} "
                                "outputs saved, {} recomputed",
                                Nodes.size(), Saved.size(),
                                Nodes.size() - Saved.size()));
  if (T == EmitTarget::Jax) {
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
  } else {
    R.TorchPlan = {{"format", "remat-torch-plan"},
                   {"version", 1},
                   {"dialect", "graph"},
                   {"model", S.ModelName},
                   {"model_sha256", S.ModelSha256},
                   {"strategy", S.Strategy},
                   {"nodes", Nodes}};
    R.Notes.push_back("remat_torch.apply runs chain schedules only");
  }
  if (!M)
    R.Notes.push_back("without --model every node is listed; with it only "
                      "forward-phase nodes are");
  return R;
}

static std::string costRow(StringRef Label, const PlanCost &C, StringRef Unit) {
  return fmt::format(
      "  {:<10} {:>14} {:>12} {:>15}\n", Label.str(), formatSize(C.PeakBytes),
      fmt::format("{:.4g} {}", C.Time, Unit.str()), C.ForwardRecomputations);
}

static std::string decisionsTable(const ChainAnalysis &A) {
  size_t W = 4;
  for (const StageDecision &D : A.Stages)
    W = std::max(W, D.Name.size());
  std::string S = fmt::format("  {:>5}  {:<{}}  {:>8}  {:<10}  {}\n", "layer",
                              "name", W, "forwards", "decision", "segment");
  for (unsigned K = 0; K < A.Segments.size(); ++K) {
    const Segment &G = A.Segments[K];
    for (unsigned I = G.Begin; I < G.End; ++I) {
      const StageDecision &D = A.Stages[I];
      S +=
          fmt::format("  {:>5}  {:<{}}  {:>8}  {:<10}  {}{}\n", I, D.Name, W,
                      D.ForwardCount, D.recomputed() ? "recomputed" : "stored",
                      K, G.Checkpointed && I == G.Begin ? " (input kept)" : "");
    }
  }
  return S;
}

static std::string indent(StringRef Text) {
  std::string S;
  SmallVector<StringRef, 16> Lines;
  Text.rtrim('\n').split(Lines, '\n');
  for (StringRef L : Lines)
    S += L.empty() ? std::string("\n") : "  " + L.str() + "\n";
  return S;
}

static std::string nearestText(const EmitResult &R, StringRef Unit) {
  const NearestPlan &N = *R.Nearest;
  unsigned L = R.Analysis ? R.Analysis->numStages() : 0;
  std::string S = fmt::format(
      "nearest {} plan: {}\n  differs from the schedule in {} of {} stages\n",
      emitTargetName(R.Target).str(), N.Plan.Label, N.DifferingStages, L);
  if (!N.Cost || !R.OriginalCost)
    return S + "  cost: needs the model (pass --model MODEL)\n";
  S += fmt::format("  {:<10} {:>14} {:>12} {:>15}\n", "", "peak", "time",
                   "recomputations");
  S += costRow("schedule", *R.OriginalCost, Unit);
  S += costRow("nearest", *N.Cost, Unit);
  S += N.FitsOriginalPeak ? "  (fits within the schedule's peak)\n"
                          : "  (above the schedule's peak: no plan of this "
                            "family fits it; this one has the least peak)\n";
  return S;
}

std::string renderEmitText(const EmitResult &R, const Schedule &S,
                           StringRef TimeUnit) {
  std::string Out = fmt::format(
      "schedule: strategy {} for model {}, {} ops, {} dialect\n"
      "target:   {} (written for {})\n",
      S.Strategy, S.ModelName, S.numOps(),
      S.Kind == Dialect::Chain ? "chain" : "graph",
      emitTargetName(R.Target).str(), emitTargetVersion(R.Target).str());
  Out +=
      R.Exact
          ? "exact:    yes, the target runs the schedule's decisions\n"
          : "exact:    no, not exactly expressible: " + R.NotExactReason + "\n";
  if (R.Analysis) {
    Out += fmt::format("\nlayer decisions ({}):\n",
                       R.Analysis->MultiLevel ? "multi-level recomputation"
                                              : "single level");
    Out += decisionsTable(*R.Analysis);
  }
  if (R.Nearest)
    Out += "\n" + nearestText(R, TimeUnit);
  else if (R.OriginalCost)
    Out += fmt::format("\nschedule cost: peak {}, time {:.4g} {}\n",
                       formatSize(R.OriginalCost->PeakBytes),
                       R.OriginalCost->Time, TimeUnit.str());
  Out += fmt::format("\n{} settings ({}):\n", emitTargetName(R.Target).str(),
                     R.Plan.Label);
  Out +=
      indent(R.Plan.Snippet.empty() ? R.Plan.Config.dump(2) : R.Plan.Snippet);
  if (!R.Notes.empty()) {
    Out += "\nnotes:\n";
    for (const std::string &N : R.Notes)
      Out += "  - " + N + "\n";
  }
  return Out;
}

static json costJson(const std::optional<PlanCost> &C) {
  if (!C)
    return nullptr;
  return {{"peak_bytes", C->PeakBytes},
          {"time", C->Time},
          {"forward_recomputations", C->ForwardRecomputations}};
}

json emitResultToJson(const EmitResult &R, const Schedule &S) {
  json J = {
      {"target", emitTargetName(R.Target).str()},
      {"target_version", emitTargetVersion(R.Target).str()},
      {"model", S.ModelName},
      {"strategy", S.Strategy},
      {"exact", R.Exact},
      {"not_exact_reason", R.Exact ? json(nullptr) : json(R.NotExactReason)}};
  if (R.Analysis) {
    J["multi_level"] = R.Analysis->MultiLevel;
    json Layers = json::array();
    for (const StageDecision &D : R.Analysis->Stages)
      Layers.push_back({{"name", D.Name},
                        {"forward_count", D.ForwardCount},
                        {"action", D.recomputed() ? "recomputed" : "stored"}});
    J["layers"] = Layers;
  }
  J["plan"] = {{"label", R.Plan.Label},
               {"config", R.Plan.Config},
               {"snippet", R.Plan.Snippet}};
  J["schedule_cost"] = costJson(R.OriginalCost);
  if (R.Nearest)
    J["nearest"] = {
        {"differing_layers", R.Nearest->DifferingStages},
        {"cost", costJson(R.Nearest->Cost)},
        {"fits_schedule_peak",
         R.Nearest->Cost ? json(R.Nearest->FitsOriginalPeak) : json(nullptr)}};
  if (!R.TorchPlan.is_null())
    J["torch_plan"] = R.TorchPlan;
  J["notes"] = R.Notes;
  return J;
}

} // namespace remat

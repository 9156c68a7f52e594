//===- emit/Render.cpp - Text and JSON forms of an emit result ------------===//
//
// The terminal report and the --json object of `remat emit`.
//
//===----------------------------------------------------------------------===//

#include "emit/Emit.h"
#include "emit/Trainer.h"

#include "graph/Size.h"

#include <fmt/format.h>

using namespace llvm;
using json = nlohmann::ordered_json;

namespace remat {

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
      R.Target->name().str(), N.Plan.Label, N.DifferingStages, L);
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
  std::string Out =
      fmt::format("schedule: strategy {} for model {}, {} ops, {} dialect\n"
                  "target:   {} (written for {})\n",
                  S.Strategy, S.ModelName, S.numOps(),
                  S.dialect() == Dialect::Chain ? "chain" : "graph",
                  R.Target->name().str(), R.Target->version().str());
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
  Out += fmt::format("\n{} settings ({}):\n", R.Target->name().str(),
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
      {"target", R.Target->name().str()},
      {"target_version", R.Target->version().str()},
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

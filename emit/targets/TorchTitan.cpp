//===- emit/targets/TorchTitan.cpp - torchtitan ---------------------------===//
//
// torchtitan takes a layer plan only as FullAC (every block) or none; its
// per-op SelectiveAC and MemoryBudgetAC are reported as notes.
//
//===----------------------------------------------------------------------===//

#include "emit/EmitInternal.h"
#include "emit/Trainer.h"

#include <fmt/format.h>

using namespace llvm;
using json = nlohmann::ordered_json;

namespace remat {

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

/// torchtitan's MemoryBudgetAC takes a fraction of the store-everything
/// activation memory (1 saves everything, 0 recomputes as much as the
/// compiler can): the schedule's peak over the store-all plan's peak is the
/// nearest value, approximate since the partitioner chooses what to
/// recompute.
static Error addMemoryBudgetNote(EmitResult &R, const Chain &C, unsigned L) {
  auto All = segmentPlanCost(C, {Segment{0, L, false}});
  if (!All)
    return All.takeError();
  if (All->PeakBytes == 0 || !R.OriginalCost)
    return Error::success();
  double F =
      std::min(1.0, double(R.OriginalCost->PeakBytes) / double(All->PeakBytes));
  R.Notes.push_back(fmt::format(
      "approximate, not this plan: activation_checkpoint=MemoryBudgetAC."
      "Config(memory_budget={:.2f}) (torchtitan 0.3.0, needs compile) asks "
      "torch.compile's partitioner for about the schedule's peak relative to "
      "storing everything ({} of {} bytes); the partitioner, not remat, then "
      "chooses what to recompute",
      F, R.OriginalCost->PeakBytes, All->PeakBytes));
  return Error::success();
}

namespace {
class TorchTitanTrainer final : public Trainer {
public:
  StringRef name() const override { return "torchtitan"; }
  StringRef version() const override { return "torchtitan 0.3.0"; }
  StringRef summary() const override {
    return "Trainer.Config activation_checkpoint: FullAC.Config() or None";
  }
  bool numbersLayers() const override { return true; }

  /// Over the transformer layers when stages group, lowered to stages.
  std::vector<TargetPlan> candidates(const ChainAnalysis &A,
                                     ArrayRef<std::string>) const override {
    auto Groups = transformerLayers(A);
    unsigned L = Groups ? Groups->size() : A.numStages();
    std::vector<TargetPlan> F{titanPlan(L, false), titanPlan(L, true)};
    if (Groups)
      for (TargetPlan &P : F)
        P.Segments = lowerSegments(*Groups, A.numStages(), P.Segments);
    return F;
  }

  std::string outsideFamilyReason() const override {
    return "torchtitan checkpoints every transformer block (FullAC) or none; "
           "its per-op and memory-budget modes take no layer plan";
  }

  void addNotes(EmitResult &R, const ChainAnalysis &) const override {
    R.Notes.push_back("torchtitan's SelectiveAC (per-op: saves the outputs "
                      "of compute-intensive ops, recomputes every second "
                      "matmul) and MemoryBudgetAC (the compiler's "
                      "partitioner under activation_memory_budget) do not "
                      "take a layer plan: remat cannot express them");
  }

  Error addCostNotes(EmitResult &R, const Chain &C,
                     const ChainAnalysis &A) const override {
    return addMemoryBudgetNote(R, C, A.numStages());
  }
};
} // namespace

const Trainer &torchtitanTrainer() {
  static const TorchTitanTrainer T;
  return T;
}

} // namespace remat

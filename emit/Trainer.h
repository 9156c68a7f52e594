//===- emit/Trainer.h - A trainer that remat emit writes for ----*- C++ -*-===//
//
// Each trainer (PyTorch, Hugging Face, Megatron, DeepSpeed, torchtitan, JAX)
// is one subclass of Trainer in emit/targets/<Name>.cpp and one line in
// emit/Trainers.def. The shared pipeline (emit/Emit.cpp) reads the schedule,
// asks the trainer for the plans it can express, matches them against the
// schedule, picks the nearest plan when none matches, and lets the trainer
// add its own forms and notes through the hooks below. docs/trainers.md
// describes what each trainer expresses and the sources of its flag names.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_EMIT_TRAINER_H
#define REMAT_EMIT_TRAINER_H

#include "emit/Emit.h"

namespace remat {

/// What one trainer can express and how it writes it. Stateless: one
/// instance per trainer, returned by the function its Trainers.def line
/// names.
class Trainer {
public:
  virtual ~Trainer() = default;

  /// The command-line spelling (`--target hf`).
  virtual llvm::StringRef name() const = 0;
  /// The package and version the output was written for and checked against
  /// (tests/python/test_trainers_*.py run it on that version), e.g.
  /// "transformers 5.25.0".
  virtual llvm::StringRef version() const = 0;
  /// One line for `remat emit --help`: what the output is.
  virtual llvm::StringRef summary() const = 0;

  /// True when the trainer numbers transformer layers rather than stages
  /// (Hugging Face, Megatron, torchtitan): the result then says how stages
  /// group into layers.
  virtual bool numbersLayers() const { return false; }

  /// True when the trainer runs remat's op list itself (remat_torch's
  /// executor): every chain schedule is then exact through exactForm, and
  /// the family is not matched against it.
  virtual bool executesSchedules() const { return false; }

  /// The plans the trainer can express for the chain \p A, whose stages have
  /// kinds \p Kinds (empty when unknown), in a fixed order. A plan may carry
  /// only its label and segments when rendering it is costly; render()
  /// completes the one chosen. Empty when the trainer needs no family
  /// (remat_torch runs any schedule).
  virtual std::vector<TargetPlan>
  candidates(const ChainAnalysis &A,
             llvm::ArrayRef<std::string> Kinds) const = 0;

  /// \p P, one of candidates(A, ...), with its settings and snippet filled in.
  virtual TargetPlan render(const ChainAnalysis &A, TargetPlan P) const {
    return P;
  }

  /// Why the model cannot be expressed at all (Megatron: not a transformer
  /// stack), with the plan to report instead; none when it can.
  virtual std::optional<std::pair<std::string, TargetPlan>>
  refuseModel(const ChainAnalysis &A, llvm::ArrayRef<std::string> Kinds) const {
    return std::nullopt;
  }

  /// A form that runs \p S exactly when no plan of the family matches it
  /// (remat_torch's executor, nested jax.checkpoint); sets R.Exact, R.Plan
  /// (and R.TorchPlan) and returns true, or leaves \p R and returns false.
  virtual bool exactForm(EmitResult &R, const Schedule &S,
                         const ChainAnalysis &A) const {
    return false;
  }

  /// Why a multi-level schedule is not expressible.
  virtual std::string multiLevelReason() const;
  /// What the trainer does with a transformer layer, for the reason given
  /// when a layer is split ("checkpoints whole layers").
  virtual std::string splitLayerRule() const;
  /// Why a single-level schedule is outside the family.
  virtual std::string outsideFamilyReason() const;

  /// Notes on the trainer's semantics, appended after the shared ones.
  virtual void addNotes(EmitResult &R, const ChainAnalysis &A) const {}
  /// Notes that need the model's costs (torchtitan's memory budget).
  virtual llvm::Error addCostNotes(EmitResult &R, const Chain &C,
                                   const ChainAnalysis &A) const {
    return llvm::Error::success();
  }

  /// Graph schedules: true when the trainer takes the per-node
  /// save/recompute list (PyTorch, JAX); others refuse graph schedules.
  virtual bool takesGraphSchedules() const { return false; }
  /// Completes \p R for a graph schedule: \p Nodes is the per-node list,
  /// \p Saved the names of the saved forward nodes.
  virtual void renderGraph(EmitResult &R, const Schedule &S,
                           const nlohmann::ordered_json &Nodes,
                           const nlohmann::ordered_json &Saved) const {}
};

/// Every trainer, in Trainers.def order.
llvm::ArrayRef<const Trainer *> allTrainers();
/// The trainer spelled \p Name on the command line; null for anything else.
const Trainer *findTrainer(llvm::StringRef Name);
/// "pytorch, hf, megatron, deepspeed, torchtitan, jax".
std::string trainerList();

} // namespace remat

#endif // REMAT_EMIT_TRAINER_H

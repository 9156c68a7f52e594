//===- emit/Emit.h - Trainer-facing forms of a schedule ------- -*- C++ -*-===//
//
// `remat emit` turns a schedule into what a trainer consumes: a JSON plan for
// the remat_torch executor (PyTorch), per-layer checkpoint flags (Hugging
// Face), recompute flags (Megatron-LM), PipelineModule arguments (DeepSpeed),
// an [activation_checkpoint] TOML section (torchtitan) or jax.checkpoint code
// (JAX).
//
// A chain schedule is first reduced to per-stage decisions (analyzeChainOps):
// which stages are stored (recorded once, never recomputed), which are
// recomputed, and where the checkpointed segments start. Trainers other than
// remat_torch can only express single-level segment plans from a fixed
// family (e.g. Megatron's "uniform N"); when the schedule is not in the
// family, the result says so and carries the nearest plan of the family,
// with its simulated cost when the model is given. docs/trainers.md lists
// each trainer's family and the sources of the flag names; emit/Trainer.h
// is the interface each trainer implements.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_EMIT_EMIT_H
#define REMAT_EMIT_EMIT_H

#include "graph/Graph.h"
#include "planner/Schedule.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace remat {

class Trainer;

/// Stages [Begin, End) run as one unit: stored (recorded in the forward
/// pass, never recomputed) or checkpointed (only x_Begin kept; the stages are
/// recomputed once, recording, before their backward).
struct Segment {
  unsigned Begin = 0;
  unsigned End = 0;
  bool Checkpointed = false;
  friend bool operator==(const Segment &A, const Segment &B) {
    return A.Begin == B.Begin && A.End == B.End &&
           A.Checkpointed == B.Checkpointed;
  }
};

/// What the schedule does with one stage.
struct StageDecision {
  std::string Name;
  /// Forward ops (F_ck, F_n, F_all) on the stage; 1 means stored.
  unsigned ForwardCount = 0;
  bool recomputed() const { return ForwardCount > 1; }
};

/// \p Name made safe inside emitted code's comments and in text: control
/// bytes (newline, NUL, ESC, ...) become \n, \r, \t or \xNN, and the
/// Unicode line separators, C1 controls and bidirectional overrides (U+0080
/// to U+009F, U+200E, U+200F, U+2028 to U+202E, U+2066 to U+2069) become
/// \uNNNN, so a name cannot end a comment, inject a line or reorder what a
/// reader sees. A backslash becomes \\ so the escaping can be read back.
/// Other text, UTF-8 included, is kept.
std::string safeName(llvm::StringRef Name);

/// \p V as a literal in emitted code (a JSON string, or a list of them, is
/// also a Python literal): its compact dump with DEL and the code points
/// that safeName escapes written as \uNNNN, which JSON and Python read
/// alike (all are in the BMP, so no surrogate pairs).
std::string codeLiteral(const nlohmann::ordered_json &V);

/// Per-stage reading of a chain schedule.
struct ChainAnalysis {
  std::vector<StageDecision> Stages;
  /// Top-level segments, a partition of [0, L) in order; runs of stored
  /// stages are merged into one stored segment. A checkpointed segment
  /// starts at stage 0, after a stored stage, or at an x_i that is resident
  /// when the loss runs.
  std::vector<Segment> Segments;
  /// True when some stage is computed more than twice or a recomputation
  /// does not record (nested recomputation, as in revolve or optimal plans);
  /// then Segments is only the outer level.
  bool MultiLevel = false;

  unsigned numStages() const { return static_cast<unsigned>(Stages.size()); }
};

/// Reads \p Ops (spec §3a) over \p NumStages stages. \p Names gives stage
/// names by index; missing entries become "stage<i>". Fails when an op's
/// layer is out of range, an operand is not resident, or the loss is missing.
llvm::Expected<ChainAnalysis>
analyzeChainOps(llvm::ArrayRef<ChainOp> Ops, unsigned NumStages,
                llvm::ArrayRef<std::string> Names);

/// Merges adjacent stored segments (the canonical form used to compare).
std::vector<Segment> normalizeSegments(llvm::ArrayRef<Segment> Segs);

/// Peak, time and recomputations of a plan under spec §3a, simulated.
struct PlanCost {
  /// Peak activation memory, bytes.
  uint64_t PeakBytes = 0;
  /// Sum of the executed ops' times, model time unit.
  double Time = 0;
  uint64_t ForwardRecomputations = 0;
};

/// One plan a target can express: its settings and the segments they mean.
struct TargetPlan {
  /// Short description, e.g. "uniform, 2 layers per chunk".
  std::string Label;
  /// The target's settings (flag names as the trainer spells them).
  nlohmann::ordered_json Config;
  /// The code or configuration text that applies the settings.
  std::string Snippet;
  std::vector<Segment> Segments;
};

/// The nearest expressible plan when the schedule is not expressible.
struct NearestPlan {
  TargetPlan Plan;
  /// Simulated cost; none without the model.
  std::optional<PlanCost> Cost;
  /// Stages whose stored/recomputed decision differs from the schedule's.
  unsigned DifferingStages = 0;
  /// Whether Cost's peak is within the schedule's own peak.
  bool FitsOriginalPeak = false;
};

/// Everything `remat emit` reports for one target.
struct EmitResult {
  /// The trainer written for; never null in a result of emitSchedule.
  const Trainer *Target = nullptr;
  /// True when the trainer can run exactly the schedule's decisions.
  bool Exact = false;
  /// Why not, when !Exact.
  std::string NotExactReason;
  /// The plan to use: the exact one, else the nearest.
  TargetPlan Plan;
  /// Set when !Exact.
  std::optional<NearestPlan> Nearest;
  /// The schedule's own simulated cost; none without the model.
  std::optional<PlanCost> OriginalCost;
  /// Caveats to print (semantics of the target, missing --model, ...).
  std::vector<std::string> Notes;
  /// The stage analysis (chain schedules only).
  std::optional<ChainAnalysis> Analysis;
  /// PyTorch: the remat_torch plan document; other targets: null.
  nlohmann::ordered_json TorchPlan;
};

/// Emits \p S for \p T. \p M, when given, is the model the schedule was made
/// for: it supplies stage kinds and the simulated costs of the schedule and
/// of the nearest plan. Graph schedules are accepted by PyTorch and JAX only
/// (a per-node save/recompute list); other targets fail with a message that
/// names the target.
llvm::Expected<EmitResult> emitSchedule(const Schedule &S, const Trainer &T,
                                        const Model *M);

/// Stages [Begin, End) that make up one trainer layer.
struct LayerGroup {
  unsigned Begin = 0;
  unsigned End = 0;
};

/// The trainer's transformer layers: runs of consecutive stages whose names
/// share a prefix ending in a layer index, `<prefix>.<N>.` (h.3.attn and
/// h.3.mlp form layer h.3), or whose whole name ends in one
/// (model.layers.3). Stages that do not match (embed, head) are
/// outside the stack. None when no stage name matches; then every stage is
/// its own layer.
std::optional<std::vector<LayerGroup>>
transformerLayers(const ChainAnalysis &A);

/// The plans \p T can express for a chain with stage kinds \p Kinds (empty
/// when unknown), in a fixed order, each with its settings and snippet:
/// T.candidates, each rendered. Megatron, DeepSpeed and torchtitan plans are
/// defined over transformerLayers (when any) and lowered to stage segments:
/// a checkpointed layer group keeps its first stage's input and recomputes
/// all its stages; stages outside the stack are stored. \p A is the
/// schedule being matched (some families, such as Hugging Face's per-layer
/// flags, derive a candidate from it).
std::vector<TargetPlan> targetFamily(const Trainer &T, const ChainAnalysis &A,
                                     llvm::ArrayRef<std::string> Kinds);

/// Builds the chain ops of a segment plan and simulates them on \p C.
llvm::Expected<PlanCost> segmentPlanCost(const Chain &C,
                                         llvm::ArrayRef<Segment> Segs);

/// Checkpoint regions of the selective-activation-checkpointing form of a
/// single-level plan: each checkpointed segment widened to whole
/// transformer layers (transformerLayers, when stages group), merged where
/// they then overlap; Checkpointed is true in each.
std::vector<Segment> sacRegions(const ChainAnalysis &A);

/// The pytorch target's selective activation checkpointing form (PyTorch >=
/// 2.4): torch_min_version, exact, not_exact_reason, recomputed_layers,
/// regions and code (a policy_fn over the block each op runs in, a
/// context_fn and one checkpoint per region). Null for multi-level plans,
/// which SAC cannot express. docs/trainers.md describes it.
nlohmann::ordered_json selectiveAcJson(const ChainAnalysis &A);

/// One item of a nested checkpoint plan: a stored stage (Begin, End =
/// Begin + 1) or a checkpointed region [Begin, End) that keeps only x_Begin
/// and, in the backward, runs Children (a partition of [Begin, End)) again,
/// recording, each inner region again keeping only its input.
struct NestedRegion {
  unsigned Begin = 0;
  unsigned End = 0;
  bool Checkpointed = false;
  std::vector<NestedRegion> Children;
};

/// Reads \p Ops (spec §3a) as nested checkpoints over \p NumStages stages:
/// the top level's forward (F_all for a stored stage; F_ck i, F_n i+1, ...
/// for a region), the loss, then the backward in reverse, where a stored
/// stage is its B and a region is its children's forward and backward, read
/// the same way. This is the order nested jax.checkpoint (and rotor's
/// persistent schedules) run in. None when the ops have another shape.
std::optional<std::vector<NestedRegion>>
nestedCheckpoints(llvm::ArrayRef<ChainOp> Ops, unsigned NumStages);

/// The chain ops of a nested plan; nestedCheckpoints' inverse.
std::vector<ChainOp> nestedOps(llvm::ArrayRef<NestedRegion> Top);

/// Nesting depth: 0 for store-all, 1 for single-level plans.
unsigned nestedDepth(llvm::ArrayRef<NestedRegion> Top);

/// JAX code for a nested plan: one function per region, each run under
/// jax.checkpoint inside its parent's function.
TargetPlan nestedJaxPlan(const ChainAnalysis &A,
                         llvm::ArrayRef<NestedRegion> Top);

/// Human-readable report: decisions table, exactness, settings, snippet,
/// nearest plan and costs. Ends with a newline.
std::string renderEmitText(const EmitResult &R, const Schedule &S,
                           llvm::StringRef TimeUnit);

/// The single JSON object of `remat emit --json`.
nlohmann::ordered_json emitResultToJson(const EmitResult &R, const Schedule &S);

} // namespace remat

#endif // REMAT_EMIT_EMIT_H

//===- planner/GraphScalable.h - Keep-set planning --------------*- C++ -*-===//
//
// The scalable graph planner and the machinery the graph baselines share.
//
// Every plan here is "frontier-advancing" (Checkmate's term): stage s computes
// node s (ids are a topological order) after recomputing whatever of its
// inputs is missing. What varies is which tensors stay resident between their
// uses, described by a keep set (KeepPolicy): a kept tensor stays from its
// first computation until its last user; a dropped one stays only through its
// uses in its own pass (forward or backward), is freed, and is recomputed
// from the nearest resident ancestors just before a later user needs it,
// freeing the recomputed intermediates eagerly. The engine that turns a keep
// set into ops (runKeepSet) tracks memory exactly under spec §3b, so every
// candidate the search looks at is measured, never estimated.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_GRAPHSCALABLE_H
#define REMAT_PLANNER_GRAPHSCALABLE_H

#include "graph/Graph.h"
#include "planner/GraphLimit.h"
#include "planner/Schedule.h"

#include "llvm/ADT/BitVector.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace remat {

/// Which tensors stay resident between uses.
struct KeepPolicy {
  /// Keep[v]: v stays resident from its first computation until its last
  /// user. Sized to the graph.
  llvm::BitVector Keep;
  /// Keep a recomputed dropped tensor until its last user (each tensor is
  /// then recomputed at most once: Chen's segments, recompute-all) instead of
  /// freeing it after the stage that needed it (unless the next stage needs
  /// it too).
  bool RetainRecomputed = false;
  /// Eager[v] (for dropped v): free v after each use even within its own
  /// pass unless the next stage reads it, e.g. a U-Net skip tensor between
  /// its encoder and decoder readers. Empty or sized to the graph.
  llvm::BitVector Eager;
  /// Retain[v] (for dropped v): once recomputed, v stays resident until its
  /// last user, like RetainRecomputed but for v alone. The search sets it on
  /// the intermediates of a segment the backward re-reads (a U-Net level
  /// recomputed once instead of once per reader). Empty or sized to the graph.
  llvm::BitVector Retain;
  /// Per use edge (useEdgeBase(G)[v] + i for v's i-th user): when v is
  /// resident after a use and its next user is that one, ForceHold keeps v
  /// for it and ForceFree frees v (it is recomputed for that user), whatever
  /// the rules above say. This is how a plan keeps a tensor into its first
  /// backward reader, then drops it until a later one. Empty or sized to
  /// useEdgeBase(G).back(); ForceFree wins over ForceHold.
  llvm::BitVector ForceHold, ForceFree;
  /// Hold the tensors a stage frees at its end until the next stage's
  /// recomputations have read them, so that a tensor whose next user is far
  /// away but which the next stage needs to recompute a missing input is
  /// not freed and recomputed at once.
  bool DeferFrees = false;
};

/// A plan with its exact statistics (spec §3b accounting).
struct KeepSetPlan {
  std::vector<GraphOp> Ops;
  /// Peak, bytes.
  uint64_t PeakBytes = 0;
  /// Sum of compute times, model time unit.
  double Time = 0;
  /// Compute ops beyond the first computation of each node.
  uint64_t Recomputations = 0;
  /// Tensors resident while the first op reaching the peak runs, its own
  /// output included.
  llvm::BitVector ResidentAtPeak;
  /// The stage (node id) whose compute, or recomputation, first reaches the
  /// peak.
  unsigned PeakStage = 0;
  /// The keep set that produced the plan (empty for measured ops).
  KeepPolicy Policy;
  /// Elementary operations runKeepSet spent on it (ops emitted, input edges
  /// visited, words copied), charged to a GraphWorkBudget.
  uint64_t Work = 0;
};

/// Turns a keep set into ops (see the file comment). Always valid and
/// complete; \p P.Keep must have G.size() bits.
KeepSetPlan runKeepSet(const Graph &G, const KeepPolicy &P);

/// Per-graph tables runKeepSet derives from the graph alone; a search that
/// evaluates many keep sets computes them once (keepSetTables).
struct KeepSetTables {
  /// Last user of each node in its own pass (0: none).
  llvm::SmallVector<unsigned, 0> PassLast;
  /// useEdgeBase(G).
  llvm::SmallVector<unsigned, 0> EdgeBase;
};
KeepSetTables keepSetTables(const Graph &G);

/// runKeepSet with the tables of \p G computed beforehand.
KeepSetPlan runKeepSet(const Graph &G, const KeepSetTables &T,
                       const KeepPolicy &P);

/// Offsets of each node's use edges (its entries in G.Users) in the
/// per-edge bit vectors of KeepPolicy; G.size() + 1 entries, the last being
/// the number of edges.
llvm::SmallVector<unsigned, 0> useEdgeBase(const Graph &G);

/// Tensors with a gap between two same-pass readers (long skips), for
/// which KeepPolicy::Eager matters.
llvm::BitVector eagerCandidates(const Graph &G);

/// Replays \p Ops under spec §3b (an operand missing, a free of a
/// non-resident tensor, a compute of a resident one or an incomplete plan
/// give nullopt) and returns them with their statistics. ResidentAtPeak is
/// left empty. The planners' own check; the public one is simulateGraph.
std::optional<KeepSetPlan> measureGraphOps(const Graph &G,
                                           std::vector<GraphOp> Ops);

/// Tensors whose keep/drop choice matters: those with a user in a later pass
/// than their last same-pass user (forward tensors read by the backward).
llvm::BitVector dropCandidates(const Graph &G);

struct ScalableOptions {
  /// Activation budget, bytes. 0 searches for the least peak only.
  uint64_t BudgetBytes = 0;
  /// Exact evaluations the improvement phase may spend, in units of the
  /// number of drop candidates (the greedy phase always runs to the end).
  /// A count, not a clock, so that results are deterministic.
  unsigned ImproveRounds = 2;
  /// Work the local search (planner/graph/GraphScalableLocal.h) may spend per
  /// start, in ops emitted by runKeepSet over all its evaluations: a count,
  /// not a clock, so results are deterministic. 0 skips it.
  uint64_t LocalSearchWork = 30'000'000;
  /// The whole call's work budget (planner/GraphLimit.h), charged for every
  /// evaluation; the search stops where it runs out, after the baselines.
  /// Null: no limit beyond the counts above.
  GraphWorkBudget *Work = nullptr;
};

struct ScalableResult {
  /// Whether a plan within the budget was found.
  bool Found = false;
  /// The fastest plan found within the budget (when Found).
  KeepSetPlan Best;
  /// The least-peak plan seen (always set); its peak is a budget at which
  /// planGraphScalable succeeds.
  KeepSetPlan MinPeak;
  /// Keep sets evaluated exactly.
  uint64_t Evaluations = 0;
  /// The work budget ran out before the search ended.
  bool LimitReached = false;
};

/// Scalable planner: a peak-driven greedy that drops, one at a time, the kept
/// tensor resident at the current peak with the least measured time increase
/// per byte of peak removed (trying the few most promising by bytes per
/// recompute time), until the plan fits; then a pass that re-keeps dropped
/// tensors whose keeping still fits, most expensive first, and the local
/// search of planner/graph/GraphScalableLocal.h (per-tensor states,
/// per-use-edge overrides, deferred frees, keep-then-repair moves). The graph
/// baselines (recompute-all, Chen's plans) are candidates too, and the fastest
/// fitting baseline is improved by the same passes, so the result is never
/// slower than a baseline that fits. When nothing fits, a local search
/// minimises the peak from the least-peak plan seen. None of this depends on
/// the budget until a plan fits, so the least peak seen with budget 0 is met by
/// the search at that budget.
ScalableResult planGraphScalable(const Graph &G, const ScalableOptions &Opts);

/// Baseline "recompute-all": forward tensors are freed as soon as the
/// forward no longer needs them and recomputed (once each, then kept until
/// their last user) when the backward needs them.
KeepSetPlan recomputeAllPlan(const Graph &G);

/// Baseline "chen" (Chen et al. 2016, "Training deep nets with sublinear
/// memory cost", the greedy of §4.3): walking the forward in topological
/// order, a tensor becomes a checkpoint when the bytes accumulated since the
/// last checkpoint exceed b; the backward recomputes each segment once. One
/// plan per b on a fixed grid (including b = 0, every tensor kept), in grid
/// order.
std::vector<KeepSetPlan> chenPlans(const Graph &G);

/// The "chen" baseline: with a budget, the fastest of chenPlans that fits,
/// else InfeasibleBudgetError naming the least peak among them (the least
/// budget this strategy can meet); without one, the least peak.
llvm::Expected<std::vector<GraphOp>>
chenBaselineOps(const Graph &G, std::optional<uint64_t> BudgetBytes);

/// The "recompute-all" baseline; InfeasibleBudgetError naming its peak when
/// that is over \p BudgetBytes.
llvm::Expected<std::vector<GraphOp>>
recomputeAllOps(const Graph &G, std::optional<uint64_t> BudgetBytes);

} // namespace remat

#endif // REMAT_PLANNER_GRAPHSCALABLE_H

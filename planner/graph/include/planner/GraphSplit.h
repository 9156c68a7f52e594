//===- planner/GraphSplit.h - Plans a forward/backward split runs -*- C++
//-*-===//
//
// The class of plans that a compiler's forward/backward split can run
// (torch.compile's partitioner, python/remat_torch/partitioner.py): the
// forward computes each forward node once and returns a *saved set*; the
// backward reads the saved set and recomputes every other forward value it
// needs exactly once, just before its first backward reader, and keeps it
// until its last backward reader. Nothing is recomputed before the loss.
//
// A saved set S fixes the whole schedule (splitScheduleOps), so planning in
// this class is a search over saved sets: exhaustive when there are few
// candidates, else a greedy and a local search from three kinds of start
// (every candidate saved, none, the best prefixes of a knapsack's order),
// each candidate evaluated exactly under spec §3b (built and simulated).
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_GRAPHSPLIT_H
#define REMAT_PLANNER_GRAPHSPLIT_H

#include "graph/Graph.h"
#include "planner/GraphLimit.h"
#include "planner/GraphScalable.h"
#include "planner/Schedule.h"

#include "llvm/ADT/BitVector.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace remat {

/// Forward nodes whose save/recompute choice matters: the forward ancestors
/// of backward nodes (every node a backward recomputation could need).
llvm::BitVector splitCandidates(const Graph &G);

/// The schedule the split runs for saved set \p Saved (forward nodes; other
/// bits are ignored):
///  1. in id order, the forward nodes that the loss, the saved set or a
///     forward node the backward does not need reads (transitively), and
///     those; so a node only the backward needs is first computed there;
///     then the loss-phase nodes;
///  2. backward nodes in id order, each preceded by the recomputation of
///     the forward values it reads that are not saved and not yet
///     recomputed (depth first over the inputs in file order, each once);
///  3. every value freed right after its last reader (right after its
///     compute when nothing reads it); frees after one compute in the order
///     of the values' computations.
/// Fails with bad input when a forward or loss node reads a backward one.
/// python/remat_torch/partitioner.py's realised_ops builds the same ops.
llvm::Expected<std::vector<GraphOp>>
splitScheduleOps(const Graph &G, const llvm::BitVector &Saved);

struct SplitPlanOptions {
  /// Activation budget, bytes; 0 searches for the least peak only.
  uint64_t BudgetBytes = 0;
  /// Up to this many candidates every saved set is tried (the plan is then
  /// the fastest of the class within the budget); beyond, the heuristic.
  unsigned ExhaustiveMaxCandidates = 14;
  /// The heuristic's knapsack-like starts: this many of the best prefixes
  /// of the candidates ordered by time per byte are improved by the local
  /// search (0: none, and no prefix is evaluated: the search as it was
  /// before them). More never gives a slower plan (the best of all is
  /// kept); on
  /// the real joint graphs of tests/data/split, 4 missed PyTorch's plan on
  /// ResNet-18 by 0.04% where 8 beat it. On the U-Net's 712 nodes the
  /// search evaluates 6,673 saved sets with 8 starts against 1,597 without
  /// the prefixes.
  unsigned PrefixStarts = 8;
  /// The call's work budget (planner/GraphLimit.h), charged per schedule
  /// built and measured; null: no limit.
  GraphWorkBudget *Work = nullptr;
};

struct SplitPlanResult {
  /// A plan within the budget was found.
  bool Found = false;
  /// The fastest plan found within the budget (when Found), and its saved
  /// set.
  KeepSetPlan Best;
  llvm::BitVector BestSaved;
  /// The least-peak plan seen (always set).
  KeepSetPlan MinPeak;
  /// Every saved set was tried: Best is the fastest plan of the class
  /// within the budget and MinPeak the least peak of the class.
  bool Exhaustive = false;
  /// Saved sets built and measured.
  uint64_t Evaluations = 0;
  /// The work budget ran out before the search ended.
  bool LimitReached = false;
};

/// The fastest plan of the split's class within the budget (see the file
/// comment). Fails only when splitScheduleOps does.
llvm::Expected<SplitPlanResult> planGraphSplit(const Graph &G,
                                               const SplitPlanOptions &Opts);

} // namespace remat

#endif // REMAT_PLANNER_GRAPHSPLIT_H

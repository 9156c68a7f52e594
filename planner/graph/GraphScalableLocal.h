//===- planner/graph/GraphScalableLocal.h - Keep-set search -----*- C++ -*-===//
//
// The improvement phase of the scalable graph planner
// (planner/GraphScalable.h): starting from a keep set that fits, it changes one
// tensor's state at a time (kept, dropped, dropped and retained once
// recomputed, eager), one use edge's hold-or-free override at a time, or
// KeepPolicy::DeferFrees, and keeps a change when the exactly measured plan
// still fits and is faster. A second neighbourhood keeps a dropped tensor even
// though the plan then exceeds the budget, and repairs the peak by the cheapest
// state changes at the peak op (an "ejection chain"), so that the search can
// trade one recomputation for several cheaper ones.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_GRAPHSCALABLELOCAL_H
#define REMAT_PLANNER_GRAPHSCALABLELOCAL_H

// Private to remat_planner_graph: outside it, link
// remat_planner_graph_internals.
#ifndef REMAT_PLANNER_GRAPH_INTERNALS
#error "planner/graph/GraphScalableLocal.h is private to remat_planner_graph"
#endif

#include "planner/GraphScalable.h"

namespace remat {

struct LocalSearchOptions {
  /// Activation budget, bytes.
  uint64_t BudgetBytes = 0;
  /// Work the search may spend, in ops emitted by runKeepSet summed over all
  /// evaluations (a deterministic stand-in for a clock).
  uint64_t WorkLimit = 0;
  /// Whether to run the keep-then-repair neighbourhood.
  bool Repair = true;
  /// Minimise the peak (then the time) instead of the time within the
  /// budget, stopping at the first plan within BudgetBytes. The path does not
  /// depend on the budget, so the least peak it reaches with budget 0 is
  /// reached again, and met, with that budget.
  bool MinimizePeak = false;
  /// The whole call's work budget, charged for every evaluation; null: none.
  GraphWorkBudget *Work = nullptr;
};

struct LocalSearchResult {
  /// The best plan found; \p Start when nothing improved it.
  KeepSetPlan Best;
  /// Keep sets evaluated.
  uint64_t Evaluations = 0;
};

/// Improves \p Start, a plan produced by runKeepSet (its Policy is the
/// starting point). Minimising time, \p Start must fit, and the result fits
/// and is never slower; minimising the peak, the result's peak is never
/// higher.
LocalSearchResult improveKeepSetLocally(const Graph &G, KeepSetPlan Start,
                                        const LocalSearchOptions &Opts);

} // namespace remat

#endif // REMAT_PLANNER_GRAPHSCALABLELOCAL_H

//===- planner/GraphExhaustive.h - Optimal over every schedule --*- C++ -*-===//
//
// A best-first search over every compute/free sequence of spec §3b on small
// graphs. Unlike the MILP and the covering bounds, which fix the order in
// which nodes are first computed (id order, as Checkmate does), it fixes
// nothing: when it completes, its plan is optimal over all schedules, and
// its least peak is the true least feasible budget.
//
// A state is the pair (computed at least once, resident) of node sets. The
// search is A* with an admissible, consistent heuristic (the time of every
// node never computed, plus that of every computed, non-resident input of
// one) and one dominance rule: a node all of whose transitive users have been
// computed is dead (no useful compute can read it again), so it is freed at
// once and never recomputed. A state cap and a clock make it give up cleanly,
// never with unbounded memory.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_GRAPHEXHAUSTIVE_H
#define REMAT_PLANNER_GRAPHEXHAUSTIVE_H

#include "graph/Graph.h"
#include "planner/Schedule.h"

#include "llvm/Support/Error.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace remat {

struct GraphExhaustiveOptions {
  /// Activation budget, bytes; every op's peak stays within it. Ignored when
  /// MinimizePeak is set.
  uint64_t BudgetBytes = 0;
  /// Search the least peak over all complete schedules instead of the least
  /// time within the budget.
  bool MinimizePeak = false;
  /// Most distinct states the search may store (about 40 bytes each); it
  /// gives up beyond. A count, so that results are deterministic.
  size_t MaxStates = size_t(1) << 20;
  /// Wall-clock limit, seconds; a safety net behind MaxStates.
  double TimeLimitSeconds = 2;
};

/// Largest graph planGraphExhaustive accepts: a state is two bit sets packed
/// into 64 bits.
constexpr unsigned GraphExhaustiveMaxNodes = 32;

/// How a search ended.
enum class ExhaustiveOutcome : uint8_t {
  /// The plan is optimal over all schedules.
  Optimal,
  /// No schedule fits the budget (proven).
  Infeasible,
  /// The state cap or the clock stopped the search; nothing is proven.
  GaveUp,
};

struct GraphExhaustiveResult {
  ExhaustiveOutcome Outcome = ExhaustiveOutcome::GaveUp;
  /// The optimal plan (Outcome == Optimal), frees included.
  std::vector<GraphOp> Ops;
  /// Its time (sum of compute times) and peak, by the search's accounting.
  double Time = 0;
  uint64_t PeakBytes = 0;
  /// States stored and expanded.
  size_t StatesStored = 0, StatesExpanded = 0;
  /// Wall-clock seconds.
  double Seconds = 0;
};

/// Least-time plan within the budget (or least-peak plan) over every
/// schedule of \p G. Fails only for a graph above GraphExhaustiveMaxNodes.
llvm::Expected<GraphExhaustiveResult>
planGraphExhaustive(const Graph &G, const GraphExhaustiveOptions &Opts);

} // namespace remat

#endif // REMAT_PLANNER_GRAPHEXHAUSTIVE_H

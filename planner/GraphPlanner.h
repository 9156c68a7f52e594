//===- planner/GraphPlanner.h - Rematerialisation on tensor graphs -*- C++
//-*-===//
//
// Planners for graph models (spec §3b): baselines, an exact MILP (Checkmate's
// model, solved with COIN-OR CBC) and a scalable planner for large graphs.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_GRAPHPLANNER_H
#define REMAT_PLANNER_GRAPHPLANNER_H

#include "graph/Graph.h"
#include "planner/Schedule.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace remat {

/// Store everything: compute nodes in id order, free each once its last user
/// has run.
std::vector<GraphOp> storeAllGraphOps(const Graph &G);

struct GraphPlanOptions {
  /// Activation budget, bytes.
  uint64_t BudgetBytes = 0;
  /// "auto" (exact up to a size, else scalable), "exact" or "scalable".
  std::string Mode = "auto";
  /// Solver time limit for exact mode, seconds.
  double TimeLimitSeconds = 60;
};

/// A graph plan with its solver statistics.
struct GraphPlanResult {
  std::vector<GraphOp> Ops;
  /// "exact" or "scalable".
  std::string ModeUsed;
  /// Best proven lower bound on the time, model time unit (exact mode).
  double LowerBound = 0;
  /// Relative gap between the plan's time and LowerBound.
  double Gap = 0;
  /// Whether exact mode proved optimality.
  bool ProvenOptimal = false;
  /// Time of the plan (the incumbent), model time unit.
  double Time = 0;
  /// Peak of the plan, bytes.
  uint64_t PeakBytes = 0;
  /// Compute ops beyond the first computation of each node.
  uint64_t Recomputations = 0;
  /// Wall-clock planning time, seconds.
  double SolveSeconds = 0;
  /// Exact mode: MILP columns and rows (0 when the MILP was not built).
  unsigned MilpVariables = 0;
  unsigned MilpConstraints = 0;
};

/// Least-time graph plan within the budget (exact or scalable). Fails with
/// InfeasibleBudgetError naming the least feasible budget.
llvm::Expected<GraphPlanResult> planGraphOptimal(const Graph &G,
                                                 const GraphPlanOptions &Opts);

/// Baselines: "recompute-all" (every forward node recomputed once in the
/// backward) and "chen" (Chen's greedy over a topological order).
llvm::Expected<std::vector<GraphOp>>
graphBaselineOps(const Graph &G, llvm::StringRef Name,
                 std::optional<uint64_t> BudgetBytes);

} // namespace remat

#endif // REMAT_PLANNER_GRAPHPLANNER_H

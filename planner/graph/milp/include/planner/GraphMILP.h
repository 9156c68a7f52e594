//===- planner/GraphMILP.h - Exact graph rematerialisation MILP -*- C++ -*-===//
//
// Checkmate's mixed-integer program (Jain et al., "Checkmate: Breaking the
// Memory Wall with Optimal Tensor Rematerialization", MLSys 2020), with the
// frontier-advancing stages (stage t computes node t and may recompute
// earlier nodes), adapted to spec §3b's accounting and solved with COIN-OR
// CBC. Differences from the paper: a compute's peak adds the node's
// workspace; a node cannot be recomputed while resident (R + S <= 1, as the
// simulator requires); variables that cannot matter are removed (no
// recomputation of a node with no descendant at or after the stage, no
// retention past a node's last user); the free variables are continuous,
// bounded by one row per condition; and the covering rows of
// planner/GraphMILPBound.h tighten the LP relaxation.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_GRAPHMILP_H
#define REMAT_PLANNER_GRAPHMILP_H

#include "graph/Graph.h"
#include "planner/Schedule.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace remat {

struct GraphMilpOptions {
  /// Activation budget, bytes (ignored when MinimizePeak).
  uint64_t BudgetBytes = 0;
  /// Wall-clock limit for the whole call (covering bound, model build, root
  /// LP, cuts and search), seconds; overshoots by CBC's reaction time only
  /// (tens of milliseconds at 50 nodes).
  double TimeLimitSeconds = 10;
  /// Minimise the peak (bytes) instead of the time; used to find the least
  /// feasible budget.
  bool MinimizePeak = false;
  /// Use the covering program of GraphMILPBound.h: its rows in the model,
  /// its bound, and the proofs and witness plans built on it. Without it
  /// the model is Checkmate's alone and CBC proves everything itself; the
  /// tests use that to check the bounds against an optimum they played no
  /// part in.
  bool UseCoverBounds = true;
  /// A frontier-advancing plan (as runKeepSet makes) that fits the budget,
  /// handed to CBC as its first incumbent, and returned when CBC finds
  /// nothing better in time; empty for none.
  std::vector<GraphOp> WarmStart;
};

struct GraphMilpResult {
  /// Whether CBC found an integer solution.
  bool HasSolution = false;
  /// The solution as compute/free ops (when HasSolution).
  std::vector<GraphOp> Ops;
  /// Objective of the incumbent: time (model unit), or peak bytes when
  /// minimising the peak.
  double Incumbent = 0;
  /// Best proven lower bound on the objective, same unit: the larger of
  /// CBC's and (for the time) the covering bound of GraphMILPBound.h,
  /// rounded up when every node time is an integer; the incumbent once
  /// optimality is proven.
  double BestBound = 0;
  /// The incumbent is optimal: CBC closed the search, or the incumbent
  /// meets the covering bound (then CBC is not run at all).
  bool ProvenOptimal = false;
  /// CBC proved that no plan fits the budget.
  bool ProvenInfeasible = false;
  /// Model size.
  unsigned Variables = 0;
  unsigned Constraints = 0;
  /// Wall-clock time of the whole call, seconds.
  double Seconds = 0;
};

/// Builds and solves the MILP within the time limit. When the limit stops
/// CBC, the result is its incumbent (or the warm start) with the best bound
/// known. Fails when CBC is not available (the build found no
/// coinor-libcbc-dev).
llvm::Expected<GraphMilpResult> solveGraphMilp(const Graph &G,
                                               const GraphMilpOptions &Opts);

/// Ops from a stage-wise solution: R[t] lists the nodes computed in stage t
/// (ascending, t last), S[t] the nodes resident when stage t starts. After
/// each compute, frees the compute's operands and output that no later
/// compute of the stage reads and that S[t+1] does not hold; at the end of a
/// stage, frees the rest of what S[t+1] does not hold (the MILP's memory
/// accounting, step by step).
std::vector<GraphOp>
stageSolutionToOps(const Graph &G, llvm::ArrayRef<std::vector<unsigned>> R,
                   llvm::ArrayRef<std::vector<unsigned>> S);

} // namespace remat

#endif // REMAT_PLANNER_GRAPHMILP_H

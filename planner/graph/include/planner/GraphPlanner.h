//===- planner/GraphPlanner.h - Remat on tensor graphs ----------*- C++ -*-===//
//
// Planners for graph models (spec §3b): baselines, an exact MILP (Checkmate's
// model, solved with COIN-OR CBC) and a scalable planner for large graphs.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_GRAPHPLANNER_H
#define REMAT_PLANNER_GRAPHPLANNER_H

#include "graph/Graph.h"
#include "planner/Baselines.h"
#include "planner/Defaults.h"
#include "planner/Schedule.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace remat {

/// Largest graph exact and auto mode hand to the exhaustive search first.
constexpr unsigned GraphPlanExhaustiveMaxNodes = 24;

struct GraphPlanOptions {
  /// Activation budget, bytes.
  uint64_t BudgetBytes = 0;
  /// Auto (exact up to a size, else scalable), Exact or Scalable.
  GraphMode Mode = GraphMode::Auto;
  /// Limit for the whole call, seconds: converted into a deterministic work
  /// budget that every phase charges (planner/GraphLimit.h), with a
  /// wall-clock safety net at the limit itself; the best plan found when it
  /// runs out is returned.
  double TimeLimitSeconds = DefaultTimeLimitSeconds;
  /// Let exact and auto mode try the exhaustive search on small graphs
  /// (tests turn it off to measure the planners behind it).
  bool UseExhaustive = true;
  /// Orders of first computations exact mode plans when the exhaustive
  /// search does not settle the plan: the file's (MILP), then
  /// planner/GraphOrders.h's others (scalable planner each, within the time
  /// limit). 1 plans the file's order only, as scalable mode always does.
  unsigned Orders = 5;
  /// Restrict plans to those a compiler's forward/backward split runs
  /// (planner/GraphSplit.h): a saved set kept from the forward to its
  /// backward readers, every other forward value the backward needs
  /// recomputed exactly once there, just before its first backward reader,
  /// and nothing recomputed before the loss. The simulated peak is then the
  /// split's. Mode and Orders do not apply; the plan is the fastest of the
  /// class when every saved set was tried (few candidates), else the
  /// search's best. `plan --recompute-once-in-backward`.
  bool RecomputeOnceInBackward = false;
};

/// The class of plans that a graph result's LowerBound and ProvenOptimal
/// speak about.
enum class GraphPlanClass : uint8_t {
  /// Every schedule of spec §3b: the exhaustive search completed.
  AllSchedules,
  /// Plans that first compute nodes in id order (the file's order), the
  /// class of the MILP (Checkmate's formulation) and the covering bounds.
  FileOrder,
  /// Plans of the forward/backward split (GraphPlanOptions::
  /// RecomputeOnceInBackward): proven only when every saved set was tried.
  SplitSchedules,
};

/// Which planner made a graph plan.
enum class GraphMethod : uint8_t {
  /// The exhaustive search over every schedule (planner/GraphExhaustive.h).
  Exhaustive,
  /// Checkmate's MILP, solved by CBC (planner/GraphMILP.h).
  Milp,
  /// The keep-set planner (planner/GraphScalable.h).
  Scalable,
  /// Forward/backward split plans, every saved set tried
  /// (planner/GraphSplit.h).
  SplitExhaustive,
  /// Forward/backward split plans, a search over saved sets.
  SplitSearch,
};

/// How the optimality report words \p M: "exhaustive search", "MILP (CBC)",
/// "scalable", "split, every saved set" or "split, search".
llvm::StringRef graphMethodName(GraphMethod M);

/// A graph plan with its solver statistics.
struct GraphPlanResult {
  std::vector<GraphOp> Ops;
  /// The planner whose plan this is.
  GraphMethod ModeUsed = GraphMethod::Scalable;
  /// Best proven lower bound on the time of every plan of `Class` within
  /// the budget, model time unit.
  double LowerBound = 0;
  /// Relative gap between the plan's time and LowerBound; 0 when the plan is
  /// not of `Class` (the bound does not apply to it).
  double Gap = 0;
  /// The plan is of `Class` and its time equals LowerBound.
  bool ProvenOptimal = false;
  /// The class LowerBound and ProvenOptimal are proven for.
  GraphPlanClass Class = GraphPlanClass::FileOrder;
  /// Whether the plan itself is of `Class` (a plan that first computes
  /// nodes in another order is not of FileOrder).
  bool PlanInClass = true;
  /// Orders of first computations planned (1: the file's order only).
  unsigned OrdersTried = 1;
  /// Time of the plan (the incumbent), model time unit.
  double Time = 0;
  /// Peak of the plan, bytes.
  uint64_t PeakBytes = 0;
  /// Compute ops beyond the first computation of each node.
  uint64_t Recomputations = 0;
  /// Wall-clock planning time, seconds.
  double SolveSeconds = 0;
  /// Work spent and the budget (planner/GraphLimit.h), elementary
  /// operations; LimitReached: the budget ran out, so the search stopped
  /// early and the plan is the best found until then.
  uint64_t WorkUsed = 0, WorkLimit = 0;
  bool LimitReached = false;
  /// The wall-clock safety net, not the count, stopped a phase: the plan may
  /// then differ between runs (planner/GraphLimit.h).
  bool ClockStopped = false;
  /// Exact mode: MILP columns and rows (0 when the MILP was not built).
  unsigned MilpVariables = 0;
  unsigned MilpConstraints = 0;
};

/// Least-time graph plan within the budget. In exact and auto mode, graphs
/// of up to GraphPlanExhaustiveMaxNodes nodes first get the exhaustive
/// search (planner/GraphExhaustive.h): when it completes, the plan is
/// optimal over all schedules. Otherwise exact mode runs the MILP in the
/// file's order and the scalable planner in other orders of first
/// computations and keeps the fastest plan; scalable mode plans the file's
/// order only. Fails with InfeasibleBudgetError naming the
/// least feasible budget (over all schedules when the search proved it, else
/// with its class), and with InternalError when a lower bound lies above a
/// plan of its own class.
llvm::Expected<GraphPlanResult> planGraphOptimal(const Graph &G,
                                                 const GraphPlanOptions &Opts);

/// Whether \p Ops first compute nodes in id order (the file's order), the
/// class GraphPlanClass::FileOrder.
bool firstComputesInIdOrder(const Graph &G, llvm::ArrayRef<GraphOp> Ops);

/// Issue 12's rule that contradictions are errors: \p Bound, a proven lower
/// bound on the time of every plan of \p Class within the budget, against
/// \p Ops, a plan the simulator accepted within that budget, of time \p Time.
/// Fails with InternalError naming both when the plan is of the class and
/// the bound lies above its time beyond float tolerance; a plan outside the
/// class is not compared.
llvm::Error checkLowerBound(const Graph &G, GraphPlanClass Class, double Bound,
                            llvm::StringRef BoundName,
                            llvm::ArrayRef<GraphOp> Ops, double Time,
                            llvm::StringRef PlanName);

/// Baselines: "recompute-all" (every forward node recomputed once in the
/// backward) and "chen" (Chen's greedy over a topological order).
llvm::Expected<std::vector<GraphOp>>
graphBaselineOps(const Graph &G, llvm::StringRef Name,
                 std::optional<uint64_t> BudgetBytes);

} // namespace remat

#endif // REMAT_PLANNER_GRAPHPLANNER_H

//===- planner/Strategy.h - Strategy names and dispatch ---------*- C++ -*-===//
//
// Maps a strategy name from spec §4 (plus the graph planners' names) to its
// planner through the table of planner/Strategies.def. Every schedule returned
// has been re-simulated (planner/Simulator.h) and, when a budget is given, fits
// it; a plan that does not fit becomes an InfeasibleBudgetError naming the
// smallest budget the strategy can meet.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_STRATEGY_H
#define REMAT_PLANNER_STRATEGY_H

#include "graph/Graph.h"
#include "planner/Defaults.h"
#include "planner/Schedule.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace remat {

/// Everything any strategy may take. Fields a strategy does not use are
/// ignored. The `plan` options that fill them are the STRATEGY_PARAM lines
/// of planner/Strategies.def.
struct StrategyOptions {
  /// Strategy name, a STRATEGY line of planner/Strategies.def: none,
  /// sequential, every, sqrt, selective, chen, revolve, optimal (chains);
  /// none, recompute-all, chen, optimal (graphs).
  std::string Name = "optimal";
  /// Activation budget, bytes. Required by `optimal`; optional for chen
  /// (without it chen uses its own sqrt heuristic); others only check it.
  std::optional<uint64_t> BudgetBytes;
  /// `sequential`: number of segments N (>= 1).
  unsigned Segments = 0;
  /// `every`: checkpoint the input of every K-th stage (>= 1).
  unsigned K = 0;
  /// `selective`: stage kinds to recompute.
  std::vector<std::string> Kinds;
  /// `revolve`: stored checkpoints including x_0 (>= 1).
  unsigned Slots = 0;
  /// Chain `optimal`: memory slots for discretisation; 0 means the default
  /// (exact where it fits the time promise, else slots with a gap bound).
  unsigned MemorySlots = 0;
  /// Chain `optimal`: force the exact DP, without the time promise.
  bool ChainExact = false;
  /// Graph `optimal`: auto, exact (exhaustive search or MILP) or scalable.
  GraphMode Mode = GraphMode::Auto;
  /// Graph exact mode: solver time limit, seconds.
  double TimeLimitSeconds = DefaultTimeLimitSeconds;
  /// Graph `optimal`: only plans a forward/backward split runs
  /// (GraphPlanOptions::RecomputeOnceInBackward).
  bool RecomputeOnceInBackward = false;
  /// Plan a chain model through the graph planners (the chain lowered).
  bool ForceGraph = false;
};

/// Plans \p M with the strategy in \p Opts and re-simulates the result.
/// Errors: unknown strategy or missing parameter (bad input), a strategy that
/// does not apply to the model's form, or InfeasibleBudgetError.
llvm::Expected<Schedule> planStrategy(const Model &M,
                                      const StrategyOptions &Opts);

/// Names of the strategies that apply to \p M, in the order `compare` lists
/// them.
std::vector<std::string> applicableStrategies(const Model &M);

/// Whether the strategy needs a budget to run (BudgetUse::Required in
/// planner/Strategies.def: `optimal`).
bool strategyNeedsBudget(llvm::StringRef Name);

} // namespace remat

#endif // REMAT_PLANNER_STRATEGY_H

//===- planner/Simulator.h - The one simulator ------------------*- C++ -*-===//
//
// Replays a schedule under the exact semantics of spec §3a (chain) or §3b
// (graph): checks that every op's operands are resident, tracks resident
// memory, and reports peak, time and recomputations. Every planner's output
// goes through here before it is printed or written.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_SIMULATOR_H
#define REMAT_PLANNER_SIMULATOR_H

#include "graph/Graph.h"
#include "planner/Schedule.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace remat {

struct SimOptions {
  /// Record the memory after every op (and its workspace) in the result.
  bool RecordTimeline = false;
  /// Require the schedule to be complete (y_0 produced / every node
  /// computed). Off only for tests of prefixes.
  bool RequireComplete = true;
};

/// One point of the memory timeline: the state right after op `OpIndex`.
struct TimelinePoint {
  /// Resident bytes after the op has added its output (before frees; a loss
  /// that frees its input has already freed x_L, spec §3a).
  uint64_t ResidentBytes = 0;
  /// ResidentBytes plus the op's workspace: the op's peak.
  uint64_t PeakBytes = 0;
  /// Resident bytes once the op's frees are done.
  uint64_t AfterBytes = 0;
  /// Cumulative time when the op ends, model time unit.
  double EndTime = 0;
};

struct SimResult {
  /// Peak over all ops and the start, bytes.
  uint64_t PeakBytes = 0;
  /// Index of the first op that reaches the peak; SIZE_MAX when the start
  /// (x_0 alone) is the peak.
  size_t PeakOpIndex = SIZE_MAX;
  /// Sum of executed ops' times, model time unit.
  double Time = 0;
  /// Number of forward ops (chain: F_ck, F_n, F_all; graph: computes of
  /// forward-phase nodes).
  uint64_t ForwardOps = 0;
  /// ForwardOps minus the number of forward stages or nodes.
  uint64_t ForwardRecomputations = 0;
  /// Per-op points when SimOptions::RecordTimeline is set; else empty.
  std::vector<TimelinePoint> Timeline;
};

/// Simulates chain ops on \p C. Fails with InvalidScheduleError naming the op
/// index, the op and the missing tensor, e.g.
/// "op 7 (B layer 2): xbar_3 is not resident".
llvm::Expected<SimResult> simulateChain(const Chain &C,
                                        llvm::ArrayRef<ChainOp> Ops,
                                        const SimOptions &Opts = {});

/// Simulates graph ops on \p G under spec §3b. Errors as for simulateChain.
llvm::Expected<SimResult> simulateGraph(const Graph &G,
                                        llvm::ArrayRef<GraphOp> Ops,
                                        const SimOptions &Opts = {});

/// Simulates \p S against \p M in its dialect.
llvm::Expected<SimResult> simulate(const Model &M, const Schedule &S,
                                   const SimOptions &Opts = {});

/// The `predicted` block of a plan whose simulation is \p Plan, in dialect
/// \p D: its peak, time and recomputations, and the overhead against the
/// store-everything plan of \p M (planner/Baselines.h), simulated here.
llvm::Expected<Prediction> predict(const Model &M, Dialect D,
                                   const SimResult &Plan);

/// Simulates \p S against \p M and predicts it as above.
llvm::Expected<Prediction> predict(const Model &M, const Schedule &S);

/// Builds a schedule from planner ops: simulates them, fills `Predicted`
/// (baseline from the store-everything plan), and checks the budget when one
/// is given (an over-budget plan is an internal error, never returned).
llvm::Expected<Schedule>
finalizeChainSchedule(const Model &M, llvm::StringRef Strategy,
                      std::optional<uint64_t> BudgetBytes,
                      std::vector<ChainOp> Ops);

/// As finalizeChainSchedule, for graph ops.
llvm::Expected<Schedule>
finalizeGraphSchedule(const Model &M, llvm::StringRef Strategy,
                      std::optional<uint64_t> BudgetBytes,
                      std::vector<GraphOp> Ops);

} // namespace remat

#endif // REMAT_PLANNER_SIMULATOR_H

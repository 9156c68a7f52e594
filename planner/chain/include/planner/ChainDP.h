//===- planner/ChainDP.h - Budget-optimal chain planning --------*- C++ -*-===//
//
// The least-time schedule of a heterogeneous chain within an activation
// budget, under spec §3a semantics (the rotor model of Beaumont et al., ACM
// TOMS 2024, with exact integer memory and every peak term checked).
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_CHAINDP_H
#define REMAT_PLANNER_CHAINDP_H

#include "graph/Graph.h"
#include "planner/Schedule.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace remat {

/// The default cap on the chain DP's estimated table memory: 16 GiB (see
/// docs/limits.md).
constexpr uint64_t DefaultMaxTableBytes = uint64_t(16) << 30;

struct ChainDPOptions {
  /// Activation budget, bytes.
  uint64_t BudgetBytes = 0;
  /// Number of memory slots to discretise into. With slots, sizes round up
  /// to units of floor(budget / slots) bytes so the plan still fits, and
  /// every slot stays usable. 0 means the default mode: the exact DP where
  /// its estimated work fits the time promise (AutoSeconds), else slots
  /// chosen by estimateSlotsSeconds to fit it, with a GapBound.
  unsigned MemorySlots = 0;
  /// Force the exact DP (no rounding, no time promise; `plan --exact`).
  bool Exact = false;
  /// Units of exact-DP work (Tables::workDone, a deterministic count) after
  /// which the exact DP gives way to the discretised DP with a reported
  /// GapBound. UINT64_MAX means no limit beyond the default mode's promise.
  uint64_t ExactWorkLimit = UINT64_MAX;
  /// Default mode: the time promise, seconds of estimated single-core work
  /// (ExactSecondsPerUnit, estimateSlotsSeconds; never a clock), is
  /// max(AutoSeconds, AutoSecondsPer1000Stages * L / 1000).
  double AutoSeconds = 0.5;
  double AutoSecondsPer1000Stages = 2.0;
  /// Default mode: the share of the promise the exact attempt may use (its
  /// work is hard to foresee: on the issue-18 chains at L = 200 three
  /// quarters of it comes in the last tenth of the columns), the rest being
  /// left to the slots.
  double AutoExactShare = 0.5;
  /// Default mode: the fallback's slots, at least (also when even they are
  /// estimated over the promise) and at most.
  unsigned AutoMinSlots = 500;
  unsigned AutoMaxSlots = 2000;
  /// Discretised mode: keep checkpoints x_j only at one stage in each run
  /// of SplitStride (the run's smallest x_j; runs from j = 1). Up to
  /// SplitStride^2 times less work (less on short chains); the plan is then
  /// the best among the persistent schedules that checkpoint only there,
  /// and GapBound is measured against the store-all time (every stage
  /// forward and backward once), a bound no plan beats, since the relaxed
  /// pass would cost the full DP. If no plan of that subclass fits, the DP
  /// runs again over every stage. 1: anywhere. The default mode sets it
  /// itself when even AutoMinSlots slots over every stage are estimated
  /// over its promise: then AutoMaxSlots slots and the least stride that
  /// fits, up to AutoMaxSplitStride.
  unsigned SplitStride = 1;
  /// Default mode: the largest SplitStride it may choose.
  unsigned AutoMaxSplitStride = 16;
  /// Exact DP (`--exact`, and the default mode's exact attempt): on chains
  /// of at least this many stages, a rounded-up pass plans first (at
  /// ExactBoundSlots slots; in the default mode, its fallback's own) and its
  /// plan's time bounds the exact DP, which then leaves out every table
  /// entry that no plan within that time can use (docs/optimal-chain.md,
  /// "Fourth attempt"). The optimum does not change; on the issue-18 chains
  /// at L = 200 `--exact` takes 10.7-14.5 times less CPU. 0: never.
  unsigned ExactBoundFromStages = 48;
  unsigned ExactBoundSlots = 1000;
  /// Discretised mode: chains of at least this many stages keep the DP
  /// tables in single precision (half the memory, twice the vector width).
  /// The plan's time is then summed exactly from its ops, and GapBound also
  /// covers the tables' rounding error. 0 means never.
  unsigned SinglePrecisionFromStages = 128;
  /// Discretised mode: threads that share each pass's tables; 0 means one
  /// per hardware thread. Plans do not depend on it.
  unsigned Threads = 0;
  /// The DP tables' estimated memory, bytes, above which planning is
  /// refused before it starts (docs/limits.md): 16 GiB.
  uint64_t MaxTableBytes = DefaultMaxTableBytes;
};

/// Seconds one unit of exact-DP work (Tables::workDone) takes on one core of
/// the reference machine (fitted: 15-17 ns on the issue-18 chains with L =
/// 100..200 at 30-50% budgets, where the DP is pruned with a plan's time
/// (ExactBoundFromStages); unpruned short chains take about 10 ns,
/// docs/optimal-chain.md).
constexpr double ExactSecondsPerUnit = 15e-9;

/// Estimated single-core seconds of the discretised DP (both passes) for
/// \p L stages and \p Slots slots on the reference machine: a fitted
/// 1.7 L^3 (3.4e-9 + 1.0e-11 slots); with a SplitStride c > 1 (one pass)
/// L^3 (3.4e-9 / c^2 + 2.3e-9 / c) + slots (6.4e-12 L^3 / c^2 + 6.8e-10
/// L^2 / c) (docs/optimal-chain.md).
double estimateSlotsSeconds(unsigned L, unsigned Slots,
                            unsigned SplitStride = 1);

/// The result of the optimal chain planner.
struct ChainDPResult {
  std::vector<ChainOp> Ops;
  /// Optimal time under the model, model time unit.
  double Time = 0;
  /// When discretised: an upper bound on Time minus the exact optimum.
  double GapBound = 0;
  /// Memory slots the plan was made with: 0 when exact, else the grid the
  /// caller asked for or, when exact mode gave way at its work limit (or
  /// rounding lost every plan), the one the fallback used.
  unsigned MemorySlots = 0;
  /// The SplitStride the plan was made with (1: checkpoints anywhere).
  unsigned SplitStride = 1;
  /// Peak of the plan as the DP accounts it, bytes (the simulator's figure
  /// for the returned ops; exact mode only, else the rounded-up bound).
  uint64_t PeakBytes = 0;
  /// Forward ops beyond the first computation of each stage.
  uint64_t ForwardRecomputations = 0;
  /// The default mode's promise, seconds (0 when slots or exact were
  /// asked for).
  double PromiseSeconds = 0;
  /// The estimated single-core seconds of the work done (exact attempt and
  /// slots), from the work counts and the cost model: deterministic.
  double EstimatedSeconds = 0;
  /// Bytes the planner's DP tables held at their peak (its own memory use;
  /// in discretised mode the larger of the two passes, which run one after
  /// the other).
  uint64_t TableBytes = 0;
};

/// One breakpoint of the budget -> least-time curve: from BudgetBytes on
/// (until the next breakpoint) the optimal time is Time.
struct ChainFrontierPoint {
  /// Activation budget, bytes.
  uint64_t BudgetBytes = 0;
  /// Least time within that budget, model time unit.
  double Time = 0;
};

/// Every breakpoint of budget -> optimal time, in one DP run, ascending in
/// budget and strictly descending in time. The first point is
/// minFeasibleChainBudget; the last is the least budget of the fastest plan.
std::vector<ChainFrontierPoint> optimalChainFrontier(const Chain &C);

/// The same curve discretised into \p MemorySlots units of
/// ceil(store-all peak / slots) bytes, sizes rounded up: every point is the
/// time of a valid plan within its budget (an upper bound on the exact
/// curve), in O(slots * L^3) instead of the exact curve's output-sensitive
/// cost. \p MemorySlots == 0 means exact.
std::vector<ChainFrontierPoint> optimalChainFrontier(const Chain &C,
                                                     unsigned MemorySlots);

/// Plans the least-time schedule within the budget. Fails with
/// InfeasibleBudgetError naming the least feasible budget when none exists.
llvm::Expected<ChainDPResult> planOptimalChain(const Chain &C,
                                               const ChainDPOptions &Opts);

/// Fails, naming the estimate and the cap, when optimalChainFrontier(\p C,
/// \p MemorySlots) or minFeasibleChainBudget(\p C) would need more than
/// \p MaxTableBytes of tables.
llvm::Error
checkChainFrontierMemory(const Chain &C, unsigned MemorySlots,
                         uint64_t MaxTableBytes = DefaultMaxTableBytes);

/// The smallest activation budget for which any schedule exists, bytes.
uint64_t minFeasibleChainBudget(const Chain &C);

} // namespace remat

#endif // REMAT_PLANNER_CHAINDP_H

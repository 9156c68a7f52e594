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
  /// Number of memory slots to discretise into; 0 means exact (no
  /// rounding). With slots, sizes round up to units of floor(budget /
  /// slots) bytes so the plan still fits, and every slot stays usable.
  unsigned MemorySlots = 0;
  /// Exact mode: candidate breakpoints (a count) the exact DP may generate
  /// before it gives way to the discretised DP with a reported GapBound, so
  /// that long chains cannot run for hours. UINT64_MAX means no limit.
  uint64_t ExactWorkLimit = 150'000'000;
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
  /// Peak of the plan as the DP accounts it, bytes (the simulator's figure
  /// for the returned ops; exact mode only, else the rounded-up bound).
  uint64_t PeakBytes = 0;
  /// Forward ops beyond the first computation of each stage.
  uint64_t ForwardRecomputations = 0;
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

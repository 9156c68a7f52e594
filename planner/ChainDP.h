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

struct ChainDPOptions {
  /// Activation budget, bytes.
  uint64_t BudgetBytes = 0;
  /// Number of memory slots to discretise into; 0 means exact (no
  /// rounding). With slots, sizes round up so the plan still fits.
  unsigned MemorySlots = 0;
};

/// The result of the optimal chain planner.
struct ChainDPResult {
  std::vector<ChainOp> Ops;
  /// Optimal time under the model, model time unit.
  double Time = 0;
  /// When discretised: an upper bound on Time minus the exact optimum.
  double GapBound = 0;
};

/// Plans the least-time schedule within the budget. Fails with
/// InfeasibleBudgetError naming the least feasible budget when none exists.
llvm::Expected<ChainDPResult> planOptimalChain(const Chain &C,
                                               const ChainDPOptions &Opts);

/// The smallest activation budget for which any schedule exists, bytes.
uint64_t minFeasibleChainBudget(const Chain &C);

} // namespace remat

#endif // REMAT_PLANNER_CHAINDP_H

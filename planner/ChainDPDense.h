//===- planner/ChainDPDense.h - Discretised chain DP ------------*- C++ -*-===//
//
// Internal to planner/ChainDP.cpp. The recurrence of ChainDPTables.h over
// whole memory units, each table a dense array of times for every budget
// from its least feasible one up to what the budget leaves it. Choices are
// not stored: reconstruction re-evaluates the O(L) candidates of each step,
// which repeats the same floating-point sums and so finds the stored value.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_CHAINDPDENSE_H
#define REMAT_PLANNER_CHAINDPDENSE_H

#include "planner/ChainDPTables.h"

#include <optional>

namespace remat::chaindp {

struct DenseResult {
  std::vector<ChainOp> Ops;
  /// Optimal time for the rounded chain, model time unit.
  double Time = 0;
  /// Peak in units, as the rounded chain counts it.
  uint64_t PeakUnits = 0;
  uint64_t TableBytes = 0;
};

/// Plans \p C (sizes in units) within \p Budget units; none when infeasible.
/// With \p WantOps false only the time is computed.
std::optional<DenseResult> planDense(const DPChain &C, uint64_t Budget,
                                     bool WantOps = true);

/// opt_{0,L}(m) for m = 0 .. Budget - A[0] (infinite where infeasible): the
/// discretised budget -> time curve, with x_0 not included in m.
std::vector<double> denseTopCurve(const DPChain &C, uint64_t Budget);

} // namespace remat::chaindp

#endif // REMAT_PLANNER_CHAINDPDENSE_H

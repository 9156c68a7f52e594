//===- planner/ChainExhaustive.h - Every chain schedule ---------*- C++ -*-===//
//
// The least-time schedule of a short chain over ALL valid schedules of spec
// §3a (docs/simulator.md), not only rotor's persistent class that the DP of
// planner/ChainDP.h covers. It is an A* search over the resident set (which
// x_i and x̄_i are resident, where the gradient is), so its cost grows as
// 4^L: it is for short chains, and it gives up cleanly at a state cap.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_CHAINEXHAUSTIVE_H
#define REMAT_PLANNER_CHAINEXHAUSTIVE_H

#include "graph/Graph.h"
#include "planner/Schedule.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace remat {

struct ChainExhaustiveOptions {
  /// Activation budget, bytes.
  uint64_t BudgetBytes = 0;
  /// States the search may store before it gives up (a count; each takes
  /// about 40 bytes plus its index entry).
  uint64_t MaxStates = 500'000;
};

/// What a finished search found.
struct ChainExhaustiveResult {
  /// A least-time schedule within the budget over every valid schedule;
  /// empty when no schedule fits (then Feasible is false).
  std::vector<ChainOp> Ops;
  bool Feasible = false;
  /// Its time, model time unit (summed along the ops).
  double Time = 0;
  /// Its peak, bytes.
  uint64_t PeakBytes = 0;
  /// States the search stored (a count).
  uint64_t States = 0;
};

/// The chains this search is run on by default (`remat plan --strategy
/// optimal`): up to this many stages it finishes well within its state cap on
/// the chains bench/chain_exhaustive.cpp measures (docs/optimal-chain.md).
constexpr unsigned ChainExhaustiveMaxStages = 9;

/// Searches every valid schedule of \p C for the least time within the
/// budget. std::nullopt when it gave up at the state cap (or the chain has
/// more than 28 stages, the most its state encoding holds).
std::optional<ChainExhaustiveResult>
searchChainSchedules(const Chain &C, const ChainExhaustiveOptions &Opts);

/// The least budget under which any valid schedule of \p C exists, bytes,
/// by a bottleneck search over the same states; std::nullopt when it gave
/// up at \p MaxStates.
std::optional<uint64_t> leastChainBudgetAllSchedules(const Chain &C,
                                                     uint64_t MaxStates);

} // namespace remat

#endif // REMAT_PLANNER_CHAINEXHAUSTIVE_H

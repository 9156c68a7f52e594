//===- planner/chain/ChainDPDense.h - Discretised chain DP ------*- C++ -*-===//
//
// Internal to planner/chain/ChainDP.cpp. The recurrence of ChainDPTables.h over
// whole memory units, each table a dense array of times for every budget
// from its least feasible one up to what the budget leaves it. Choices are
// not stored: reconstruction re-evaluates the O(L) candidates of each step,
// which repeats the same floating-point sums and so finds the stored value.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_CHAINDPDENSE_H
#define REMAT_PLANNER_CHAINDPDENSE_H

// Private to remat_planner_chain: outside it, link
// remat_planner_chain_internals.
#ifndef REMAT_PLANNER_CHAIN_INTERNALS
#error "planner/chain/ChainDPDense.h is private to remat_planner_chain"
#endif

#include "planner/chain/ChainDPTables.h"

#include <optional>
#include <vector>

namespace remat::chaindp {

struct DenseResult {
  std::vector<ChainOp> Ops;
  /// Optimal time for the rounded chain as the tables hold it, model time
  /// unit.
  double Time = 0;
  /// Relative rounding error of Time in single precision (denseSlack): the
  /// rounded chain's optimum is at least Time / (1 + Slack). 0 in double
  /// precision, whose error is negligible.
  double Slack = 0;
  /// Peak in units, as the rounded chain counts it.
  uint64_t PeakUnits = 0;
  uint64_t TableBytes = 0;
};

struct DenseOptions {
  /// Keep the tables in float rather than double: half the memory and twice
  /// the vector width, at a relative error of DenseResult::Slack.
  bool SinglePrecision = false;
  /// Threads that share the tables' tiles; 1 runs on the caller's thread
  /// alone. The result does not depend on it.
  unsigned Threads = 1;
  /// Whether to reconstruct the ops; otherwise only the time is computed.
  bool WantOps = true;
  /// Store each table only from the least m that a plan of the whole chain
  /// within the budget can enter it with. Plans and times do not change;
  /// the tables below the budget's top row then no longer answer for
  /// smaller budgets (denseTopCurve keeps them whole).
  bool ClipToReach = true;
  /// When not empty (L + 1 entries), a split may keep x_j only where
  /// SplitAt[j] is set (j in 1..L): the plan is then the best of the
  /// persistent schedules that checkpoint only there, an upper bound on the
  /// optimum, and only the tables such plans read are built (the columns l
  /// with l = L or SplitAt[l + 1]). With one stage in c allowed that is
  /// about c^2 times less work. Empty: every stage.
  std::vector<char> SplitAt;
  /// Tables per side of a tile (cache blocking, see ChainDPDense.cpp).
  /// The result does not depend on it; 32 was fastest on the bench chains
  /// (L = 500 and 1,000: 8 and 16 were 10-25% slower, 64 about 10%).
  unsigned Tile = 32;
};

/// Plans \p C (sizes in units) within \p Budget units; none when infeasible.
std::optional<DenseResult> planDense(const DPChain &C, uint64_t Budget,
                                     const DenseOptions &Opts = {});

/// A bound on the relative rounding error of a table value of an
/// \p L-stage chain, in single or double precision.
double denseSlack(unsigned L, bool SinglePrecision);

/// opt_{0,L}(m) for m = 0 .. Budget - A[0] (infinite where infeasible): the
/// discretised budget -> time curve, with x_0 not included in m. Tables in
/// double precision, shared by \p Threads threads (the curve does not
/// depend on it).
std::vector<double> denseTopCurve(const DPChain &C, uint64_t Budget,
                                  unsigned Threads = 1);

} // namespace remat::chaindp

#endif // REMAT_PLANNER_CHAINDPDENSE_H

//===- planner/chain/ChainDPTables.h - Step-function chain DP ---*- C++ -*-===//
//
// Internal to the optimal chain planner (planner/chain/ChainDP.cpp) and the
// frontier (planner/strategy/Frontier.cpp); see docs/optimal-chain.md.
//
// The recurrence is rotor's persistent one (Beaumont et al., ACM TOMS 2024),
// with every peak term of spec §3a checked. Sub(i, l) reverses stages i..l
// (and the loss when l == L) starting from a resident copy of x_i (plain or
// recorded) that stays resident throughout, and y_{l+1} (none when l == L);
// it ends with y_i. Its value opt_{i,l}(m) is the least time when m bytes are
// available besides everything resident outside it (the start copy of x_i
// included). opt_{i,l} is a non-increasing step function of m, stored exactly
// as its sorted breakpoints, so one table gives every budget at once.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_CHAINDPTABLES_H
#define REMAT_PLANNER_CHAINDPTABLES_H

// Private to remat_planner_chain: outside it, link
// remat_planner_chain_internals.
#ifndef REMAT_PLANNER_CHAIN_INTERNALS
#error "planner/chain/ChainDPTables.h is private to remat_planner_chain"
#endif

#include "graph/Graph.h"
#include "planner/Schedule.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace remat::chaindp {

/// The chain as the DP sees it: exact bytes, or bytes in memory units.
struct DPChain {
  unsigned L = 0;
  /// A[k] = size of x_k for k in [0, L]; A[L+1] = 0 (no gradient above the
  /// loss).
  std::vector<uint64_t> A;
  /// ABar[k] = size of x̄_k for k in [1, L]; ABar[0] unused.
  std::vector<uint64_t> ABar;
  /// Per stage: forward and backward workspace.
  std::vector<uint64_t> FwdWs, BwdWs;
  /// Per stage: forward and backward time, model time unit.
  std::vector<double> Fwd, Bwd;
  uint64_t LossWs = 0;
  double LossTime = 0;
  /// The loss's peak above x_L or x̄_L (outside Sub(L, L)): y_L and the
  /// loss's workspace, or the workspace alone when the loss frees x_L
  /// before it makes y_L (LossCost::FreesInput).
  uint64_t LossNeed = 0;
  /// BNeed[i]: B_i's peak in the record branch of stage i: x̄_{i+1} (under
  /// FreesInput, for i = L-1, what the loss left of it), y_{i+1}, y_i and
  /// the backward workspace.
  std::vector<uint64_t> BNeed;
};

/// Exact sizes of \p C.
DPChain exactChain(const Chain &C);
/// Sizes of \p C divided by \p Unit, rounded up (\p Up) or down.
DPChain roundedChain(const Chain &C, uint64_t Unit, bool Up);

/// A breakpoint: from Mem on (until the next breakpoint) the least time is
/// Time, achieved by Choice (0: record stage i with F_all, or the loss when
/// i == L; j > i: forward to x_j and split there).
struct Point {
  uint64_t Mem;
  double Time;
  uint32_t Choice;
};

constexpr uint64_t NoCap = std::numeric_limits<uint64_t>::max();

/// The tables opt_{i,l} for all 0 <= i <= l <= L.
class Tables {
public:
  /// Fills every table. With \p Budget (same units as \p C), breakpoints
  /// that no plan within it can use are dropped. Stops early, with
  /// aborted() set, once more than \p WorkLimit units of work (workDone)
  /// have been done, or once the columns done so far project a total of
  /// more than twice that.
  /// With a finite \p UpperBound (a time some plan within the budget
  /// reaches), breakpoints that no plan at or below it can use are dropped
  /// too (see commit and prunedBelow): the optimum does not change, the
  /// work falls.
  Tables(DPChain C, uint64_t Budget = NoCap, uint64_t WorkLimit = NoCap,
         double UpperBound = std::numeric_limits<double>::infinity());

  /// Whether the work limit stopped the tables early (they are then
  /// unusable).
  bool aborted() const { return Aborted; }

  /// Work done, a deterministic count: breakpoints read by the record
  /// branch, splits tried, steps of the split walks and points merged.
  uint64_t workDone() const { return WorkDone; }

  /// opt_{I,L'}: breakpoints sorted by Mem, strictly decreasing Time.
  llvm::ArrayRef<Point> at(unsigned I, unsigned Lp) const;

  /// The whole chain: opt_{0,L} with x_0 added, i.e. budget -> time.
  llvm::ArrayRef<Point> top() const { return at(0, C.L); }

  /// The breakpoint that serves a budget, if any: the last with
  /// Mem + A[0] <= Budget.
  std::optional<Point> best(uint64_t Budget) const;

  /// Ops of the least-time plan within \p Budget (must be feasible).
  std::vector<ChainOp> reconstruct(uint64_t Budget) const;

  /// Bytes held by the tables.
  uint64_t tableBytes() const;

  const DPChain &chain() const { return C; }

private:
  void compute(unsigned I, unsigned Lp, uint64_t SA);
  /// Whether the work so far, after column \p Lp, projects past twice
  /// \p WorkLimit for the whole run.
  bool projectedOver(unsigned Lp, uint64_t WorkLimit) const;
  void setReach();
  void addRecord(unsigned I, unsigned Lp, uint64_t Lo, uint64_t Hi);
  void addSplits(unsigned I, unsigned Lp, uint64_t Lo, uint64_t Hi);
  struct Span {
    uint64_t Begin = 0;
    uint32_t Size = 0;
    /// Where the table's coarse copy starts in Coarse (UseCoarse).
    uint32_t CBegin = 0;
  };
  /// A table's coarse copy: its value at the last m of each of N blocks of
  /// W units from its first breakpoint Lo on, at Coarse[Begin ...]. Lo, W
  /// and N follow from the first and last breakpoints (coarseView).
  struct CoarseView {
    llvm::ArrayRef<Point> T;
    uint64_t Lo = 0, W = 1, N = 0, Begin = 0;
  };
  /// One split's candidate, as splitCandidate describes.
  struct Split {
    llvm::ArrayRef<Point> Right, Left;
    uint64_t Shift, Start;
    double Cost, Bound;
    uint32_t J;
    CoarseView RC, LC;
  };
  void splitCandidate(const Split &S, uint64_t Thr, uint64_t Lo, uint64_t Hi);
  bool walk(const Split &S, uint64_t From, uint64_t To, double &Last);
  double envAt(size_t &E, uint64_t X) const;
  CoarseView coarseView(const Span &S) const;
  double coarseAt(const CoarseView &V, uint64_t X) const;
  void envBlocks(uint64_t FromMem, uint64_t ToMem);
  void commitCoarse(Span &S);
  uint64_t mergeCandidate();
  void commit(unsigned I, unsigned Lp, uint64_t Lo);
  size_t index(unsigned I, unsigned Lp) const {
    return size_t(I) * (C.L + 1) + Lp;
  }
  uint64_t cap(unsigned I) const;
  uint64_t prunedBelow(unsigned I, unsigned Lp) const;
  /// Forward time outside Sub(I, Lp) that every plan reading it spends:
  /// the split at Lp + 1 ran stages I .. Lp (when Lp < L).
  double outside(unsigned I, unsigned Lp) const {
    return Lp < C.L ? FwdPrefix[Lp + 1] - FwdPrefix[I] : 0;
  }
  /// Every stage of Sub(I, Lp) forward and backward once (and the loss).
  double least(unsigned I, unsigned Lp) const {
    unsigned Top = C.L ? std::min(Lp, C.L - 1) + 1 : 0;
    double T = I < Top ? Prefix[Top] - Prefix[I] : 0;
    return Lp == C.L ? T + C.LossTime : T;
  }

  DPChain C;
  uint64_t Budget;
  uint64_t WorkDone = 0;
  /// Per row i: the least m a plan of the whole chain within Budget can
  /// enter Sub(i, l) with (setReach); 0 without a budget.
  std::vector<uint64_t> Reach;
  bool Aborted = false;
  /// Prefix sums of forward plus backward, and of forward, times.
  std::vector<double> Prefix, FwdPrefix;
  /// Time above the least a plan may spend and stay within the upper
  /// bound, with room for rounding; infinity without one.
  double Room = std::numeric_limits<double>::infinity();
  /// All breakpoints, table after table; Spans[index(i,l)] locates one.
  std::vector<Point> Arena;
  std::vector<Span> Spans;
  /// Blocks of a table's m range in the coarse copies.
  static constexpr uint64_t CoarseBlocks = 64;
  /// Work units (workDone) counted for the binary searches that start a
  /// walk or place a split's first useful m.
  static constexpr uint64_t WalkSearchUnits = 8;
  /// Coarse copies (only with an upper bound and a budget, and while
  /// Coarse's offsets fit in 32 bits): each table's
  /// values at its blocks' last m (Coarse), and the envelope's at the
  /// first m of EnvN blocks of EnvW units from EnvLo (EnvHi).
  bool UseCoarse = false;
  std::vector<double> Coarse, EnvHi;
  uint64_t EnvLo = 0, EnvW = 1, EnvN = 0;
  /// Scratch: the lower envelope of the candidates so far of the table
  /// being computed, the breakpoints of one split below it, and their
  /// merge.
  std::vector<Point> Env, Cand, Merged;
};

/// The least budget (same units as \p C) for which Sub(0, L) has a plan.
uint64_t minFeasibleBudget(const DPChain &C);

/// The least m for which opt_{i,l}(m) is finite, for every i <= l, at index
/// i * (L+1) + l, computed on up to \p Threads threads. Where \p Coarse
/// (same index) is set, a lower bound instead, in O(1): the largest peak of
/// a backward (or the loss) of the sub-chain, each of which runs within it.
/// The entries built on those are then lower bounds too. Where \p SplitAt
/// is given, splits count only at the j it sets (DenseOptions::SplitAt).
std::vector<uint64_t> minMemTable(const DPChain &C, unsigned Threads = 1,
                                  const std::vector<char> *Coarse = nullptr,
                                  const std::vector<char> *SplitAt = nullptr);

/// SA(i,l), the least m with which the plan that records every stage of
/// Sub(i, l) fits, for every i <= l, at index i * (L+1) + l. That plan has
/// the least time of all (every stage forward and backward once), so
/// opt_{i,l}(m) is constant from SA(i,l) on.
std::vector<uint64_t> storeAllTable(const DPChain &C);

/// SA(0, L): with x_0 added, the store-all plan's peak (same units as \p C).
uint64_t storeAllNeed(const DPChain &C);

/// Bytes of the exact DP (Tables) that grow with the (L+1)^2 stage pairs:
/// its spans (16 B a pair) and, when the budget is infeasible, the least-
/// memory table that names the least budget (16 B a pair while it is
/// filled). The breakpoint arena comes on top; ExactWorkLimit bounds it.
uint64_t exactTablesBytes(unsigned L);

/// An upper bound on the bytes of the discretised DP (ChainDPDense.cpp)
/// for \p C within \p Budget units, \p ValueBytes per table entry (4 in
/// single precision, 8 in double), tables clipped to their reach or not:
/// its per-pair arrays (120 B a pair) and its arena, each table bounded by
/// the store-all need SA(i,l) and what the budget leaves it; with
/// \p SplitAt (DenseOptions::SplitAt), only the columns it builds. O(L^2)
/// time, O(L) memory.
uint64_t denseTablesBytes(const DPChain &C, uint64_t Budget,
                          unsigned ValueBytes, bool ClipToReach,
                          const std::vector<char> *SplitAt = nullptr);

/// An error "\p What: the chain DP needs an estimated N of tables for L
/// stages, over the limit of M; \p Advice" when \p Estimate > \p Cap.
llvm::Error checkTableBytes(llvm::StringRef What, uint64_t Estimate,
                            uint64_t Cap, unsigned L, llvm::StringRef Advice);

} // namespace remat::chaindp

#endif // REMAT_PLANNER_CHAINDPTABLES_H

//===- planner/ChainDPDense.cpp - Discretised chain DP --------------------===//
//
// Each table opt_{i,l} covers m in [least feasible, min(what the budget
// leaves it, store-all need)]; below it the time is infinite, above it the
// time is that of the last entry. From the store-all need SA(i,l) on, the
// plan that records every stage fits, and its time (every stage forward and
// backward once) is the least any plan of Sub(i, l) can have, so the table
// is constant there and need not be stored. Per split j the update is a plain
// element-wise min over a contiguous range, which compilers vectorise. Two
// prunings keep the ranges short: a split's candidate starts at its own
// least feasible m, and it stops where the envelope built so far already
// reaches the candidate's least possible time (its cost plus the two
// sub-tables' minima), since a non-increasing candidate cannot improve on
// the envelope beyond that point.
//
//===----------------------------------------------------------------------===//

#include "planner/ChainDPDense.h"

#include "llvm/ADT/SmallVector.h"

#include <algorithm>
#include <limits>

using namespace llvm;

namespace remat::chaindp {

namespace {

constexpr double Inf = std::numeric_limits<double>::infinity();

class Dense {
public:
  Dense(const DPChain &C, uint64_t Budget);

  /// opt_{I,Lp}(M); infinite below the table's range.
  double value(unsigned I, unsigned Lp, uint64_t M) const {
    const Span &S = Spans[ix(I, Lp)];
    if (S.Lo > S.Hi || M < S.Lo)
      return Inf;
    return Arena[S.Begin + (std::min(M, S.Hi) - S.Lo)];
  }
  std::vector<ChainOp> reconstruct(uint64_t M0) const;
  unsigned length() const { return C.L; }
  uint64_t tableBytes() const {
    return (Arena.capacity() + CoarseRow.capacity() + CoarseCol.capacity()) *
               sizeof(double) +
           (Spans.capacity() + ColSpans.capacity()) * sizeof(Span) +
           Min.capacity() * 8;
  }

private:
  struct Span {
    uint64_t Begin = 0, Lo = 1, Hi = 0;
    /// Where the coarse copies start in CoarseRow and CoarseCol.
    uint64_t CRow = 0, CCol = 0;
    /// The table's last (least) value.
    double Last = Inf;
  };
  /// Coarse copies hold, per block of Block units of m (aligned at
  /// multiples of Block), the table's value at the block's last m: a lower
  /// bound on the table over the block, in 1/Block of the memory. There are
  /// two: CoarseRow lays the tables of one i side by side, CoarseCol those of
  /// one l, so that a split loop reads both of its operands' copies
  /// sequentially.
  static constexpr uint64_t Block = 32;
  /// A lower bound on opt(M') for every M' in M's block with S.Lo <= M' <=
  /// M: the coarse value of M's block. Needs M >= S.Lo.
  static double coarseAt(const std::vector<double> &Copy, uint64_t Begin,
                         const Span &S, uint64_t M) {
    return Copy[Begin + std::min(M, S.Hi) / Block - S.Lo / Block];
  }
  size_t cix(unsigned I, unsigned Lp) const {
    return size_t(Lp) * (C.L + 1) + I;
  }
  uint64_t layout();
  void finish(unsigned I, unsigned Lp, Span &S);
  void applySplit(const Span &S, uint64_t Lo, double Bound, double Cost,
                  const Span &R, uint64_t Shift, const Span &Lf);
  size_t ix(unsigned I, unsigned Lp) const {
    return size_t(I) * (C.L + 1) + Lp;
  }
  uint64_t cap(unsigned I) const {
    uint64_t Outside = C.A[0] + (I > 0 ? C.A[I] : 0);
    return Budget >= Outside ? Budget - Outside : 0;
  }
  /// A lower bound on every plan's time for Sub(I, Lp): each stage forward
  /// and backward once (and the loss), less a margin that covers the
  /// rounding of the prefix sums and of the DP's own sums.
  double leastTime(unsigned I, unsigned Lp) const {
    unsigned Top = std::min(Lp, C.L - 1) + 1; // Stages I .. Top-1.
    double T = I < Top ? Prefix[Top] - Prefix[I] : 0;
    if (Lp == C.L)
      T += C.LossTime;
    return T - Margin;
  }
  void compute(unsigned I, unsigned Lp);
  void splits(unsigned I, unsigned Lp, const Span &Out);
  void minCandidate(double *Out, uint64_t Lo, uint64_t End, double Cost,
                    const Span &R, uint64_t Shift, const Span &Lf);
  uint64_t recordThreshold(unsigned I, unsigned Lp) const {
    uint64_t Bar = C.ABar[I + 1];
    return std::max(C.A[Lp + 1] + Bar + C.FwdWs[I],
                    Bar + C.A[I + 1] + C.A[I] + C.BwdWs[I]);
  }
  double recordValue(unsigned I, unsigned Lp, uint64_t M) const {
    if (M < recordThreshold(I, Lp))
      return Inf;
    double Cost = C.Fwd[I] + C.Bwd[I];
    if (I == Lp)
      return Cost;
    uint64_t Bar = C.ABar[I + 1];
    return M < Bar ? Inf : Cost + value(I + 1, Lp, M - Bar);
  }

  const DPChain &C;
  uint64_t Budget;
  std::vector<uint64_t> Min;
  /// Prefix[k]: forward plus backward time of stages 0 .. k-1.
  std::vector<double> Prefix;
  double Margin = 0;
  /// Spans[ix(i,l)]; ColSpans[cix(i,l)] holds the same span once the table
  /// is done, for reading a column's spans in sequence.
  std::vector<Span> Spans, ColSpans;
  std::vector<double> Arena, CoarseRow, CoarseCol;
};

Dense::Dense(const DPChain &Chn, uint64_t Budget)
    : C(Chn), Budget(Budget), Min(minMemTable(Chn)) {
  Spans.resize(size_t(C.L + 1) * (C.L + 1));
  Prefix.assign(1, 0);
  for (unsigned K = 0; K < C.L; ++K)
    Prefix.push_back(Prefix.back() + (C.Fwd[K] + C.Bwd[K]));
  // Sums of up to ~L terms err by far less than 1e-9 of the largest.
  Margin = 1e-9 * (Prefix.back() + C.LossTime);
  ColSpans.resize(Spans.size());
  uint64_t Size = layout();
  // Cache blocking: opt_{i,l} reads the tables (j, l), j > i, of its own
  // column and the tables (i, j-1) of its row. Computing a band of B columns
  // row by row (i descending, then l ascending within the band) reads each
  // row's tables once per band instead of once per column, while the band's
  // columns (B of them, about 6 MiB in all, as two passes run at once) stay in
  // the last-level cache. The dependencies hold: (j, l) with j > i comes from
  // an earlier row of the band, (i, j-1) from an earlier band or the same row.
  // On the bench chains this halves the CPU time at L = 200 and 500
  // (docs/optimal-chain.md).
  uint64_t ColumnBytes = Size * sizeof(double) / (C.L + 1) + 1;
  unsigned B = unsigned(std::clamp<uint64_t>((6u << 20) / ColumnBytes, 2, 16));
  for (unsigned L0 = 0; L0 <= C.L; L0 += B) {
    unsigned L1 = std::min(C.L, L0 + B - 1);
    for (unsigned I = L1 + 1; I-- > 0;)
      for (unsigned Lp = std::max(L0, I); Lp <= L1; ++Lp)
        compute(I, Lp);
  }
}

// opt_{i,l} needs opt_{j,l} (j > i) and tables with a smaller l, so the
// arena holds them by l ascending, i descending: the tables of one l lie side
// by side, and the split loop reads its right-hand tables sequentially. Every
// range is known up front, so the arena is allocated once, at its exact
// size, which is returned.
uint64_t Dense::layout() {
  std::vector<uint64_t> SA = storeAllTable(C);
  uint64_t Size = 0, CSize = 0;
  for (unsigned Lp = 0; Lp <= C.L; ++Lp)
    for (unsigned I = Lp + 1; I-- > 0;) {
      Span &S = Spans[ix(I, Lp)];
      S.Lo = Min[ix(I, Lp)];
      S.Hi = std::min(cap(I), SA[ix(I, Lp)]);
      if (S.Lo == NoCap || S.Lo > S.Hi) {
        S = Span();
        continue;
      }
      S.Begin = Size;
      Size += S.Hi - S.Lo + 1;
      S.CCol = CSize;
      CSize += S.Hi / Block - S.Lo / Block + 1;
    }
  uint64_t RowSize = 0;
  for (unsigned I = 0; I <= C.L; ++I)
    for (unsigned Lp = I; Lp <= C.L; ++Lp) {
      Span &S = Spans[ix(I, Lp)];
      if (S.Lo > S.Hi)
        continue;
      S.CRow = RowSize;
      RowSize += S.Hi / Block - S.Lo / Block + 1;
    }
  Arena.assign(Size, Inf);
  CoarseRow.assign(RowSize, Inf);
  CoarseCol.assign(CSize, Inf);
  return Size;
}

void Dense::compute(unsigned I, unsigned Lp) {
  Span &S = Spans[ix(I, Lp)];
  if (S.Lo > S.Hi)
    return;
  double *Out = Arena.data() + S.Begin;
  if (I == C.L) {
    std::fill(Out, Out + (S.Hi - S.Lo + 1), C.LossTime);
    finish(I, Lp, S);
    return;
  }
  for (uint64_t M = std::max(S.Lo, recordThreshold(I, Lp)); M <= S.Hi; ++M)
    Out[M - S.Lo] = recordValue(I, Lp, M);
  splits(I, Lp, S);
  finish(I, Lp, S);
}

void Dense::finish(unsigned I, unsigned Lp, Span &S) {
  const double *Out = Arena.data() + S.Begin; // Out[m - S.Lo] is opt(m).
  S.Last = Out[S.Hi - S.Lo];
  for (uint64_t B = S.Lo / Block; B <= S.Hi / Block; ++B) {
    double V = Out[std::min(B * Block + Block - 1, S.Hi) - S.Lo];
    CoarseRow[S.CRow + B - S.Lo / Block] = V;
    CoarseCol[S.CCol + B - S.Lo / Block] = V;
  }
  ColSpans[cix(I, Lp)] = S;
}

void Dense::splits(unsigned I, unsigned Lp, const Span &S) {
  double *Out = Arena.data() + S.Begin;
  uint64_t Y = C.A[Lp + 1];
  uint64_t Thr = Y + C.A[I + 1] + C.FwdWs[I];
  double Cost = 0;
  double Least = leastTime(I, Lp);
  for (unsigned J = I + 1; J <= Lp; ++J) {
    Cost += C.Fwd[J - 1];
    if (J - 1 > I)
      Thr = std::max(Thr, Y + C.A[J - 1] + C.A[J] + C.FwdWs[J - 1]);
    if (Thr > S.Hi)
      return;
    // Split J costs at least Cost + Least everywhere, and only counts from
    // Thr on, where the envelope is at most its value at Thr. Cost and Thr
    // only grow with J (times are non-negative), so once the envelope is
    // there no later split can improve the table either.
    if (Out[std::max(Thr, S.Lo) - S.Lo] <= Cost + Least)
      return;
    const Span &R = ColSpans[cix(J, Lp)], &Lf = Spans[ix(I, J - 1)];
    if (R.Lo > R.Hi || Lf.Lo > Lf.Hi)
      continue;
    uint64_t Lo = std::max({Thr, R.Lo + C.A[J], Lf.Lo, S.Lo});
    if (Lo > S.Hi)
      continue;
    applySplit(S, Lo, Cost + R.Last + Lf.Last, Cost, R, C.A[J], Lf);
  }
}

// The element-wise kernel of a split: Out[k] = min(Out[k], Cost + R + L)
// with R = RR[k] for k < REnd and RLast after (likewise L), for k < N. The
// loops are vectorised; where the CPU has AVX2 a second copy with 4-wide
// doubles is picked at load time (GCC function multiversioning), since the
// band order of the tables leaves this loop compute-bound.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) &&         \
    !defined(__SANITIZE_ADDRESS__)
#define REMAT_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define REMAT_MULTIVERSION
#endif

REMAT_MULTIVERSION
static void minPlus(double *Out, const double *RR, const double *LL,
                    double Cost, double RLast, double LLast, size_t REnd,
                    size_t LEnd, size_t N) {
  size_t Both = std::min({REnd, LEnd, N}),
         One = std::min(std::max(REnd, LEnd), N);
  for (size_t K = 0; K < Both; ++K)
    Out[K] = std::min(Out[K], Cost + RR[K] + LL[K]);
  if (REnd > LEnd) {
    for (size_t K = Both; K < One; ++K)
      Out[K] = std::min(Out[K], Cost + RR[K] + LLast);
  } else {
    for (size_t K = Both; K < One; ++K)
      Out[K] = std::min(Out[K], Cost + RLast + LL[K]);
  }
  double Flat = Cost + RLast + LLast;
  for (size_t K = One; K < N; ++K)
    Out[K] = std::min(Out[K], Flat);
}

// Applies split candidate Cost + opt_R(m - Shift) + opt_Lf(m) to table S
// for m from Lo on, up to where the envelope is at most Bound, skipping the
// blocks of m where it cannot help: on a block, the candidate is at least Cost
// plus the coarse values of R and Lf at the block's last m (the tables are
// non-increasing, and float addition rounds monotonically), and the envelope is
// at most its value at the block's first m. Fewer than 1% of the element
// updates improve a table on the bench chains; this test reads 1/Block of the
// data to rule most of the rest out. Runs of blocks that pass are updated in
// one call.
void Dense::applySplit(const Span &S, uint64_t Lo, double Bound, double Cost,
                       const Span &R, uint64_t Shift, const Span &Lf) {
  constexpr uint64_t NoRun = std::numeric_limits<uint64_t>::max();
  double *Out = Arena.data() + S.Begin; // Out[m - S.Lo] is opt(m).
  uint64_t X = Lo, RunLo = NoRun;
  for (; X <= S.Hi; X = std::min(S.Hi + 1, (X / Block + 1) * Block)) {
    // From where the envelope reaches the candidate's least value (Bound:
    // Cost plus the two tables' last entries) on, nothing can change.
    if (Out[X - S.Lo] <= Bound)
      break;
    uint64_t Y = std::min(S.Hi + 1, (X / Block + 1) * Block);
    double Low = Cost + coarseAt(CoarseCol, R.CCol, R, Y - 1 - Shift) +
                 coarseAt(CoarseRow, Lf.CRow, Lf, Y - 1);
    bool Pass = Low < Out[X - S.Lo];
    if (Pass && RunLo == NoRun)
      RunLo = X;
    if (!Pass && RunLo != NoRun) {
      minCandidate(Out + (RunLo - S.Lo), RunLo, X, Cost, R, Shift, Lf);
      RunLo = NoRun;
    }
  }
  if (RunLo != NoRun)
    minCandidate(Out + (RunLo - S.Lo), RunLo, X, Cost, R, Shift, Lf);
}

// Out[m - Lo] = min(Out[m - Lo], Cost + opt_R(m - Shift) + opt_Lf(m)) for m
// in [Lo, End). Past a table's last entry its value is that entry's (the
// store-all time).
void Dense::minCandidate(double *Out, uint64_t Lo, uint64_t End, double Cost,
                         const Span &R, uint64_t Shift, const Span &Lf) {
  // Entries of R and Lf left from Lo on (the rest read as the last one);
  // Lo >= R.Lo + Shift and Lo >= Lf.Lo, so none is below a table's range.
  size_t REnd = R.Hi + Shift + 1 > Lo ? R.Hi + Shift + 1 - Lo : 0;
  size_t LEnd = Lf.Hi + 1 > Lo ? Lf.Hi + 1 - Lo : 0;
  const double *RR =
      REnd ? Arena.data() + R.Begin + (Lo - Shift - R.Lo) : nullptr;
  const double *LL = LEnd ? Arena.data() + Lf.Begin + (Lo - Lf.Lo) : nullptr;
  double RLast = R.Last, LLast = Lf.Last;
  minPlus(Out, RR, LL, Cost, RLast, LLast, REnd, LEnd, End - Lo);
}

struct Work {
  bool IsOp;
  ChainOp Op;
  unsigned I, Lp;
  uint64_t M;
};

std::vector<ChainOp> Dense::reconstruct(uint64_t M0) const {
  std::vector<ChainOp> Ops;
  SmallVector<Work, 64> Stack;
  Stack.push_back({false, {}, 0, C.L, M0});
  while (!Stack.empty()) {
    Work W = Stack.pop_back_val();
    if (W.IsOp) {
      Ops.push_back(W.Op);
      continue;
    }
    unsigned I = W.I, Lp = W.Lp;
    uint64_t M = std::min(W.M, Spans[ix(I, Lp)].Hi);
    if (I == C.L) {
      Ops.push_back({ChainOpKind::Loss, 0});
      continue;
    }
    double V = value(I, Lp, M);
    if (recordValue(I, Lp, M) == V) {
      Ops.push_back({ChainOpKind::FAll, I});
      Stack.push_back({true, {ChainOpKind::B, I}, 0, 0, 0});
      if (I < Lp)
        Stack.push_back({false, {}, I + 1, Lp, M - C.ABar[I + 1]});
      continue;
    }
    uint64_t Y = C.A[Lp + 1];
    uint64_t Thr = Y + C.A[I + 1] + C.FwdWs[I];
    double Cost = 0;
    unsigned J = I + 1;
    for (;; ++J) {
      assert(J <= Lp && "no candidate reproduces the table value");
      Cost += C.Fwd[J - 1];
      if (J - 1 > I)
        Thr = std::max(Thr, Y + C.A[J - 1] + C.A[J] + C.FwdWs[J - 1]);
      if (M >= Thr && M >= C.A[J] &&
          Cost + value(J, Lp, M - C.A[J]) + value(I, J - 1, M) == V)
        break;
    }
    Ops.push_back({ChainOpKind::FCk, I});
    for (unsigned K = I + 1; K < J; ++K)
      Ops.push_back({ChainOpKind::FN, K});
    Stack.push_back({false, {}, I, J - 1, M});
    Stack.push_back({false, {}, J, Lp, M - C.A[J]});
  }
  return Ops;
}

} // namespace

std::optional<DenseResult> planDense(const DPChain &C, uint64_t Budget,
                                     bool WantOps) {
  if (Budget < C.A[0])
    return std::nullopt;
  Dense D(C, Budget);
  uint64_t M0 = Budget - C.A[0];
  double T = D.value(0, C.L, M0);
  if (T == Inf)
    return std::nullopt;
  DenseResult R;
  R.Time = T;
  R.PeakUnits = Budget;
  R.TableBytes = D.tableBytes();
  if (WantOps)
    R.Ops = D.reconstruct(M0);
  return R;
}

} // namespace remat::chaindp

namespace remat::chaindp {
std::vector<double> denseTopCurve(const DPChain &C, uint64_t Budget) {
  if (Budget < C.A[0])
    return {};
  Dense D(C, Budget);
  std::vector<double> Out;
  for (uint64_t M = 0; M <= Budget - C.A[0]; ++M)
    Out.push_back(D.value(0, C.L, M));
  return Out;
}
} // namespace remat::chaindp

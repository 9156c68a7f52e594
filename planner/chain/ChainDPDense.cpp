//===- planner/chain/ChainDPDense.cpp - Discretised chain DP --------------===//
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
// The rest is about doing that work fast, each part explained where it is
// done and measured in docs/optimal-chain.md: tables start where a plan can
// first reach them (layout), are computed in tiles shared by threads
// (computeAll, computeTile), skip blocks of m on coarse copies
// (applySplit), and hold floats on long chains (DenseOptions).
//
//===----------------------------------------------------------------------===//

#include "planner/chain/ChainDPDense.h"

#include "planner/chain/ChainDPKernel.h"

#include "llvm/ADT/SmallVector.h"

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cassert>
#include <limits>
#include <memory>
#include <thread>

using namespace llvm;

namespace remat::chaindp {

namespace {

/// What one thread needs for the tile it computes.
struct TileScratch {
  /// Per row r of the tile: RowCost[r * (L+2) + j] is the forward time of
  /// stages i .. j-1, RowThr the forward peak on the way to x_j without the
  /// gradient y (Dense::prepareRows).
  std::vector<double> RowCost;
  std::vector<uint64_t> RowThr;
  /// Per table of the tile: no later split can improve it.
  std::vector<char> Stopped;
};

/// The dense tables with values of type V: double, or float for half the
/// memory and twice the vector width (see DenseOptions::SinglePrecision).
template <typename V> class Dense {
public:
  static constexpr V Inf = std::numeric_limits<V>::infinity();

  Dense(const DPChain &C, uint64_t Budget, const DenseOptions &O);

  /// opt_{I,Lp}(M); infinite below the table's range.
  V value(unsigned I, unsigned Lp, uint64_t M) const {
    const Span &S = Spans[ix(I, Lp)];
    if (S.Lo > S.Hi || M < S.Lo)
      return Inf;
    return Arena[S.Begin + (std::min(M, S.Hi) - S.Lo)];
  }
  std::vector<ChainOp> reconstruct(uint64_t M0) const;
  uint64_t tableBytes() const {
    return (ArenaSize + CoarseRow.capacity() + CoarseCol.capacity()) *
               sizeof(V) +
           (Spans.capacity() + ColSpans.capacity()) * sizeof(Span) +
           Min.capacity() * 8;
  }

private:
  struct Span {
    uint64_t Begin = 0, Lo = 1, Hi = 0;
    /// Where the coarse copies start in CoarseRow and CoarseCol.
    uint64_t CRow = 0, CCol = 0;
    /// The table's last (least) value.
    V Last = Inf;
    /// One entry, at the store-all need: its splits wait for the record
    /// branch (computeTile).
    bool Flat = false;
  };
  /// Coarse copies hold, per block of Block units of m (aligned at
  /// multiples of Block), the table's value at the block's last m: a lower
  /// bound on the table over the block, in 1/Block of the memory. There are
  /// two: CoarseRow lays the tables of one i side by side, CoarseCol those of
  /// one l, so that a split loop reads both of its operands' copies
  /// sequentially.
  static constexpr uint64_t Block = 64;
  /// A lower bound on opt(M') for every M' in M's block with S.Lo <= M' <=
  /// M: the coarse value of M's block. Needs M >= S.Lo.
  static V coarseAt(const std::vector<V> &Copy, uint64_t Begin, const Span &S,
                    uint64_t M) {
    return Copy[Begin + std::min(M, S.Hi) / Block - S.Lo / Block];
  }
  size_t ix(unsigned I, unsigned Lp) const {
    return size_t(I) * (C.L + 1) + Lp;
  }
  size_t cix(unsigned I, unsigned Lp) const {
    return size_t(Lp) * (C.L + 1) + I;
  }
  /// Whether a split may keep x_J (DenseOptions::SplitAt).
  bool splitOk(unsigned J) const { return SplitAt.empty() || SplitAt[J]; }
  /// The least allowed split J' >= J (L + 1 when none).
  unsigned nextSplit(unsigned J) const {
    return J > C.L ? C.L + 1 : NextSplit[J];
  }
  /// Whether a plan of the whole chain can read a table of column Lp: the
  /// top column, and those left of an allowed split.
  bool columnNeeded(unsigned Lp) const { return Lp == C.L || splitOk(Lp + 1); }
  uint64_t cap(unsigned I) const {
    uint64_t Outside = C.A[0] + (I > 0 ? C.A[I] : 0);
    return Budget >= Outside ? Budget - Outside : 0;
  }
  /// A lower bound on every plan's time for Sub(I, Lp), as the tables
  /// compute it: each stage forward and backward once (and the loss), less
  /// a margin for the rounding of the prefix sums and of the DP's own sums.
  double leastTime(unsigned I, unsigned Lp) const {
    unsigned Top = std::min(Lp, C.L - 1) + 1; // Stages I .. Top-1.
    double T = I < Top ? Prefix[Top] - Prefix[I] : 0;
    if (Lp == C.L)
      T += C.LossTime;
    return T - Margin;
  }
  uint64_t recordThreshold(unsigned I, unsigned Lp) const {
    uint64_t Bar = C.ABar[I + 1];
    return std::max(C.A[Lp + 1] + Bar + C.FwdWs[I], C.BNeed[I]);
  }
  V recordValue(unsigned I, unsigned Lp, uint64_t M) const {
    if (M < recordThreshold(I, Lp))
      return Inf;
    V Cost = V(C.Fwd[I] + C.Bwd[I]);
    if (I == Lp)
      return Cost;
    uint64_t Bar = C.ABar[I + 1];
    return M < Bar ? Inf : Cost + value(I + 1, Lp, M - Bar);
  }

  void setReach();
  void layout(const std::vector<uint64_t> &SA);
  void computeAll(unsigned Threads);
  void computeTile(unsigned TA, unsigned TB, TileScratch &W);
  void prepareRows(unsigned I0, unsigned I1, unsigned L1, TileScratch &W) const;
  void record(unsigned I, unsigned Lp, const Span &S);
  bool splitRange(unsigned I, unsigned Lp, unsigned I0, unsigned L0,
                  unsigned J0, unsigned J1, TileScratch &W);
  void finish(unsigned I, unsigned Lp, Span &S);
  void applySplit(const Span &S, uint64_t Lo, V Bound, V Cost, const Span &R,
                  uint64_t Shift, const Span &Lf);
  void minCandidate(V *Out, uint64_t Lo, uint64_t End, V Cost, const Span &R,
                    uint64_t Shift, const Span &Lf);

  const DPChain &C;
  uint64_t Budget;
  /// Tables per tile side; see computeAll.
  unsigned Tile;
  /// Whether tables start at the least m a plan of the whole chain within
  /// Budget can reach them with (layout).
  bool ClipToReach;
  std::vector<char> SplitAt;
  /// NextSplit[j]: nextSplit(j) for j in 1..L (NextSplit[0] is unused).
  std::vector<unsigned> NextSplit;
  std::vector<uint64_t> Min;
  /// Reach[i]: see setReach.
  std::vector<uint64_t> Reach;
  /// Prefix[k]: forward plus backward time of stages 0 .. k-1.
  std::vector<double> Prefix;
  double Margin = 0;
  /// Spans[ix(i,l)]; ColSpans[cix(i,l)] holds the same span once the table
  /// is done, for reading a column's spans in sequence.
  std::vector<Span> Spans, ColSpans;
  /// The tables, ArenaSize entries. Left uninitialised at allocation: the
  /// thread that computes a tile fills its tables first, so the pages are
  /// first touched in parallel and the tables are in cache when used.
  std::unique_ptr<V[]> Arena;
  uint64_t ArenaSize = 0;
  std::vector<V> CoarseRow, CoarseCol;
};

template <typename V>
Dense<V>::Dense(const DPChain &Chn, uint64_t Budget, const DenseOptions &O)
    : C(Chn), Budget(Budget), Tile(std::max(1u, O.Tile)),
      ClipToReach(O.ClipToReach), SplitAt(O.SplitAt) {
  assert((SplitAt.empty() || SplitAt.size() == C.L + 1) &&
         "SplitAt has one entry per x_j, j in 0..L");
  NextSplit.assign(C.L + 1, C.L + 1);
  for (unsigned J = C.L + 1; J-- > 1;)
    NextSplit[J] = splitOk(J) ? J : (J < C.L ? NextSplit[J + 1] : C.L + 1);
  Spans.resize(size_t(C.L + 1) * (C.L + 1));
  Prefix.assign(1, 0);
  for (unsigned K = 0; K < C.L; ++K)
    Prefix.push_back(Prefix.back() + (C.Fwd[K] + C.Bwd[K]));
  // Sums of up to ~L doubles err by far less than 1e-9 of the largest; the
  // tables' own sums in V err by at most denseSlack relative to the value
  // (times 2 covers a candidate's forward cost on top of the sub-chains').
  Margin = (1e-9 + 2 * denseSlack(C.L, sizeof(V) == sizeof(float))) *
           (Prefix.back() + C.LossTime);
  ColSpans.resize(Spans.size());
  std::vector<uint64_t> SA = storeAllTable(C);
  setReach();
  // A table whose reach is at or past its store-all need SA(i, l) (and
  // within its cap) holds one entry, at SA: its least feasible m does not
  // matter, and a lower bound on it is enough for the tables built on it.
  // Tables no plan reads (columns left of a split that is not allowed) get
  // the same O(1) lower bound; layout leaves them out.
  std::vector<char> Flat(Spans.size(), 0);
  for (unsigned I = 0; I <= C.L; ++I)
    for (unsigned Lp = I; Lp <= C.L; ++Lp)
      Flat[ix(I, Lp)] = !columnNeeded(Lp) ||
                        (Reach[I] >= SA[ix(I, Lp)] && cap(I) >= SA[ix(I, Lp)]);
  Min = minMemTable(C, O.Threads, &Flat, SplitAt.empty() ? nullptr : &SplitAt);
  layout(SA);
  computeAll(O.Threads);
}

template <typename V> void Dense<V>::setReach() {
  // Reach[i]: the least m with which a plan of the whole chain within the
  // budget can enter Sub(i, l). On the way from Sub(0, L), each index k in
  // 1..i adds at most one copy of x_k or x̄_k to what lies outside (a split
  // at k holds x_k, a record of stage k-1 holds x̄_k), and nothing else is
  // taken from m; so m >= Budget - a_0 - sum of max(a_k, ā_k). Children
  // are entered within their own reach (a split at j > i takes a_j, a
  // record takes ā_{i+1}), so the clipped tables are closed under the
  // recurrence. Rows near the top shrink most: row 0 holds one entry.
  Reach.assign(C.L + 1, 0);
  if (ClipToReach) {
    uint64_t Held = 0, M0 = Budget - C.A[0];
    for (unsigned I = 0; I <= C.L; ++I) {
      if (I > 0)
        Held += std::max(C.A[I], C.ABar[I]);
      Reach[I] = M0 > Held ? M0 - Held : 0;
    }
  }
}

// opt_{i,l} needs opt_{j,l} (j > i) and tables with a smaller l, so the
// arena holds them by l ascending, i descending: the tables of one l lie
// side by side. Every range is known up front, so the arena is allocated
// once, at its exact size. Min may be a lower bound (minMemTable's Coarse):
// the entries below the true least m then hold infinity.
template <typename V> void Dense<V>::layout(const std::vector<uint64_t> &SA) {
  uint64_t Size = 0, CSize = 0;
  for (unsigned Lp = 0; Lp <= C.L; ++Lp)
    for (unsigned I = Lp + 1; I-- > 0 && columnNeeded(Lp);) {
      Span &S = Spans[ix(I, Lp)];
      S.Lo = Min[ix(I, Lp)];
      S.Hi = std::min(cap(I), SA[ix(I, Lp)]);
      if (S.Lo == NoCap || S.Lo > S.Hi) {
        S = Span();
        continue;
      }
      // Past SA the table is constant, so its last entry must stay.
      S.Lo = std::max(S.Lo, std::min(Reach[I], S.Hi));
      S.Flat = S.Lo == S.Hi && S.Hi == SA[ix(I, Lp)];
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
  Arena.reset(new V[Size]);
  ArenaSize = Size;
  CoarseRow.assign(RowSize, Inf);
  CoarseCol.assign(CSize, Inf);
}

// Cache blocking, as in tiled interval DPs: the (i, l) plane is cut into
// Tile x Tile tiles, computed by their distance from the diagonal. Most of a
// table's splits j lie strictly between its tile's row block and column
// block; those read only tables of nearer tiles, so computeTile applies them
// a block of j at a time for the whole tile, and each operand table is read
// once per tile rather than once per table. The tiles at one distance are
// independent, so threads share them (a barrier between distances). Each
// table is computed by one thread in a fixed order, so the result does not
// depend on the number of threads.
template <typename V> void Dense<V>::computeAll(unsigned Threads) {
  unsigned NumTiles = (C.L + 1 + Tile - 1) / Tile;
  auto Scratch = [&] {
    TileScratch W;
    W.RowCost.resize(size_t(Tile) * (C.L + 2));
    W.RowThr.resize(size_t(Tile) * (C.L + 2));
    W.Stopped.resize(Tile * Tile);
    return W;
  };
  Threads = std::clamp(Threads, 1u, NumTiles);
  if (Threads == 1) {
    TileScratch W = Scratch();
    for (unsigned D = 0; D < NumTiles; ++D)
      for (unsigned TA = NumTiles - D; TA-- > 0;)
        computeTile(TA, TA + D, W);
    return;
  }
  auto Next = std::make_unique<std::atomic<unsigned>[]>(NumTiles);
  std::barrier Sync(Threads);
  auto Work = [&] {
    TileScratch W = Scratch();
    for (unsigned D = 0; D < NumTiles; ++D) {
      unsigned Count = NumTiles - D;
      for (unsigned K; (K = Next[D].fetch_add(1)) < Count;)
        computeTile(Count - 1 - K, Count - 1 - K + D, W);
      Sync.arrive_and_wait();
    }
  };
  std::vector<std::thread> Pool;
  for (unsigned T = 1; T < Threads; ++T)
    Pool.emplace_back(Work);
  Work();
  for (std::thread &T : Pool)
    T.join();
}

// Rows I0 .. I1-1 against columns L0 .. L1-1 of tile (TA, TB). The splits j
// in ((TA+1)*Tile, TB*Tile] read tables (i, j-1) of row block TA and (j, l)
// of column block TB in tiles nearer the diagonal: they go first, one block
// of j at a time for every table of the tile, so that the block's operands
// stay in cache. Then each table, in dependency order (i descending, l
// ascending), gets its record branch and the splits that read tables of
// this tile.
template <typename V>
void Dense<V>::computeTile(unsigned TA, unsigned TB, TileScratch &W) {
  unsigned I0 = TA * Tile, I1 = std::min(C.L + 1, I0 + Tile);
  unsigned L0 = TB * Tile, L1 = std::min(C.L + 1, L0 + Tile);
  prepareRows(I0, I1, L1, W);
  std::fill(W.Stopped.begin(), W.Stopped.end(), false);
  for (unsigned I = I0; I < I1; ++I)
    for (unsigned Lp = std::max(L0, I); Lp < L1; ++Lp) {
      const Span &S = Spans[ix(I, Lp)];
      if (S.Lo <= S.Hi)
        std::fill_n(Arena.get() + S.Begin, S.Hi - S.Lo + 1, Inf);
    }
  for (unsigned CB = TA + 1; CB < TB; ++CB)
    for (unsigned I = I1; I-- > I0;)
      for (unsigned Lp = L0; Lp < L1; ++Lp)
        if (columnNeeded(Lp) && !Spans[ix(I, Lp)].Flat)
          splitRange(I, Lp, I0, L0, CB * Tile + 1, (CB + 1) * Tile, W);
  unsigned Mid0 = (TA + 1) * Tile, Mid1 = TB * Tile;
  for (unsigned I = I1; I-- > I0;)
    for (unsigned Lp = std::max(L0, I); Lp < L1; ++Lp) {
      Span &S = Spans[ix(I, Lp)];
      if (S.Lo > S.Hi)
        continue;
      record(I, Lp, S);
      // A stop among the middle splits says nothing of the smaller j.
      char &Stop = W.Stopped[(I - I0) * Tile + (Lp - L0)];
      bool MidStopped = Stop;
      Stop = false;
      // A flat table's record branch usually reaches the least time
      // already, and then its first split stops the loop.
      if (TA == TB || S.Flat)
        splitRange(I, Lp, I0, L0, I + 1, Lp, W);
      else if (splitRange(I, Lp, I0, L0, I + 1, Mid0, W) && !MidStopped)
        splitRange(I, Lp, I0, L0, Mid1 + 1, Lp, W);
      finish(I, Lp, S);
    }
}

// RowCost and RowThr of the rows I0 .. I1-1 for every split j < L1: the
// forward time of stages i .. j-1, summed in the order reconstruction sums
// it, and the largest forward peak on the way to x_j less the gradient y
// (F_ck_i, then each F_n_k).
template <typename V>
void Dense<V>::prepareRows(unsigned I0, unsigned I1, unsigned L1,
                           TileScratch &W) const {
  for (unsigned I = I0; I < I1 && I < C.L; ++I) {
    double *Cost = W.RowCost.data() + size_t(I - I0) * (C.L + 2);
    uint64_t *Thr = W.RowThr.data() + size_t(I - I0) * (C.L + 2);
    double Sum = 0;
    uint64_t Peak = C.A[I + 1] + C.FwdWs[I];
    for (unsigned J = I + 1; J < L1; ++J) {
      Sum += C.Fwd[J - 1];
      if (J - 1 > I)
        Peak = std::max(Peak, C.A[J - 1] + C.A[J] + C.FwdWs[J - 1]);
      Cost[J] = Sum;
      Thr[J] = Peak;
    }
  }
}

// The record branch (or the loss) into table (I, Lp), whose entries may
// already hold splits.
template <typename V>
void Dense<V>::record(unsigned I, unsigned Lp, const Span &S) {
  V *Out = Arena.get() + S.Begin;
  if (I == C.L) {
    std::fill(Out, Out + (S.Hi - S.Lo + 1), V(C.LossTime));
    return;
  }
  for (uint64_t M = std::max(S.Lo, recordThreshold(I, Lp)); M <= S.Hi; ++M)
    Out[M - S.Lo] = std::min(Out[M - S.Lo], recordValue(I, Lp, M));
}

// Splits J0 .. J1 (clipped to I+1 .. Lp) of table (I, Lp), in the tile
// whose first row and column are I0 and L0. Returns false, and marks the
// table, once no split from here on can improve it.
template <typename V>
bool Dense<V>::splitRange(unsigned I, unsigned Lp, unsigned I0, unsigned L0,
                          unsigned J0, unsigned J1, TileScratch &W) {
  const Span &S = Spans[ix(I, Lp)];
  char &Stop = W.Stopped[(I - I0) * Tile + (Lp - L0)];
  if (Stop || S.Lo > S.Hi || I == C.L)
    return false;
  const double *Cost = W.RowCost.data() + size_t(I - I0) * (C.L + 2);
  const uint64_t *Thr = W.RowThr.data() + size_t(I - I0) * (C.L + 2);
  const V *Out = Arena.get() + S.Begin;
  uint64_t Y = C.A[Lp + 1];
  double Least = leastTime(I, Lp);
  // Only the allowed splits: the stop tests below hold for any J.
  for (unsigned J = nextSplit(std::max(J0, I + 1)); J <= std::min(J1, Lp);
       J = nextSplit(J + 1)) {
    // Split J costs at least Cost + Least everywhere, and only counts from
    // its threshold on, where the envelope is at most its value at the
    // threshold. Cost and threshold only grow with J (times are
    // non-negative) and the envelope only falls, so once either test fails
    // no later split can improve the table.
    uint64_t T = Y + Thr[J];
    if (T > S.Hi || Out[std::max(T, S.Lo) - S.Lo] <= Cost[J] + Least) {
      Stop = true;
      return false;
    }
    const Span &R = ColSpans[cix(J, Lp)], &Lf = Spans[ix(I, J - 1)];
    if (R.Lo > R.Hi || Lf.Lo > Lf.Hi)
      continue;
    uint64_t Lo = std::max({T, R.Lo + C.A[J], Lf.Lo, S.Lo});
    if (Lo > S.Hi)
      continue;
    V CostV = V(Cost[J]);
    applySplit(S, Lo, CostV + R.Last + Lf.Last, CostV, R, C.A[J], Lf);
  }
  return true;
}

template <typename V> void Dense<V>::finish(unsigned I, unsigned Lp, Span &S) {
  const V *Out = Arena.get() + S.Begin; // Out[m - S.Lo] is opt(m).
  S.Last = Out[S.Hi - S.Lo];
  for (uint64_t B = S.Lo / Block; B <= S.Hi / Block; ++B) {
    V Val = Out[std::min(B * Block + Block - 1, S.Hi) - S.Lo];
    CoarseRow[S.CRow + B - S.Lo / Block] = Val;
    CoarseCol[S.CCol + B - S.Lo / Block] = Val;
  }
  ColSpans[cix(I, Lp)] = S;
}

// Applies split candidate Cost + opt_R(m - Shift) + opt_Lf(m) to table S
// for m from Lo on, up to where the envelope is at most Bound, skipping the
// blocks of m where it cannot help: on a block, the candidate is at least Cost
// plus the coarse values of R and Lf at the block's last m (the tables are
// non-increasing, and float addition rounds monotonically), and the envelope is
// at most its value at the block's first m. Fewer than 1% of the element
// updates improve a table on the bench chains; this test reads 1/Block of the
// data to rule most of the rest out. Runs of blocks that pass are updated in
// one call. (Making the tests of a run of blocks without branches was
// measured slower.)
template <typename V>
void Dense<V>::applySplit(const Span &S, uint64_t Lo, V Bound, V Cost,
                          const Span &R, uint64_t Shift, const Span &Lf) {
  constexpr uint64_t NoRun = std::numeric_limits<uint64_t>::max();
  V *Out = Arena.get() + S.Begin; // Out[m - S.Lo] is opt(m).
  uint64_t X = Lo, RunLo = NoRun;
  for (; X <= S.Hi; X = std::min(S.Hi + 1, (X / Block + 1) * Block)) {
    // From where the envelope reaches the candidate's least value (Bound:
    // Cost plus the two tables' last entries) on, nothing can change.
    if (Out[X - S.Lo] <= Bound)
      break;
    uint64_t Y = std::min(S.Hi + 1, (X / Block + 1) * Block);
    V Low = Cost + coarseAt(CoarseCol, R.CCol, R, Y - 1 - Shift) +
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
template <typename V>
void Dense<V>::minCandidate(V *Out, uint64_t Lo, uint64_t End, V Cost,
                            const Span &R, uint64_t Shift, const Span &Lf) {
  // Entries of R and Lf left from Lo on (the rest read as the last one);
  // Lo >= R.Lo + Shift and Lo >= Lf.Lo, so none is below a table's range.
  size_t REnd = R.Hi + Shift + 1 > Lo ? R.Hi + Shift + 1 - Lo : 0;
  size_t LEnd = Lf.Hi + 1 > Lo ? Lf.Hi + 1 - Lo : 0;
  const V *RR = REnd ? Arena.get() + R.Begin + (Lo - Shift - R.Lo) : nullptr;
  const V *LL = LEnd ? Arena.get() + Lf.Begin + (Lo - Lf.Lo) : nullptr;
  minPlus(Out, RR, LL, Cost, R.Last, Lf.Last, REnd, LEnd, End - Lo);
}

struct Work {
  bool IsOp;
  ChainOp Op;
  unsigned I, Lp;
  uint64_t M;
};

// Each step re-evaluates its candidates with the very sums the tables used
// (a split's cost in double, then Cost + right + left in V) and takes the
// first that reproduces the table value.
template <typename V>
std::vector<ChainOp> Dense<V>::reconstruct(uint64_t M0) const {
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
    V Val = value(I, Lp, M);
    if (recordValue(I, Lp, M) == Val) {
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
      if (splitOk(J) && M >= Thr && M >= C.A[J] &&
          V(Cost) + value(J, Lp, M - C.A[J]) + value(I, J - 1, M) == Val)
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

template <typename V>
std::optional<DenseResult> planWith(const DPChain &C, uint64_t Budget,
                                    const DenseOptions &O) {
  Dense<V> D(C, Budget, O);
  uint64_t M0 = Budget - C.A[0];
  V T = D.value(0, C.L, M0);
  if (T == Dense<V>::Inf)
    return std::nullopt;
  DenseResult R;
  R.Time = T;
  R.Slack = sizeof(V) == sizeof(float) ? denseSlack(C.L, true) : 0;
  R.PeakUnits = Budget;
  R.TableBytes = D.tableBytes();
  if (O.WantOps)
    R.Ops = D.reconstruct(M0);
  return R;
}

} // namespace

double denseSlack(unsigned L, bool SinglePrecision) {
  // A table value is a sum of stage times, each rounded once to V, added
  // along a tree at most 2 per recursion level deep, over at most L + 1
  // levels: the relative error is at most (2L + 3) units of rounding
  // (2^-24 for float, 2^-53 for double), to first order; twice that covers
  // the higher-order terms with room to spare.
  double Unit = SinglePrecision ? 0x1p-24 : 0x1p-53;
  return (4.0 * L + 8) * Unit;
}

std::optional<DenseResult> planDense(const DPChain &C, uint64_t Budget,
                                     const DenseOptions &O) {
  if (Budget < C.A[0])
    return std::nullopt;
  return O.SinglePrecision ? planWith<float>(C, Budget, O)
                           : planWith<double>(C, Budget, O);
}

std::vector<double> denseTopCurve(const DPChain &C, uint64_t Budget,
                                  unsigned Threads) {
  if (Budget < C.A[0])
    return {};
  DenseOptions O;
  O.Threads = Threads;
  O.ClipToReach = false;
  Dense<double> D(C, Budget, O);
  std::vector<double> Out;
  for (uint64_t M = 0; M <= Budget - C.A[0]; ++M)
    Out.push_back(D.value(0, C.L, M));
  return Out;
}

} // namespace remat::chaindp

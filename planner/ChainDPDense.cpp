//===- planner/ChainDPDense.cpp - Discretised chain DP --------------------===//
//
// Each table opt_{i,l} covers m in [least feasible, what the budget leaves
// it]; below it the time is infinite. Per split j the update is a plain
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
    return Arena.capacity() * sizeof(double) + Spans.capacity() * sizeof(Span) +
           Min.capacity() * 8;
  }

private:
  struct Span {
    uint64_t Begin = 0, Lo = 1, Hi = 0;
  };
  size_t ix(unsigned I, unsigned Lp) const {
    return size_t(I) * (C.L + 1) + Lp;
  }
  uint64_t cap(unsigned I) const {
    uint64_t Outside = C.A[0] + (I > 0 ? C.A[I] : 0);
    return Budget >= Outside ? Budget - Outside : 0;
  }
  void compute(unsigned I, unsigned Lp);
  void splits(unsigned I, unsigned Lp, const Span &Out);
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
  std::vector<Span> Spans;
  std::vector<double> Arena;
};

Dense::Dense(const DPChain &Chn, uint64_t Budget)
    : C(Chn), Budget(Budget), Min(minMemTable(Chn)) {
  Spans.resize(size_t(C.L + 1) * (C.L + 1));
  // opt_{i,l} needs opt_{j,l} (j > i) and tables with a smaller l: by l
  // ascending, i descending. The tables of one l then lie side by side, so
  // the split loop reads its right-hand tables sequentially.
  for (unsigned Lp = 0; Lp <= C.L; ++Lp)
    for (unsigned I = Lp + 1; I-- > 0;)
      compute(I, Lp);
}

void Dense::compute(unsigned I, unsigned Lp) {
  Span &S = Spans[ix(I, Lp)];
  S.Lo = Min[ix(I, Lp)];
  S.Hi = cap(I);
  if (S.Lo > S.Hi || S.Lo == NoCap)
    return;
  S.Begin = Arena.size();
  Arena.resize(Arena.size() + (S.Hi - S.Lo + 1), Inf);
  double *Out = Arena.data() + S.Begin;
  if (I == C.L) {
    std::fill(Out, Out + (S.Hi - S.Lo + 1), C.LossTime);
    return;
  }
  for (uint64_t M = std::max(S.Lo, recordThreshold(I, Lp)); M <= S.Hi; ++M)
    Out[M - S.Lo] = recordValue(I, Lp, M);
  splits(I, Lp, S);
}

void Dense::splits(unsigned I, unsigned Lp, const Span &S) {
  double *Out = Arena.data() + S.Begin;
  uint64_t Y = C.A[Lp + 1];
  uint64_t Thr = Y + C.A[I + 1] + C.FwdWs[I];
  double Cost = 0;
  for (unsigned J = I + 1; J <= Lp; ++J) {
    Cost += C.Fwd[J - 1];
    if (J - 1 > I)
      Thr = std::max(Thr, Y + C.A[J - 1] + C.A[J] + C.FwdWs[J - 1]);
    if (Thr > S.Hi)
      return;
    const Span &R = Spans[ix(J, Lp)], &Lf = Spans[ix(I, J - 1)];
    if (R.Lo > R.Hi || Lf.Lo > Lf.Hi)
      continue;
    uint64_t Lo = std::max({Thr, R.Lo + C.A[J], Lf.Lo, S.Lo});
    if (Lo > S.Hi)
      continue;
    double Bound = Cost + Arena[R.Begin + (R.Hi - R.Lo)] +
                   Arena[Lf.Begin + (Lf.Hi - Lf.Lo)];
    // First m whose envelope value is already <= Bound (non-increasing).
    const double *First = Out + (Lo - S.Lo), *Last = Out + (S.Hi - S.Lo + 1);
    const double *Stop =
        std::partition_point(First, Last, [&](double V) { return V > Bound; });
    size_t N = Stop - First;
    double *O = Out + (Lo - S.Lo);
    const double *RR = Arena.data() + R.Begin + (Lo - C.A[J] - R.Lo);
    const double *LL = Arena.data() + Lf.Begin + (Lo - Lf.Lo);
    for (size_t K = 0; K < N; ++K)
      O[K] = std::min(O[K], Cost + RR[K] + LL[K]);
  }
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

//===- planner/chain/ChainDPTables.cpp - Step-function DP for chains ------===//
//
// The recurrence, with y = A[l+1] the gradient entering Sub(i, l):
//
//   record:  F_all_i, Sub(i+1, l) from x̄_{i+1}, B_i. Needs
//              y + x̄_{i+1} + fwd_ws_i              (F_all's peak; rotor
//                                                  does not check this one)
//              x̄_{i+1} + y_{i+1} + y_i + bwd_ws_i  (B's peak)
//              opt_{i+1,l}(m - x̄_{i+1})
//            When i == l < L there is nothing in between; when i == l == L
//            the step is the loss alone, which needs x_L + loss_ws.
//   split j: F_ck_i, F_n_{i+1..j-1}, Sub(j, l) from x_j, Sub(i, j-1). Needs
//              y + x_{i+1} + fwd_ws_i                (F_ck's peak)
//              y + x_k + x_{k+1} + fwd_ws_k, i<k<j   (each F_n's peak)
//              opt_{j,l}(m - x_j) and opt_{i,j-1}(m)
//
// Each table is the lower envelope of its candidates. A candidate is a sum or
// shift of step functions, and the envelope of non-increasing step functions
// at m is the least time among all candidate breakpoints at or below m, so
// the envelope is a sort and a running minimum.
//
//===----------------------------------------------------------------------===//

#include "planner/chain/ChainDPTables.h"
#include "graph/Errors.h"

#include "graph/Size.h"

#include "llvm/ADT/SmallVector.h"

#include <algorithm>
#include <barrier>
#include <thread>

using namespace llvm;

namespace remat::chaindp {

DPChain exactChain(const Chain &C) { return roundedChain(C, 1, true); }

DPChain roundedChain(const Chain &C, uint64_t Unit, bool Up) {
  auto R = [&](uint64_t B) { return Up ? (B + Unit - 1) / Unit : B / Unit; };
  DPChain D;
  D.L = C.size();
  D.A.resize(D.L + 2, 0);
  D.ABar.resize(D.L + 1, 0);
  for (unsigned K = 0; K <= D.L; ++K)
    D.A[K] = R(C.activationBytes(K));
  for (const Stage &S : C.Stages) {
    D.ABar[D.FwdWs.size() + 1] = R(S.SavedBytes);
    D.FwdWs.push_back(R(S.FwdWorkspace));
    D.BwdWs.push_back(R(S.BwdWorkspace));
    D.Fwd.push_back(S.FwdTime);
    D.Bwd.push_back(S.BwdTime);
  }
  D.LossWs = R(C.Loss.BwdWorkspace);
  D.LossTime = C.Loss.BwdTime;
  D.LossNeed = (C.Loss.FreesInput ? 0 : D.A[D.L]) + D.LossWs;
  for (unsigned K = 0; K < D.L; ++K) {
    // x̄_L less x_L, rounded on its own so that the sum stays a bound.
    uint64_t Bar = C.Loss.FreesInput && K + 1 == D.L
                       ? R(C.Stages[K].SavedBytes - C.Stages[K].OutputBytes)
                       : D.ABar[K + 1];
    D.BNeed.push_back(Bar + D.A[K + 1] + D.A[K] + D.BwdWs[K]);
  }
  return D;
}

/// SA(i, l) from SA(i+1, l) (\p Next; unused when i == l): the record
/// branch's own peaks (F_all_i, then B_i), and the rest of the sub-chain
/// recorded beside x̄_{i+1}.
static uint64_t storeAllStep(const DPChain &C, unsigned I, unsigned Lp,
                             uint64_t Next) {
  if (I == C.L)
    return C.LossNeed;
  uint64_t Bar = C.ABar[I + 1];
  uint64_t Need = std::max(C.A[Lp + 1] + Bar + C.FwdWs[I], C.BNeed[I]);
  return I < Lp ? std::max(Need, Bar + Next) : Need;
}

Tables::Tables(DPChain Chn, uint64_t Budget, uint64_t WorkLimit,
               double UpperBound)
    : C(std::move(Chn)), Budget(Budget) {
  Spans.resize(size_t(C.L + 1) * (C.L + 1));
  Prefix.assign(1, 0);
  FwdPrefix.assign(1, 0);
  for (unsigned K = 0; K < C.L; ++K) {
    Prefix.push_back(Prefix.back() + (C.Fwd[K] + C.Bwd[K]));
    FwdPrefix.push_back(FwdPrefix.back() + C.Fwd[K]);
  }
  if (UpperBound < std::numeric_limits<double>::infinity())
    Room = UpperBound - least(0, C.L) +
           1e-9 * (Prefix.back() + C.LossTime + UpperBound);
  // Coarse's offsets are 32 bits: at most CoarseBlocks values a table.
  UseCoarse = Room != std::numeric_limits<double>::infinity() &&
              Budget != NoCap &&
              double(CoarseBlocks) * double(Spans.size()) < 0x1p32;
  if (UseCoarse)
    EnvHi.resize(CoarseBlocks + 1);
  setReach();
  // opt_{i,l} needs opt_{j,l} (j > i) and tables with a smaller l: by l
  // ascending, i descending. The tables of one l then lie side by side, so
  // the split loop reads its right-hand tables sequentially. SA(i, l) needs
  // SA(i+1, l) only: one running value per column.
  for (unsigned Lp = 0; Lp <= C.L && !Aborted; ++Lp) {
    uint64_t SA = 0;
    for (unsigned I = Lp + 1; I-- > 0 && !Aborted;) {
      SA = storeAllStep(C, I, Lp, SA);
      compute(I, Lp, SA);
      Aborted = WorkDone > WorkLimit;
    }
    Aborted = Aborted || projectedOver(Lp, WorkLimit);
  }
  for (std::vector<Point> *V : {&Env, &Cand, &Merged}) {
    V->clear();
    V->shrink_to_fit();
  }
}

// Reach[i]: the least m with which a plan of the whole chain within the
// budget can enter Sub(i, l). On the way from Sub(0, L), each index k in
// 1..i adds at most one copy of x_k or x̄_k to what lies outside (a split at
// k holds x_k, a record of stage k-1 holds x̄_k), and nothing else is taken
// from m; so m >= Budget - a_0 - sum of max(a_k, ā_k). Children are entered
// within their own reach (a split at j > i takes a_j, a record ā_{i+1}), so
// tables clipped there are closed under the recurrence. Without a budget
// (the frontier) every m counts: Reach is 0.
void Tables::setReach() {
  Reach.assign(C.L + 1, 0);
  if (Budget == NoCap || Budget < C.A[0])
    return;
  uint64_t Held = 0, M0 = Budget - C.A[0];
  for (unsigned I = 0; I <= C.L; ++I) {
    if (I > 0)
      Held += std::max(C.A[I], C.ABar[I]);
    Reach[I] = M0 > Held ? M0 - Held : 0;
  }
}

// Column l' costs about the work of its l'^2 / 2 (i, j) pairs, each at most
// as much as a column further on, so the whole run costs at least
// (L+1)^3 / (l+1)^3 times the first l+1 columns. Once that projection is
// twice the limit, the limit would be reached anyway: giving way now saves
// the time it would take.
bool Tables::projectedOver(unsigned Lp, uint64_t WorkLimit) const {
  if (WorkLimit == NoCap || Lp + 1 < 8)
    return false;
  double Ratio = double(C.L + 1) / double(Lp + 1);
  return double(WorkDone) * Ratio * Ratio * Ratio > 2.0 * double(WorkLimit);
}

ArrayRef<Point> Tables::at(unsigned I, unsigned Lp) const {
  const Span &S = Spans[index(I, Lp)];
  return ArrayRef<Point>(Arena.data() + S.Begin, S.Size);
}

// Everything outside Sub(i, l) includes x_0 and, for i > 0, a copy of x_i at
// least as large as x_i; no plan within the budget uses more than the rest.
uint64_t Tables::cap(unsigned I) const {
  if (Budget == NoCap)
    return NoCap;
  uint64_t Outside = C.A[0] + (I > 0 ? C.A[I] : 0);
  return Budget >= Outside ? Budget - Outside : 0;
}

// From SA(i, l) on the plan that records every stage fits, and no plan is
// faster (each stage runs forward and backward once), so the table is
// constant there: candidates beyond Hi = min(cap, SA) cannot add a
// breakpoint. Below Lo = min(Reach[i], Hi) only the value at Lo matters: the
// table keeps its last breakpoint at or below Lo and those above. Its values
// are exact from Lo on (the children's are from theirs, see setReach; at
// Hi = SA < Reach[i] the record branch reaches the least time from children
// entered at or above their SA), and never below the optimum elsewhere,
// since every breakpoint is the time of a real plan.
void Tables::compute(unsigned I, unsigned Lp, uint64_t SA) {
  Env.clear();
  if (Budget != NoCap && Budget < C.A[0] + (I > 0 ? C.A[I] : 0))
    return commit(I, Lp, 0);
  uint64_t Hi = std::min(cap(I), SA);
  uint64_t Lo = std::min(Reach[I], Hi);
  if (outside(I, Lp) > Room)
    return commit(I, Lp, Lo);
  Lo = std::max(Lo, std::min(prunedBelow(I, Lp), Hi));
  if (I == C.L) {
    uint64_t Need = C.LossNeed;
    if (Need <= Hi)
      Env.push_back({Need, C.LossTime, 0});
    return commit(I, Lp, Lo);
  }
  addRecord(I, Lp, Lo, Hi);
  if (UseCoarse) {
    EnvLo = Lo;
    EnvW = (Hi - Lo) / CoarseBlocks + 1;
    EnvN = (Hi - Lo) / EnvW + 1;
    envBlocks(0, NoCap);
  }
  addSplits(I, Lp, Lo, Hi);
  commit(I, Lp, Lo);
}

// Dropping stage I from a plan of Sub(I, Lp) leaves a plan of Sub(I+1, Lp)
// within the same m whose time above its least is no larger (by induction
// on Lp - I: a record of stage I leaves Sub(I+1, Lp) at m less x̄_{I+1}; a
// split at j > I+1 becomes the same split from I+1, one stage shorter, with
// a subset of its peaks; a split at I+1 leaves Sub(I+1, Lp) at m less
// x_{I+1}). So where opt_{I+1,Lp} is above its least by more than Sub(I,
// Lp) may spend, so is opt_{I,Lp}: the table starts no lower than the
// first breakpoint of opt_{I+1,Lp} within that (0 when there is none or no
// upper bound). opt_{I+1,Lp} is pruned already, but only of breakpoints
// above its own, larger, allowance.
uint64_t Tables::prunedBelow(unsigned I, unsigned Lp) const {
  if (Room == std::numeric_limits<double>::infinity() || I >= Lp)
    return 0;
  ArrayRef<Point> Next = at(I + 1, Lp);
  double Max = least(I + 1, Lp) + Room - outside(I, Lp);
  auto Above = [](const Point &P, double T) { return P.Time > T; };
  const Point *P = std::lower_bound(Next.begin(), Next.end(), Max, Above);
  return P == Next.end() ? 0 : P->Mem;
}

// The record branch is the first candidate, so it starts the envelope.
void Tables::addRecord(unsigned I, unsigned Lp, uint64_t Lo, uint64_t Hi) {
  uint64_t Y = C.A[Lp + 1];
  uint64_t Bar = C.ABar[I + 1];
  uint64_t Thr = std::max(Y + Bar + C.FwdWs[I], C.BNeed[I]);
  double Cost = C.Fwd[I] + C.Bwd[I];
  if (Thr > Hi)
    return;
  if (I == Lp) { // i == l < L: F_all_i then B_i directly.
    Env.push_back({Thr, Cost, 0});
    return;
  }
  ArrayRef<Point> Next = at(I + 1, Lp);
  WorkDone += Next.size();
  for (const Point &P : Next) {
    uint64_t M = std::max(P.Mem + Bar, Thr);
    if (M > Hi)
      break;
    double T = P.Time + Cost;
    if (!Env.empty() && T >= Env.back().Time)
      continue;
    // Several breakpoints at Thr, or at or below Lo: the last one wins.
    if (!Env.empty() && (Env.back().Mem == M || M <= Lo))
      Env.back() = {M, T, 0};
    else
      Env.push_back({M, T, 0});
  }
}

void Tables::addSplits(unsigned I, unsigned Lp, uint64_t Lo, uint64_t Hi) {
  uint64_t Y = C.A[Lp + 1];
  uint64_t Thr = Y + C.A[I + 1] + C.FwdWs[I];
  double Cost = 0, MaxCost = Room - outside(I, Lp);
  for (unsigned J = I + 1; J <= Lp; ++J) {
    Cost += C.Fwd[J - 1];
    if (Cost > MaxCost) // The split's forward is time above the least.
      return;
    if (J - 1 > I)
      Thr = std::max(Thr, Y + C.A[J - 1] + C.A[J] + C.FwdWs[J - 1]);
    // Thresholds only grow with j.
    if (Thr > Hi)
      return;
    ArrayRef<Point> Right = at(J, Lp), Left = at(I, J - 1);
    ++WorkDone;
    if (Right.empty() || Left.empty())
      continue;
    uint64_t From = Lo;
    if (Room != std::numeric_limits<double>::infinity()) {
      // The two parts may spend together at most what is left of Sub(I,
      // Lp)'s allowance after the split's forward: each part's table is of
      // use only from where it is within that.
      double Allow = MaxCost - Cost;
      auto Above = [](const Point &P, double T) { return P.Time > T; };
      const Point *R = std::lower_bound(Right.begin(), Right.end(),
                                        least(J, Lp) + Allow, Above);
      const Point *Lf = std::lower_bound(Left.begin(), Left.end(),
                                         least(I, J - 1) + Allow, Above);
      WorkDone += WalkSearchUnits;
      if (R == Right.end() || Lf == Left.end())
        continue;
      From = std::max({From, R->Mem + C.A[J], Lf->Mem});
    }
    Split Sp{Right, Left, C.A[J],
             0,     Cost, Cost + Right.back().Time + Left.back().Time,
             J,     {},   {}};
    if (UseCoarse) {
      Sp.RC = coarseView(Spans[index(J, Lp)]);
      Sp.LC = coarseView(Spans[index(I, J - 1)]);
    }
    splitCandidate(Sp, Thr, From, Hi);
    if (!Cand.empty()) {
      uint64_t Changed = Cand.front().Mem;
      uint64_t Same = mergeCandidate();
      if (UseCoarse)
        envBlocks(Changed, Same);
    }
  }
}

void Tables::commit(unsigned I, unsigned Lp, uint64_t Lo) {
  // Of the breakpoints at or below Lo only the last one counts.
  auto ByMem = [](uint64_t X, const Point &P) { return X < P.Mem; };
  size_t First =
      std::upper_bound(Env.begin(), Env.end(), Lo, ByMem) - Env.begin();
  First = First > 0 ? First - 1 : 0;
  // Breakpoints whose time above the least, with the table's outside time,
  // exceeds Room: no plan within the upper bound reads them (a plan's time
  // is at least its tables' outside times plus the least of the rest).
  // Times fall along the table, so they are a prefix.
  double Max = least(I, Lp) + Room - outside(I, Lp);
  while (First < Env.size() && Env[First].Time > Max)
    ++First;
  Span &S = Spans[index(I, Lp)];
  S.Begin = Arena.size();
  Arena.insert(Arena.end(), Env.begin() + First, Env.end());
  S.Size = static_cast<uint32_t>(Env.size() - First);
  if (UseCoarse)
    commitCoarse(S);
}

std::optional<Point> Tables::best(uint64_t B) const {
  if (B < C.A[0])
    return std::nullopt;
  ArrayRef<Point> F = top();
  auto It =
      std::upper_bound(F.begin(), F.end(), B - C.A[0],
                       [](uint64_t M, const Point &P) { return M < P.Mem; });
  if (It == F.begin())
    return std::nullopt;
  return *(It - 1);
}

uint64_t Tables::tableBytes() const {
  return Arena.capacity() * sizeof(Point) + Spans.capacity() * sizeof(Span) +
         Coarse.capacity() * sizeof(double);
}

namespace {
/// A pending piece of the plan: solve Sub(I, Lp) within M, or emit Op.
struct Work {
  bool IsOp;
  ChainOp Op;
  unsigned I, Lp;
  uint64_t M;
};
} // namespace

std::vector<ChainOp> Tables::reconstruct(uint64_t B) const {
  std::vector<ChainOp> Ops;
  SmallVector<Work, 64> Stack;
  Stack.push_back({false, {}, 0, C.L, B - C.A[0]});
  while (!Stack.empty()) {
    Work W = Stack.pop_back_val();
    if (W.IsOp) {
      Ops.push_back(W.Op);
      continue;
    }
    ArrayRef<Point> F = at(W.I, W.Lp);
    auto It =
        std::upper_bound(F.begin(), F.end(), W.M,
                         [](uint64_t M, const Point &P) { return M < P.Mem; });
    assert(It != F.begin() && "reconstructing an infeasible subproblem");
    const Point &P = *(It - 1);
    unsigned I = W.I, Lp = W.Lp;
    if (I == C.L) {
      Ops.push_back({ChainOpKind::Loss, 0});
      continue;
    }
    if (P.Choice == 0) {
      Ops.push_back({ChainOpKind::FAll, I});
      Stack.push_back({true, {ChainOpKind::B, I}, 0, 0, 0});
      if (I < Lp || Lp == C.L)
        Stack.push_back({false, {}, I + 1, Lp, P.Mem - C.ABar[I + 1]});
      continue;
    }
    unsigned J = P.Choice;
    Ops.push_back({ChainOpKind::FCk, I});
    for (unsigned K = I + 1; K < J; ++K)
      Ops.push_back({ChainOpKind::FN, K});
    Stack.push_back({false, {}, I, J - 1, P.Mem});
    Stack.push_back({false, {}, J, Lp, P.Mem - C.A[J]});
  }
  return Ops;
}

/// A saturating a * b + c for the estimates (2^64 - 1 reads as "too much").
static uint64_t mulAdd(uint64_t A, uint64_t B, uint64_t C) {
  unsigned __int128 R = (unsigned __int128)A * B + C;
  return R > NoCap ? NoCap : uint64_t(R);
}

uint64_t exactTablesBytes(unsigned L) {
  uint64_t Pairs = uint64_t(L + 1) * (L + 1);
  return mulAdd(Pairs, 16 + 16, 0);
}

uint64_t denseTablesBytes(const DPChain &C, uint64_t Budget,
                          unsigned ValueBytes, bool ClipToReach,
                          const std::vector<char> *SplitAt) {
  unsigned L = C.L;
  uint64_t Pairs = uint64_t(L + 1) * (L + 1);
  // Per pair: the least-memory table and its transposed copy while it is
  // filled (8 + 8), the store-all table during layout (8), and two spans of
  // 48 B (six 8-byte fields).
  uint64_t Bytes = mulAdd(Pairs, 8 + 8 + 8 + 2 * 48, 0);
  if (Pairs > (uint64_t(1) << 32) || Budget < C.A[0])
    return Bytes; // over any sensible cap already, or nothing to store
  // Reach[i] as ChainDPDense's layout computes it.
  uint64_t M0 = Budget - C.A[0], Held = 0;
  std::vector<uint64_t> Reach(L + 1, 0);
  for (unsigned I = 0; I <= L && ClipToReach; ++I) {
    if (I > 0)
      Held += std::max(C.A[I], C.ABar[I]);
    Reach[I] = M0 > Held ? M0 - Held : 0;
  }
  // SA(i,l) for one l depends only on SA(i+1,l): a running value per
  // column. Entries of table (i,l) are at most Hi - min(Reach_i, Hi) + 1
  // with Hi = min(cap(i), SA(i,l)), whatever its least feasible m; the
  // coarse copies add one entry per 64 and two per table.
  uint64_t Entries = 0;
  for (unsigned Lp = 0; Lp <= L; ++Lp) {
    if (SplitAt && Lp < L && !(*SplitAt)[Lp + 1])
      continue; // A column no plan reads: not built.
    uint64_t SA = 0;
    for (unsigned I = Lp + 1; I-- > 0;) {
      if (I == L) {
        SA = C.LossNeed;
      } else {
        uint64_t Bar = C.ABar[I + 1];
        uint64_t Need = std::max(C.A[Lp + 1] + Bar + C.FwdWs[I], C.BNeed[I]);
        SA = I < Lp ? std::max(Need, Bar + SA) : Need;
      }
      uint64_t Outside = C.A[0] + (I > 0 ? C.A[I] : 0);
      if (Budget < Outside)
        continue;
      uint64_t Hi = std::min(Budget - Outside, SA);
      uint64_t N = Hi - std::min(Reach[I], Hi) + 1;
      Entries = mulAdd(1, Entries, N + N / 32 + 2);
    }
  }
  return mulAdd(Entries, ValueBytes, Bytes);
}

Error checkTableBytes(StringRef What, uint64_t Estimate, uint64_t Cap,
                      unsigned L, StringRef Advice) {
  if (Estimate <= Cap)
    return Error::success();
  return badInput("{}: the chain DP needs an estimated {} of tables for {} "
                  "stages, over the limit of {}; {} (see docs/limits.md)",
                  What.str(), formatSize(Estimate), L, formatSize(Cap),
                  Advice.str());
}

uint64_t minFeasibleBudget(const DPChain &C) {
  return C.A[0] + minMemTable(C)[C.L];
}

namespace {
/// The least m of every table opt_{i,l}, filled diagonal by diagonal.
class MinMem {
public:
  MinMem(const DPChain &C, const std::vector<char> *Coarse,
         const std::vector<char> *SplitAt)
      : C(C), L(C.L), Coarse(Coarse), SplitAt(SplitAt),
        Min(size_t(L + 1) * (L + 1), NoCap), MinT(Min.size(), NoCap),
        BPeak(L + 1, 0), RunMax(L + 1, 0) {
    for (unsigned K = 0; K < L; ++K)
      BPeak[K] = C.BNeed[K];
    BPeak[L] = C.LossNeed;
  }

  /// Fills the tables (I, I + D) for I in [0, L - D] whose chunk of 16
  /// rows is K modulo N (thread K of N; the work per table varies with the
  /// early exit, so chunks interleave rather than halve the diagonal).
  void fill(unsigned D, unsigned K, unsigned N) {
    for (unsigned I = 0; I + D <= L; ++I) {
      if (I / 16 % N != K)
        continue;
      // RunMax[I]: the largest backward peak of stages I .. I+D.
      RunMax[I] = std::max(RunMax[I], BPeak[I + D]);
      uint64_t Best =
          Coarse && (*Coarse)[ix(I, I + D)] ? RunMax[I] : least(I, I + D);
      Min[ix(I, I + D)] = Best;
      MinT[ix(I + D, I)] = Best;
    }
  }
  std::vector<uint64_t> take() { return std::move(Min); }

private:
  size_t ix(unsigned I, unsigned Lp) const { return size_t(I) * (L + 1) + Lp; }
  static uint64_t add(uint64_t A, uint64_t B) {
    return A == NoCap || B == NoCap ? NoCap : A + B;
  }
  uint64_t least(unsigned I, unsigned Lp) const {
    if (I == L)
      return C.LossNeed;
    uint64_t Y = C.A[Lp + 1], Bar = C.ABar[I + 1];
    uint64_t Best = std::max(Y + Bar + C.FwdWs[I], C.BNeed[I]);
    if (I < Lp || Lp == L)
      Best = std::max(Best, add(Min[ix(I + 1, Lp)], Bar));
    // The split loop reads row I (Min[I][J-1]) and column Lp (Min[J][Lp]);
    // the transposed copy makes the column read sequential too.
    const uint64_t *Row = Min.data() + ix(I, 0);
    const uint64_t *Col = MinT.data() + ix(Lp, 0);
    uint64_t Thr = Y + C.A[I + 1] + C.FwdWs[I];
    for (unsigned J = I + 1; J <= Lp; ++J) {
      if (J - 1 > I)
        Thr = std::max(Thr, Y + C.A[J - 1] + C.A[J] + C.FwdWs[J - 1]);
      if (Thr >= Best)
        break;
      if (!SplitAt || (*SplitAt)[J])
        Best = std::min(Best, std::max({Thr, add(Col[J], C.A[J]), Row[J - 1]}));
    }
    return Best;
  }

  const DPChain &C;
  unsigned L;
  const std::vector<char> *Coarse, *SplitAt;
  std::vector<uint64_t> Min, MinT;
  /// BPeak[k]: the peak of B_k (the loss for k = L), which runs within any
  /// sub-chain holding stage k with at most the sub-chain's m.
  std::vector<uint64_t> BPeak, RunMax;
};
} // namespace

// The tables of one diagonal (l - i = D) need only earlier diagonals, so
// each diagonal is split among the threads, with a barrier between
// diagonals.
std::vector<uint64_t> minMemTable(const DPChain &C, unsigned Threads,
                                  const std::vector<char> *Coarse,
                                  const std::vector<char> *SplitAt) {
  MinMem T(C, Coarse, SplitAt);
  unsigned L = C.L;
  Threads = std::clamp(Threads, 1u, std::max(1u, L / 64));
  if (Threads == 1) {
    for (unsigned D = 0; D <= L; ++D)
      T.fill(D, 0, 1);
    return T.take();
  }
  std::barrier Sync(Threads);
  auto Work = [&](unsigned K) {
    for (unsigned D = 0; D <= L; ++D) {
      T.fill(D, K, Threads);
      Sync.arrive_and_wait();
    }
  };
  std::vector<std::thread> Pool;
  for (unsigned K = 1; K < Threads; ++K)
    Pool.emplace_back(Work, K);
  Work(0);
  for (std::thread &Th : Pool)
    Th.join();
  return T.take();
}

std::vector<uint64_t> storeAllTable(const DPChain &C) {
  unsigned L = C.L;
  std::vector<uint64_t> SA(size_t(L + 1) * (L + 1), 0);
  for (unsigned Lp = 0; Lp <= L; ++Lp) {
    uint64_t Next = 0;
    for (unsigned I = Lp + 1; I-- > 0;)
      SA[size_t(I) * (L + 1) + Lp] = Next = storeAllStep(C, I, Lp, Next);
  }
  return SA;
}

uint64_t storeAllNeed(const DPChain &C) { return storeAllTable(C)[C.L]; }

} // namespace remat::chaindp

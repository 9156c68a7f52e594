//===- planner/chain/ChainDPSplits.cpp - Split candidates of the exact DP -===//
//
// One split's candidate, m -> Cost + opt_{j,l}(m - x_j) + opt_{i,j-1}(m),
// against the envelope of the table being built (ChainDPTables.cpp): its
// breakpoints below the envelope, and their merge into it. With an upper
// bound (Tables' UpperBound) the walks skip blocks of m on coarse copies
// of the tables and of the envelope.
//
//===----------------------------------------------------------------------===//

#include "planner/chain/ChainDPTables.h"

#include <algorithm>
#include <limits>

using namespace llvm;

namespace remat::chaindp {

// Fills Cand with the breakpoints of m -> Cost + Right(m - Shift) + Left(m),
// for Thr <= m <= Hi, that lie strictly below the envelope, starting with
// the last one at or below Lo (walk says why the others can go).
void Tables::splitCandidate(const Split &S0, uint64_t Thr, uint64_t Lo,
                            uint64_t Hi) {
  Cand.clear();
  Split S = S0;
  S.Start = std::max({S.Right[0].Mem + S.Shift, S.Left[0].Mem, Thr});
  if (S.Start > Hi)
    return;
  uint64_t M = std::max(S.Start, Lo);
  double Last = std::numeric_limits<double>::infinity();
  if (!UseCoarse) {
    walk(S, M, Hi, Last);
    return;
  }
  // Blocks where the candidate's least value (at the block's last m, read
  // on the coarse copies, which are at most the tables there) is not below
  // the envelope's greatest (at the block's first m) are skipped; runs of
  // the others are walked.
  uint64_t B = (M - EnvLo) / EnvW, Run = NoCap;
  for (; B < EnvN; ++B) {
    double EnvTop = EnvHi[B];
    if (EnvTop <= S.Bound)
      break;
    uint64_t X = std::min(Hi, EnvLo + B * EnvW + EnvW - 1);
    double Low = S.Cost + coarseAt(S.RC, X - S.Shift) + coarseAt(S.LC, X);
    ++WorkDone;
    bool Pass = Low < EnvTop;
    if (Pass && Run == NoCap)
      Run = std::max(M, EnvLo + B * EnvW);
    if (!Pass && Run != NoCap) {
      if (!walk(S, Run, EnvLo + B * EnvW - 1, Last))
        return;
      Run = NoCap;
    }
  }
  if (Run != NoCap)
    walk(S, Run, std::min(Hi, EnvLo + B * EnvW - 1), Last);
}

double Tables::envAt(size_t &E, uint64_t X) const {
  if (E == Env.size()) {
    if (Env.empty() || Env[0].Mem > X)
      return std::numeric_limits<double>::infinity();
    E = 0;
  }
  while (E + 1 < Env.size() && Env[E + 1].Mem <= X)
    ++E;
  return Env[E].Time;
}

// Appends to Cand the breakpoints of the candidate from From to To that lie
// strictly below the envelope; Last is the candidate's value where the
// previous walk of this split ended (infinity at first). Dropping the
// others does not change the lower envelope: past a dropped breakpoint the
// envelope is already at most the candidate, and stays so (it does not
// rise). The split can never be faster than Bound, its two tables' last
// times plus Cost (summed in the same order, so rounding keeps the bound),
// so the walk stops, returning false, where the envelope reaches Bound.
bool Tables::walk(const Split &S, uint64_t From, uint64_t To, double &Last) {
  auto ByMem = [](uint64_t X, const Point &P) { return X < P.Mem; };
  ArrayRef<Point> Right = S.Right, Left = S.Left;
  // E: the envelope's last breakpoint at or below From (Env.size() if
  // none); R and Lx: each table's.
  size_t E =
      std::upper_bound(Env.begin(), Env.end(), From, ByMem) - Env.begin();
  E = E == 0 ? Env.size() : E - 1;
  size_t R =
      std::upper_bound(Right.begin(), Right.end(), From - S.Shift, ByMem) -
      Right.begin() - 1;
  size_t Lx = std::upper_bound(Left.begin(), Left.end(), From, ByMem) -
              Left.begin() - 1;
  // The three searches count as WalkSearchUnits steps.
  size_t Steps = WalkSearchUnits;
  uint64_t M = std::max({Right[R].Mem + S.Shift, Left[Lx].Mem, S.Start});
  for (;;) {
    double T = S.Cost + Right[R].Time + Left[Lx].Time;
    if (T < Last) {
      Last = T;
      double EnvT = envAt(E, std::max(M, From));
      if (EnvT <= S.Bound) {
        WorkDone += Steps;
        return false;
      }
      if (T < EnvT)
        Cand.push_back({M, T, S.J});
    }
    uint64_t NR = R + 1 < Right.size() ? Right[R + 1].Mem + S.Shift : NoCap;
    uint64_t NL = Lx + 1 < Left.size() ? Left[Lx + 1].Mem : NoCap;
    M = std::min(NR, NL);
    if (M > To)
      break;
    ++Steps;
    R += NR == M;
    Lx += NL == M;
  }
  WorkDone += Steps;
  return true;
}

// The table's coarse copy (CoarseView) appended to Coarse.
void Tables::commitCoarse(Span &S) {
  S.CBegin = uint32_t(Coarse.size());
  CoarseView V = coarseView(S);
  size_t K = 0;
  for (uint64_t B = 0; B < V.N; ++B) {
    uint64_t X = V.Lo + B * V.W + V.W - 1;
    while (K + 1 < V.T.size() && V.T[K + 1].Mem <= X)
      ++K;
    Coarse.push_back(V.T[K].Time);
  }
}

Tables::CoarseView Tables::coarseView(const Span &S) const {
  CoarseView V;
  V.T = ArrayRef<Point>(Arena.data() + S.Begin, S.Size);
  if (V.T.empty())
    return V;
  uint64_t Width = V.T.back().Mem - V.T.front().Mem;
  V.Lo = V.T.front().Mem;
  // At most as many blocks as breakpoints: the copy stays within a third of
  // the table's own bytes.
  V.W = Width / std::min<uint64_t>(CoarseBlocks, V.T.size()) + 1;
  V.N = Width / V.W + 1;
  V.Begin = S.CBegin;
  return V;
}

/// A lower bound on the table of \p V at every m from X's block's first to
/// X: its value at the block's last m. Below the first breakpoint the table
/// is infinite, past the last block it keeps its last time.
double Tables::coarseAt(const CoarseView &V, uint64_t X) const {
  if (V.T.empty() || X < V.Lo)
    return std::numeric_limits<double>::infinity();
  uint64_t B = (X - V.Lo) / V.W;
  return B >= V.N ? V.T.back().Time : Coarse[V.Begin + B];
}

// EnvHi[b] = the envelope at block b's first m, for the blocks that start
// in [FromMem, ToMem) (where it last changed).
void Tables::envBlocks(uint64_t FromMem, uint64_t ToMem) {
  auto ByMem = [](uint64_t X, const Point &P) { return X < P.Mem; };
  uint64_t B = FromMem <= EnvLo ? 0 : (FromMem - EnvLo + EnvW - 1) / EnvW;
  if (B >= EnvN)
    return;
  size_t E = std::upper_bound(Env.begin(), Env.end(), EnvLo + B * EnvW, ByMem) -
             Env.begin();
  for (; B < EnvN && EnvLo + B * EnvW < ToMem; ++B) {
    while (E < Env.size() && Env[E].Mem <= EnvLo + B * EnvW)
      ++E;
    EnvHi[B] = E ? Env[E - 1].Time : std::numeric_limits<double>::infinity();
    ++WorkDone;
  }
}

// Env becomes the lower envelope of Env and Cand. Every point of Cand is
// strictly below Env at its memory, so at equal memory Cand's point wins;
// otherwise a point is kept when it is strictly faster than every point at
// or below its memory. Env's prefix below Cand's first point is unchanged,
// and so is its suffix from its first point past Cand's last that is faster
// than it. Returns the memory of that suffix's first point (NoCap when
// there is none): the envelope changed only from Cand's first point to it.
uint64_t Tables::mergeCandidate() {
  auto ByMem = [](const Point &P, uint64_t X) { return P.Mem < X; };
  size_t P0 =
      std::lower_bound(Env.begin(), Env.end(), Cand.front().Mem, ByMem) -
      Env.begin();
  Merged.clear();
  double Cur =
      P0 == 0 ? std::numeric_limits<double>::infinity() : Env[P0 - 1].Time;
  uint64_t LastMem = Cand.back().Mem;
  size_t A = P0, B = 0;
  while (B < Cand.size() || (A < Env.size() && Env[A].Mem <= LastMem)) {
    const Point &Pt =
        B < Cand.size() && (A == Env.size() || Cand[B].Mem <= Env[A].Mem)
            ? Cand[B++]
            : Env[A++];
    if (Pt.Time < Cur) {
      Merged.push_back(Pt);
      Cur = Pt.Time;
    }
  }
  while (A < Env.size() && Env[A].Time >= Cur)
    ++A;
  WorkDone += A - P0 + Cand.size();
  uint64_t Same = A < Env.size() ? Env[A].Mem : NoCap;
  Env.erase(Env.begin() + P0, Env.begin() + A);
  Env.insert(Env.begin() + P0, Merged.begin(), Merged.end());
  return Same;
}

} // namespace remat::chaindp

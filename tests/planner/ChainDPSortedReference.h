//===- tests/planner/ChainDPSortedReference.h - The sort-based exact DP -*- C++
//-*-===//
//
// The exact step-function DP as it was before issue 18 (planner/ChainDPTables
// at commit e9640ff): each table collects every candidate breakpoint of the
// record branch and of every split, sorts them by (memory, time, choice) and
// keeps a running minimum. It was checked against the persistent brute force
// and is kept here, for the tests only, as the reference the faster envelope
// merge (planner/chain/ChainDPTables.cpp) must reproduce breakpoint for
// breakpoint: same memory, time and choice. It keeps the old prunings (the
// cap from the budget, the split bound against the record branch) and none
// of the new ones.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_TESTS_PLANNER_CHAINDPSORTEDREFERENCE_H
#define REMAT_TESTS_PLANNER_CHAINDPSORTEDREFERENCE_H

#include "planner/chain/ChainDPTables.h"

#include <algorithm>
#include <vector>

namespace remat::test {

class SortedTables {
public:
  using Point = chaindp::Point;

  SortedTables(chaindp::DPChain Chn, uint64_t Budget = chaindp::NoCap)
      : C(std::move(Chn)), Budget(Budget), Tabs(size_t(C.L + 1) * (C.L + 1)) {
    for (unsigned Lp = 0; Lp <= C.L; ++Lp)
      for (unsigned I = Lp + 1; I-- > 0;)
        compute(I, Lp);
  }

  const std::vector<Point> &at(unsigned I, unsigned Lp) const {
    return Tabs[size_t(I) * (C.L + 1) + Lp];
  }

private:
  uint64_t cap(unsigned I) const {
    if (Budget == chaindp::NoCap)
      return chaindp::NoCap;
    uint64_t Outside = C.A[0] + (I > 0 ? C.A[I] : 0);
    return Budget >= Outside ? Budget - Outside : 0;
  }

  void compute(unsigned I, unsigned Lp) {
    Cands.clear();
    uint64_t Cap = cap(I);
    if (Budget != chaindp::NoCap && Budget < C.A[0] + (I > 0 ? C.A[I] : 0))
      return commit(I, Lp);
    if (I == C.L) {
      uint64_t Need = C.LossNeed;
      if (Need <= Cap)
        Cands.push_back({Need, C.LossTime, 0});
      return commit(I, Lp);
    }
    addRecord(I, Lp, Cap);
    addSplits(I, Lp, Cap);
    commit(I, Lp);
  }

  void addRecord(unsigned I, unsigned Lp, uint64_t Cap) {
    uint64_t Y = C.A[Lp + 1], Bar = C.ABar[I + 1];
    uint64_t Thr = std::max(Y + Bar + C.FwdWs[I], C.BNeed[I]);
    double Cost = C.Fwd[I] + C.Bwd[I];
    if (Thr > Cap)
      return;
    if (I == Lp) {
      Cands.push_back({Thr, Cost, 0});
      return;
    }
    for (const Point &P : at(I + 1, Lp)) {
      uint64_t M = std::max(P.Mem + Bar, Thr);
      if (M > Cap)
        break;
      Cands.push_back({M, P.Time + Cost, 0});
    }
  }

  void addSplits(unsigned I, unsigned Lp, uint64_t Cap) {
    size_t NumRecord = Cands.size();
    uint64_t Y = C.A[Lp + 1];
    uint64_t Thr = Y + C.A[I + 1] + C.FwdWs[I];
    double Cost = 0;
    for (unsigned J = I + 1; J <= Lp; ++J) {
      Cost += C.Fwd[J - 1];
      if (J - 1 > I)
        Thr = std::max(Thr, Y + C.A[J - 1] + C.A[J] + C.FwdWs[J - 1]);
      if (Thr > Cap)
        return;
      const std::vector<Point> &Right = at(J, Lp), &Left = at(I, J - 1);
      if (Right.empty() || Left.empty())
        continue;
      double Bound = Cost + Right.back().Time + Left.back().Time;
      auto Stop =
          std::partition_point(Cands.begin(), Cands.begin() + NumRecord,
                               [&](const Point &P) { return P.Time > Bound; });
      bool Cut = Stop != Cands.begin() + NumRecord;
      if (Cut && Stop->Mem == 0)
        continue;
      uint64_t CapJ = Cut ? Stop->Mem - 1 : Cap;
      combine(Right, C.A[J], Left, Thr, Cost, J, std::min(Cap, CapJ));
    }
  }

  void combine(const std::vector<Point> &Right, uint64_t Shift,
               const std::vector<Point> &Left, uint64_t Thr, double Cost,
               uint32_t J, uint64_t Cap) {
    uint64_t M = std::max({Right[0].Mem + Shift, Left[0].Mem, Thr});
    if (M > Cap)
      return;
    size_t R = 0, Lx = 0;
    while (R + 1 < Right.size() && Right[R + 1].Mem + Shift <= M)
      ++R;
    while (Lx + 1 < Left.size() && Left[Lx + 1].Mem <= M)
      ++Lx;
    double Last = Cost + Right[R].Time + Left[Lx].Time;
    Cands.push_back({M, Last, J});
    while (R + 1 < Right.size() || Lx + 1 < Left.size()) {
      uint64_t NR =
          R + 1 < Right.size() ? Right[R + 1].Mem + Shift : chaindp::NoCap;
      uint64_t NL = Lx + 1 < Left.size() ? Left[Lx + 1].Mem : chaindp::NoCap;
      M = std::min(NR, NL);
      if (M > Cap)
        return;
      R += NR == M;
      Lx += NL == M;
      double T = Cost + Right[R].Time + Left[Lx].Time;
      if (T < Last) {
        Cands.push_back({M, T, J});
        Last = T;
      }
    }
  }

  void commit(unsigned I, unsigned Lp) {
    std::sort(Cands.begin(), Cands.end(), [](const Point &X, const Point &Y) {
      if (X.Mem != Y.Mem)
        return X.Mem < Y.Mem;
      if (X.Time != Y.Time)
        return X.Time < Y.Time;
      return X.Choice < Y.Choice;
    });
    std::vector<Point> &Out = Tabs[size_t(I) * (C.L + 1) + Lp];
    for (const Point &P : Cands)
      if (Out.empty() || P.Time < Out.back().Time)
        Out.push_back(P);
  }

  chaindp::DPChain C;
  uint64_t Budget;
  std::vector<std::vector<Point>> Tabs;
  std::vector<Point> Cands;
};

} // namespace remat::test

#endif // REMAT_TESTS_PLANNER_CHAINDPSORTEDREFERENCE_H

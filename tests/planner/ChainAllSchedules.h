//===- tests/planner/ChainAllSchedules.h - Every chain schedule -*- C++ -*-===//
//
// A reference over ALL valid chain schedules, not only rotor's persistent
// class, for chains of up to 7 stages. It is written from docs/simulator.md's
// table and rules 1-5 alone and shares no code with the planners:
//
//   state  = which x_i, xbar_i and y_i are resident, and whether the loss ran;
//   ops    = F_ck i, F_n i, F_all i, loss, B i, each valid or not by the table;
//   op peak = resident bytes after adding the op's output + its workspace;
//   time   = the sum of the op times.
//
// The ops never repeat a state: before the loss every op is a forward that
// adds a tensor at index i+1 and frees at most one at index i (a weight
// 3^index grows strictly), the loss and each B move the gradient one step
// down. So the states form a DAG, and for every state the set of
// (peak of the rest, time of the rest) pairs over all ways to finish is
// computed once, by memoised recursion, and kept as its Pareto front. The
// front of the start state is the exact budget -> least-time curve over
// every schedule; the ops behind each point are kept so a test can replay
// them through the simulator.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_TESTS_PLANNER_CHAINALLSCHEDULES_H
#define REMAT_TESTS_PLANNER_CHAINALLSCHEDULES_H

#include "graph/Graph.h"
#include "planner/Schedule.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

namespace remat::test {

/// One point of a budget -> least-time curve.
struct AllSchedulesPoint {
  /// Peak of the schedule, bytes (the start's x_0 included).
  uint64_t Peak = 0;
  /// Its time, model time unit.
  double Time = 0;
};

class AllChainSchedules {
public:
  explicit AllChainSchedules(const Chain &C) : C(C), L(C.size()) {
    assert(L <= 7 && "the reference packs each flag set into 8 bits");
    Start = pack({1u, 0u, 0u, false});
    const std::vector<Entry> &F = front(Start);
    for (const Entry &E : F)
      Curve.push_back({std::max(E.Peak, C.InputBytes), E.Time});
    // max() with x_0 can make two points share a peak; keep the faster.
    std::vector<AllSchedulesPoint> Clean;
    for (const AllSchedulesPoint &P : Curve)
      if (Clean.empty() || P.Time < Clean.back().Time) {
        if (!Clean.empty() && Clean.back().Peak == P.Peak)
          Clean.back() = P;
        else
          Clean.push_back(P);
      }
    Curve = std::move(Clean);
  }

  /// The exact curve: ascending peak, strictly descending time.
  const std::vector<AllSchedulesPoint> &curve() const { return Curve; }

  /// The least time of any valid schedule within \p Budget bytes.
  std::optional<double> best(uint64_t Budget) const {
    std::optional<double> Out;
    for (const AllSchedulesPoint &P : Curve)
      if (P.Peak <= Budget)
        Out = P.Time;
    return Out;
  }

  /// The least budget under which any schedule exists, bytes.
  uint64_t leastBudget() const { return Curve.front().Peak; }

  /// The ops of a least-time schedule within \p Budget (empty if none).
  std::vector<ChainOp> ops(uint64_t Budget) const {
    if (C.InputBytes > Budget)
      return {};
    const std::vector<Entry> &F = Memo.at(Start);
    std::optional<size_t> Pick;
    for (size_t I = 0; I < F.size(); ++I)
      if (F[I].Peak <= Budget)
        Pick = I;
    std::vector<ChainOp> Out;
    if (!Pick)
      return Out;
    uint64_t S = Start;
    size_t Index = *Pick;
    while (!isDone(unpack(S))) {
      const Entry &E = Memo.at(S)[Index];
      Out.push_back(E.Op);
      S = E.Next;
      Index = E.NextIndex;
    }
    return Out;
  }

  /// States visited (for the figure in the test's message).
  size_t states() const { return Memo.size(); }

private:
  /// Resident flags: bit i of X is x_i, of XBar is xbar_i (i >= 1), of Y
  /// is y_i.
  struct Flags {
    uint32_t X, XBar, Y;
    bool LossDone;
  };
  /// A point of a state's front and the first op that leads to it.
  struct Entry {
    uint64_t Peak;
    double Time;
    ChainOp Op;
    uint64_t Next;
    size_t NextIndex;
  };

  static uint64_t pack(const Flags &F) {
    return uint64_t(F.X) | uint64_t(F.XBar) << 8 | uint64_t(F.Y) << 16 |
           uint64_t(F.LossDone) << 24;
  }
  static Flags unpack(uint64_t S) {
    return {uint32_t(S & 0xff), uint32_t(S >> 8 & 0xff),
            uint32_t(S >> 16 & 0xff), bool(S >> 24 & 1)};
  }
  static bool has(uint32_t Bits, unsigned I) { return Bits >> I & 1; }
  static bool isDone(const Flags &F) { return has(F.Y, 0); }

  uint64_t a(unsigned I) const { return C.activationBytes(I); }
  uint64_t abar(unsigned I) const { return C.Stages[I - 1].SavedBytes; }

  uint64_t resident(const Flags &F) const {
    uint64_t Sum = 0;
    for (unsigned I = 0; I <= L; ++I) {
      Sum += has(F.X, I) ? a(I) : 0;
      Sum += has(F.Y, I) ? a(I) : 0;
      Sum += I >= 1 && has(F.XBar, I) ? abar(I) : 0;
    }
    // frees_input (spec §3a): after the loss, x̄_L holds saved less output.
    if (C.Loss.FreesInput && F.LossDone && L >= 1 && has(F.XBar, L))
      Sum -= a(L);
    return Sum;
  }

  /// Applies \p Op to \p F per docs/simulator.md; false when invalid. Sets
  /// the op's peak and time.
  bool apply(Flags &F, ChainOp Op, uint64_t &Peak, double &Time) const {
    uint64_t Res = resident(F);
    unsigned I = Op.Layer;
    if (Op.Kind == ChainOpKind::Loss) {
      if (F.LossDone || !(has(F.X, L) || has(F.XBar, L)))
        return false;
      F.LossDone = true;
      F.Y |= 1u << L;
      // frees_input: x_L goes before y_L comes, so y_L takes its place.
      Peak = Res + (C.Loss.FreesInput ? 0 : a(L)) + C.Loss.BwdWorkspace;
      Time = C.Loss.BwdTime;
      F.X &= ~(1u << L);
      return true;
    }
    const Stage &St = C.Stages[I];
    if (Op.Kind == ChainOpKind::B) {
      if (!has(F.XBar, I + 1) || !has(F.Y, I + 1) || has(F.Y, I))
        return false;
      F.Y |= 1u << I;
      Peak = Res + a(I) + St.BwdWorkspace;
      Time = St.BwdTime;
      F.Y &= ~(1u << (I + 1));
      F.XBar &= ~(1u << (I + 1));
      F.X &= ~(1u << I);
      return true;
    }
    // Forward ops: the input, then rule 1 on the output.
    if (!has(F.X, I) && !(I >= 1 && has(F.XBar, I)))
      return false;
    if (has(F.X, I + 1) || has(F.XBar, I + 1))
      return false;
    bool Record = Op.Kind == ChainOpKind::FAll;
    (Record ? F.XBar : F.X) |= 1u << (I + 1);
    Peak = Res + (Record ? St.SavedBytes : St.OutputBytes) + St.FwdWorkspace;
    Time = St.FwdTime;
    if (Op.Kind == ChainOpKind::FN) {
      if (has(F.X, I))
        F.X &= ~(1u << I);
      else
        F.XBar &= ~(1u << I);
    }
    return true;
  }

  const std::vector<Entry> &front(uint64_t S) {
    if (auto It = Memo.find(S); It != Memo.end())
      return It->second;
    Flags F = unpack(S);
    std::vector<Entry> Cands;
    if (isDone(F)) {
      Cands.push_back({0, 0, {}, S, 0});
      return Memo.emplace(S, std::move(Cands)).first->second;
    }
    std::vector<ChainOp> Moves{{ChainOpKind::Loss, 0}};
    for (unsigned I = 0; I < L; ++I)
      for (ChainOpKind K : {ChainOpKind::FCk, ChainOpKind::FN,
                            ChainOpKind::FAll, ChainOpKind::B})
        Moves.push_back({K, I});
    for (ChainOp Op : Moves) {
      Flags G = F;
      uint64_t Peak = 0;
      double Time = 0;
      if (!apply(G, Op, Peak, Time))
        continue;
      uint64_t Next = pack(G);
      const std::vector<Entry> &Rest = front(Next);
      for (size_t K = 0; K < Rest.size(); ++K)
        Cands.push_back(
            {std::max(Peak, Rest[K].Peak), Time + Rest[K].Time, Op, Next, K});
    }
    // The Pareto front: ascending peak, strictly descending time.
    std::stable_sort(
        Cands.begin(), Cands.end(), [](const Entry &A, const Entry &B) {
          return A.Peak != B.Peak ? A.Peak < B.Peak : A.Time < B.Time;
        });
    std::vector<Entry> Front;
    for (const Entry &E : Cands)
      if (Front.empty() || E.Time < Front.back().Time)
        Front.push_back(E);
    return Memo.emplace(S, std::move(Front)).first->second;
  }

  const Chain &C;
  unsigned L;
  uint64_t Start = 0;
  std::unordered_map<uint64_t, std::vector<Entry>> Memo;
  std::vector<AllSchedulesPoint> Curve;
};

} // namespace remat::test

#endif // REMAT_TESTS_PLANNER_CHAINALLSCHEDULES_H

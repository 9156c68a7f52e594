//===- planner/graph/GraphScalableLocal.cpp - Local search over keep sets -===//
//
// improveKeepSetLocally: first-improvement hill climbing over per-tensor
// states, plus keep-then-repair moves. Every candidate is measured exactly by
// runKeepSet; the search is bounded by the ops it has emitted, so it is
// deterministic.
//
//===----------------------------------------------------------------------===//

#include "planner/graph/GraphScalableLocal.h"

#include <algorithm>
#include <iterator>
#include <limits>

using namespace llvm;

namespace remat {

namespace {

/// What happens to a drop candidate.
enum class TensorState : uint8_t {
  Keep,
  Drop,
  /// Dropped; once recomputed, kept until its last user.
  DropRetain,
  /// Dropped and freed between same-pass readers too.
  Eager,
  EagerRetain
};

constexpr TensorState AllStates[] = {
    TensorState::Keep, TensorState::Drop, TensorState::DropRetain,
    TensorState::Eager, TensorState::EagerRetain};

bool isEager(TensorState S) {
  return S == TensorState::Eager || S == TensorState::EagerRetain;
}

TensorState stateOf(const KeepPolicy &P, unsigned V) {
  if (P.Keep.test(V))
    return TensorState::Keep;
  bool R = P.Retain.test(V);
  if (P.Eager.test(V))
    return R ? TensorState::EagerRetain : TensorState::Eager;
  return R ? TensorState::DropRetain : TensorState::Drop;
}

void setState(KeepPolicy &P, unsigned V, TensorState S) {
  P.Keep[V] = S == TensorState::Keep;
  P.Eager[V] = isEager(S);
  P.Retain[V] = S == TensorState::DropRetain || S == TensorState::EagerRetain;
}

/// Least relative gain of a local search round for another one to run.
constexpr double MinRoundGain = 1e-3;

/// Most repair steps after a keep move: a repair that needs more is not
/// going to beat the plan it started from.
constexpr unsigned MaxRepairSteps = 8;

class LocalSearch {
public:
  LocalSearch(const Graph &G, const LocalSearchOptions &O, KeepSetPlan Start)
      : G(G), O(O), Tables(keepSetTables(G)), Candidates(dropCandidates(G)),
        EagerOk(eagerCandidates(G)), EdgeBase(Tables.EdgeBase),
        Cur(std::move(Start)) {
    KeepPolicy &P = Cur.Policy;
    // Sized to the graph so that setState can index every bit.
    P.Eager.resize(G.size());
    P.Retain.resize(G.size());
    P.ForceHold.resize(EdgeBase.back());
    P.ForceFree.resize(EdgeBase.back());
  }

  LocalSearchResult run() {
    while (!done()) {
      double Before = Cur.Time;
      uint64_t PeakBefore = Cur.PeakBytes;
      bool Changed = toggleDeferral();
      Changed |= singleMoves();
      if (!done())
        Changed |= edgeMoves();
      if (O.Repair && !O.MinimizePeak && !done())
        Changed |= repairMoves();
      if (!Changed)
        break;
      // A round that gains less than MinRoundGain of the time (or, for the
      // peak, of the peak) ends the search: on 350-node graphs later rounds
      // gained under 0.3% for twice the work.
      if (O.MinimizePeak ? double(PeakBefore - Cur.PeakBytes) <
                               MinRoundGain * double(PeakBefore)
                         : Before - Cur.Time < MinRoundGain * Before)
        break;
    }
    return {std::move(Cur), Evaluations};
  }

private:
  const Graph &G;
  const LocalSearchOptions &O;
  KeepSetTables Tables;
  BitVector Candidates, EagerOk;
  ArrayRef<unsigned> EdgeBase;
  KeepSetPlan Cur;
  uint64_t Evaluations = 0, Work = 0;

  bool exhausted() const {
    return Work >= O.WorkLimit || (O.Work && O.Work->exhausted());
  }
  /// Out of work, or (minimising the peak) within the budget.
  bool done() const {
    return exhausted() || (O.MinimizePeak && Cur.PeakBytes <= O.BudgetBytes);
  }

  KeepSetPlan eval(const KeepPolicy &P) {
    ++Evaluations;
    KeepSetPlan R = runKeepSet(G, Tables, P);
    Work += R.Ops.size();
    if (O.Work)
      O.Work->charge(R.Work);
    return R;
  }

  /// Fits, and faster than \p Ref (or as fast with a lower peak, so that
  /// the search cannot cycle).
  bool improves(const KeepSetPlan &P, const KeepSetPlan &Ref) const {
    if (O.MinimizePeak)
      return P.PeakBytes < Ref.PeakBytes ||
             (P.PeakBytes == Ref.PeakBytes && P.Time < Ref.Time);
    if (P.PeakBytes > O.BudgetBytes)
      return false;
    return P.Time < Ref.Time ||
           (P.Time == Ref.Time && P.PeakBytes < Ref.PeakBytes);
  }

  bool allowed(unsigned V, TensorState S) const {
    return !isEager(S) || EagerOk.test(V);
  }

  /// Every other state of each candidate in turn; the best improving one is
  /// taken at once.
  bool singleMoves() {
    bool Any = false;
    for (unsigned V : Candidates.set_bits()) {
      if (done())
        break;
      TensorState Now = stateOf(Cur.Policy, V);
      Any |= adoptBest(std::size(AllStates),
                       [&](unsigned K) -> std::optional<KeepPolicy> {
                         TensorState S = AllStates[K];
                         if (S == Now || !allowed(V, S))
                           return std::nullopt;
                         KeepPolicy T = Cur.Policy;
                         setState(T, V, S);
                         return T;
                       });
    }
    return Any;
  }

  /// Evaluates the variants \p Variant(K) of the current policy for K in
  /// [0, Count), skipping nullopt, and adopts the best one that improves on
  /// the current plan. Returns whether one did.
  template <typename VariantFn>
  bool adoptBest(unsigned Count, VariantFn Variant) {
    std::optional<KeepSetPlan> Best;
    for (unsigned K = 0; K != Count; ++K) {
      std::optional<KeepPolicy> T = Variant(K);
      if (!T)
        continue;
      KeepSetPlan P = eval(*T);
      if (improves(P, Best ? *Best : Cur))
        Best = std::move(P);
    }
    if (!Best)
      return false;
    Cur = std::move(*Best);
    return true;
  }

  /// Flips KeepPolicy::DeferFrees for the whole plan.
  bool toggleDeferral() {
    KeepPolicy T = Cur.Policy;
    T.DeferFrees = !T.DeferFrees;
    KeepSetPlan P = eval(T);
    if (!improves(P, Cur))
      return false;
    Cur = std::move(P);
    return true;
  }

  /// Overrides of the hold-or-free decision for one use edge at a time:
  /// default, forced hold, forced free.
  bool edgeMoves() {
    bool Any = false;
    for (unsigned V = 0, E = G.size(); V != E && !done(); ++V) {
      if (G.Nodes[V].Bytes == 0)
        continue;
      for (unsigned Edge = EdgeBase[V]; Edge != EdgeBase[V + 1]; ++Edge) {
        const KeepPolicy &P = Cur.Policy;
        unsigned Now = P.ForceFree.test(Edge) ? 2 : P.ForceHold.test(Edge);
        // 0: default, 1: forced hold, 2: forced free.
        Any |= adoptBest(3, [&](unsigned S) -> std::optional<KeepPolicy> {
          if (S == Now)
            return std::nullopt;
          KeepPolicy T = Cur.Policy;
          T.ForceHold[Edge] = S == 1;
          T.ForceFree[Edge] = S == 2;
          return T;
        });
      }
    }
    return Any;
  }

  /// Cheaper states for a tensor resident at the peak: a kept tensor may be
  /// dropped, a retained one released after its stage, a lazy one made
  /// eager.
  SmallVector<TensorState, 3> lighter(unsigned V, TensorState S) const {
    SmallVector<TensorState, 3> Out;
    switch (S) {
    case TensorState::Keep:
      Out = {TensorState::DropRetain, TensorState::Drop};
      break;
    case TensorState::DropRetain:
      Out = {TensorState::Drop};
      break;
    case TensorState::EagerRetain:
      Out = {TensorState::Eager};
      break;
    case TensorState::Drop:
      break;
    case TensorState::Eager:
      return Out;
    }
    if (EagerOk.test(V) && !isEager(S))
      Out.push_back(TensorState::Eager);
    return Out;
  }

  /// One repair step on \p P (over budget): the state change at the peak op
  /// with the least time increase per byte of peak removed, never touching
  /// \p Fixed. nullopt when nothing lowers the peak.
  std::optional<KeepSetPlan> repairStep(const KeepSetPlan &P, unsigned Fixed) {
    BitVector AtPeak = Candidates;
    AtPeak &= P.ResidentAtPeak;
    std::optional<KeepSetPlan> Best;
    double BestKey = std::numeric_limits<double>::infinity();
    // Keeps the policy's plan when it lowers the peak at the least time per
    // byte so far.
    auto Consider = [&](const KeepPolicy &T) {
      KeepSetPlan Q = eval(T);
      if (Q.PeakBytes >= P.PeakBytes)
        return;
      double Key = (Q.Time - P.Time) / double(P.PeakBytes - Q.PeakBytes);
      if (!Best || Key < BestKey) {
        BestKey = Key;
        Best = std::move(Q);
      }
    };
    for (unsigned V : AtPeak.set_bits()) {
      if (V == Fixed || exhausted())
        continue;
      for (TensorState S : lighter(V, stateOf(P.Policy, V))) {
        KeepPolicy T = P.Policy;
        setState(T, V, S);
        Consider(T);
      }
    }
    // Or free a tensor held across the peak before its next user, which
    // then recomputes it.
    // \p Fixed too: kept, it may still skip one gap.
    for (unsigned V : P.ResidentAtPeak.set_bits()) {
      if (G.Nodes[V].Bytes == 0 || exhausted())
        continue;
      const auto &Us = G.Users[V];
      auto It = std::upper_bound(Us.begin(), Us.end(), P.PeakStage);
      if (It == Us.end() || V == P.PeakStage)
        continue;
      unsigned Edge = EdgeBase[V] + unsigned(It - Us.begin());
      if (P.Policy.ForceFree.test(Edge))
        continue;
      KeepPolicy T = P.Policy;
      T.ForceFree.set(Edge);
      Consider(T);
    }
    return Best;
  }

  /// Keeps (or retains) a dropped tensor even past the budget, then repairs
  /// the peak; taken when the repaired plan beats the current one.
  bool repairMoves() {
    bool Any = false;
    for (unsigned V : Candidates.set_bits()) {
      if (exhausted())
        break;
      TensorState Now = stateOf(Cur.Policy, V);
      if (Now == TensorState::Keep)
        continue;
      for (TensorState S : {TensorState::Keep, TensorState::DropRetain}) {
        if (S == Now || exhausted())
          continue;
        KeepPolicy T = Cur.Policy;
        setState(T, V, S);
        KeepSetPlan P = eval(T);
        for (unsigned Step = 0;
             P.PeakBytes > O.BudgetBytes && P.Time < Cur.Time &&
             Step != MaxRepairSteps && !exhausted();
             ++Step) {
          std::optional<KeepSetPlan> Next = repairStep(P, V);
          if (!Next)
            break;
          P = std::move(*Next);
        }
        if (improves(P, Cur)) {
          Cur = std::move(P);
          Any = true;
          break;
        }
      }
    }
    return Any;
  }
};

} // namespace

LocalSearchResult improveKeepSetLocally(const Graph &G, KeepSetPlan Start,
                                        const LocalSearchOptions &Opts) {
  return LocalSearch(G, Opts, std::move(Start)).run();
}

} // namespace remat

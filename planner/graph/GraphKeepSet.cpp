//===- planner/graph/GraphKeepSet.cpp - Keep set to compute/free ops ------===//
//
// runKeepSet: the engine behind the scalable planner and the graph baselines
// (planner/GraphScalable.h explains the plan shape). It emits ops and tracks
// resident bytes in one pass, so its peak is the simulator's peak.
//
//===----------------------------------------------------------------------===//

#include "planner/GraphScalable.h"

#include <algorithm>

using namespace llvm;

namespace remat {

namespace {

bool isBackward(const Node &N) { return N.NodePhase == Phase::Backward; }

/// Last user of each node in the node's own pass (forward and loss form one
/// pass, backward the other); 0 when there is none.
SmallVector<unsigned, 0> samePassLastUser(const Graph &G) {
  SmallVector<unsigned, 0> Last(G.size(), 0);
  for (unsigned V = 0, E = G.size(); V != E; ++V)
    for (unsigned U : G.Users[V])
      if (isBackward(G.Nodes[U]) == isBackward(G.Nodes[V]))
        Last[V] = std::max(Last[V], U);
  return Last;
}

class KeepSetSim {
public:
  KeepSetSim(const Graph &G, const KeepSetTables &T, const KeepPolicy &P)
      : G(G), P(P), PassLast(T.PassLast), Resident(G.size()),
        Recomputed(G.size()), InClosure(G.size()), Computed(G.size()),
        NextUse(G.size(), 0), Pending(G.size(), 0), EdgeBase(T.EdgeBase),
        DeferredUse(G.size()) {}

  KeepSetPlan run() {
    // Set-up: the per-node tables above, each a pass over nodes or edges.
    Out.Work = 2 * (G.size() + EdgeBase.back());
    for (unsigned S = 0, E = G.size(); S != E; ++S)
      stage(S);
    for (unsigned V : Deferred)
      release(V);
    residentAtPeak();
    return std::move(Out);
  }

private:
  const Graph &G;
  const KeepPolicy &P;
  ArrayRef<unsigned> PassLast;
  BitVector Resident, Recomputed, InClosure, Computed;
  SmallVector<unsigned, 0> NextUse;
  /// Uses of a recomputed tensor left in the current stage.
  SmallVector<unsigned, 0> Pending;
  ArrayRef<unsigned> EdgeBase;
  /// Frees decided at the end of the last stage, held until this stage's
  /// closure is known (KeepPolicy::DeferFrees); DeferredUse marks those
  /// the closure reads, Pending counts their reads left.
  SmallVector<unsigned, 8> Deferred;
  BitVector DeferredUse;
  unsigned CurStage = 0;
  uint64_t Bytes = 0;
  /// Index of the op that first reaches the peak.
  size_t PeakOp = 0;
  KeepSetPlan Out;

  /// Out.ResidentAtPeak, by replaying the ops up to the peak op: copying
  /// the resident set at every new peak cost O(n) per forward compute, the
  /// engine's largest cost at 10,000 nodes.
  void residentAtPeak() {
    BitVector &R = Out.ResidentAtPeak;
    R.resize(G.size());
    for (size_t I = 0; I <= PeakOp && I < Out.Ops.size(); ++I)
      R[Out.Ops[I].Node] = Out.Ops[I].Kind == GraphOpKind::Compute;
    Out.Work += PeakOp + 1;
  }

  /// First user of \p V after stage \p S, or ~0u. Stages only grow, so the
  /// cursor only moves forward.
  unsigned nextUserAfter(unsigned V, unsigned S) {
    const auto &Us = G.Users[V];
    unsigned &I = NextUse[V];
    while (I < Us.size() && Us[I] <= S)
      ++I;
    return I < Us.size() ? Us[I] : ~0u;
  }

  void compute(unsigned V) {
    const Node &N = G.Nodes[V];
    uint64_t Peak = Bytes + N.Bytes + N.Workspace;
    Resident.set(V);
    Bytes += N.Bytes;
    // Its inputs are visited about three times: closure, read counts, frees.
    Out.Work += 1 + 3 * N.Inputs.size();
    if (Out.Ops.empty() || Peak > Out.PeakBytes) {
      Out.PeakBytes = Peak;
      PeakOp = Out.Ops.size();
      Out.PeakStage = CurStage;
    }
    Out.Ops.push_back({GraphOpKind::Compute, V});
    Out.Time += N.Time;
    if (Computed.test(V))
      ++Out.Recomputations;
    Computed.set(V);
  }

  void release(unsigned V) {
    Resident.reset(V);
    Bytes -= G.Nodes[V].Bytes;
    Out.Ops.push_back({GraphOpKind::Free, V});
    ++Out.Work;
  }

  /// Whether \p V, resident and just used in stage \p S, stays resident.
  bool retainAfter(unsigned V, unsigned S) {
    unsigned Next = nextUserAfter(V, S);
    if (Next == ~0u)
      return false;
    unsigned Edge = EdgeBase[V] + NextUse[V];
    if (Edge < P.ForceFree.size() && P.ForceFree.test(Edge))
      return false;
    if (Edge < P.ForceHold.size() && P.ForceHold.test(Edge))
      return true;
    if (P.Keep.test(V))
      return true;
    if (Recomputed.test(V))
      return P.RetainRecomputed || (V < P.Retain.size() && P.Retain.test(V)) ||
             Next == S + 1;
    if (V < P.Eager.size() && P.Eager.test(V))
      return Next == S + 1;
    return Next <= PassLast[V];
  }

  /// Missing ancestors needed to compute \p S, ascending.
  SmallVector<unsigned, 16> closure(unsigned S) {
    SmallVector<unsigned, 16> Stack, Order;
    for (unsigned In : G.Nodes[S].Inputs)
      if (!Resident.test(In) && !InClosure.test(In)) {
        InClosure.set(In);
        Stack.push_back(In);
      }
    while (!Stack.empty()) {
      unsigned V = Stack.pop_back_val();
      Order.push_back(V);
      for (unsigned In : G.Nodes[V].Inputs)
        if (!Resident.test(In) && !InClosure.test(In)) {
          InClosure.set(In);
          Stack.push_back(In);
        }
    }
    std::sort(Order.begin(), Order.end());
    return Order;
  }

  /// Frees \p V after stage S's own compute: at once, or (DeferFrees) once
  /// the next stage's closure shows whether it still needs V.
  void releaseAtEnd(unsigned V) {
    if (P.DeferFrees)
      Deferred.push_back(V);
    else
      release(V);
  }

  /// A read in stage \p S of \p V, recomputed in it or held over from the
  /// last stage; after the last such read V is kept or freed.
  void usedInStage(unsigned V, unsigned S, bool AtEnd) {
    if (--Pending[V] != 0)
      return;
    InClosure.reset(V);
    DeferredUse.reset(V);
    if (retainAfter(V, S))
      return;
    if (AtEnd)
      releaseAtEnd(V);
    else
      release(V);
  }

  bool inStage(unsigned V) const {
    return InClosure.test(V) || DeferredUse.test(V);
  }

  /// Frees the held-over tensors stage \p S does not read; the others are
  /// freed after their last read in it.
  void settleDeferred(unsigned S, ArrayRef<unsigned> C) {
    for (unsigned V : Deferred)
      DeferredUse.set(V);
    for (unsigned V : C)
      for (unsigned In : G.Nodes[V].Inputs)
        if (DeferredUse.test(In))
          ++Pending[In];
    for (unsigned In : G.Nodes[S].Inputs)
      if (DeferredUse.test(In))
        ++Pending[In];
    for (unsigned V : Deferred)
      if (Pending[V] == 0) {
        DeferredUse.reset(V);
        release(V);
      }
    Deferred.clear();
  }

  void stage(unsigned S) {
    CurStage = S;
    SmallVector<unsigned, 16> C = closure(S);
    settleDeferred(S, C);
    for (unsigned V : C)
      for (unsigned In : G.Nodes[V].Inputs)
        if (InClosure.test(In))
          ++Pending[In];
    for (unsigned In : G.Nodes[S].Inputs)
      if (InClosure.test(In))
        ++Pending[In];
    for (unsigned V : C) {
      compute(V);
      Recomputed.set(V);
      for (unsigned In : G.Nodes[V].Inputs)
        if (inStage(In))
          usedInStage(In, S, false);
    }
    compute(S);
    for (unsigned In : G.Nodes[S].Inputs) {
      if (inStage(In)) {
        usedInStage(In, S, true);
        continue;
      }
      if (!retainAfter(In, S))
        releaseAtEnd(In);
    }
    if (!retainAfter(S, S))
      releaseAtEnd(S);
  }
};

} // namespace

KeepSetPlan runKeepSet(const Graph &G, const KeepPolicy &P) {
  return runKeepSet(G, keepSetTables(G), P);
}

KeepSetTables keepSetTables(const Graph &G) {
  return {samePassLastUser(G), useEdgeBase(G)};
}

KeepSetPlan runKeepSet(const Graph &G, const KeepSetTables &T,
                       const KeepPolicy &P) {
  KeepSetPlan Out = KeepSetSim(G, T, P).run();
  Out.Policy = P;
  return Out;
}

std::optional<KeepSetPlan> measureGraphOps(const Graph &G,
                                           std::vector<GraphOp> Ops) {
  KeepSetPlan P;
  BitVector Resident(G.size()), Computed(G.size());
  uint64_t Bytes = 0;
  for (const GraphOp &Op : Ops) {
    if (Op.Node >= G.size())
      return std::nullopt;
    const Node &N = G.Nodes[Op.Node];
    if (Op.Kind == GraphOpKind::Free) {
      if (!Resident.test(Op.Node))
        return std::nullopt;
      Resident.reset(Op.Node);
      Bytes -= N.Bytes;
      continue;
    }
    if (Resident.test(Op.Node))
      return std::nullopt;
    for (unsigned In : N.Inputs)
      if (!Resident.test(In))
        return std::nullopt;
    P.PeakBytes = std::max(P.PeakBytes, Bytes + N.Bytes + N.Workspace);
    Bytes += N.Bytes;
    Resident.set(Op.Node);
    P.Time += N.Time;
    P.Recomputations += Computed.test(Op.Node);
    Computed.set(Op.Node);
  }
  if (!Computed.all())
    return std::nullopt;
  P.Ops = std::move(Ops);
  return P;
}

SmallVector<unsigned, 0> useEdgeBase(const Graph &G) {
  SmallVector<unsigned, 0> Base(G.size() + 1, 0);
  for (unsigned V = 0, E = G.size(); V != E; ++V)
    Base[V + 1] = Base[V] + G.Users[V].size();
  return Base;
}

BitVector eagerCandidates(const Graph &G) {
  BitVector C(G.size());
  for (unsigned V = 0, E = G.size(); V != E; ++V) {
    unsigned Prev = V;
    for (unsigned U : G.Users[V]) {
      if (isBackward(G.Nodes[U]) != isBackward(G.Nodes[V]))
        continue;
      if (U > Prev + 1 && Prev != V && G.Nodes[V].Bytes > 0)
        C.set(V);
      Prev = U;
    }
  }
  return C;
}

BitVector dropCandidates(const Graph &G) {
  SmallVector<unsigned, 0> Last = samePassLastUser(G);
  BitVector C(G.size());
  for (unsigned V = 0, E = G.size(); V != E; ++V)
    if (!G.Users[V].empty() && G.Users[V].back() > Last[V] &&
        G.Nodes[V].Bytes > 0)
      C.set(V);
  return C;
}

} // namespace remat

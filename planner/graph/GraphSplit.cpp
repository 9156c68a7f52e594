//===- planner/graph/GraphSplit.cpp - Plans a forward/backward split runs -===//
//
// splitScheduleOps builds the one schedule a saved set allows;
// planGraphSplit searches saved sets: every one when there are few
// candidates, else a peak-driven greedy that unsaves the saved tensors
// resident at the peak, a pass that re-saves what still fits, and flips of
// single candidates until nothing improves (each bounded by a count); from
// three kinds of start: every candidate saved, none, and the best prefixes
// of the candidates ordered by time per byte (a greedy knapsack's order).
//
//===----------------------------------------------------------------------===//

#include "planner/GraphSplit.h"
#include "graph/Errors.h"

#include <algorithm>
#include <optional>

using namespace llvm;

namespace remat {

namespace {

bool isPhase(const Graph &G, unsigned V, Phase P) {
  return G.Nodes[V].NodePhase == P;
}

/// Depth-first marking from \p Roots over inputs, not entering nodes for
/// which \p Stop holds.
template <typename StopFn>
void markAncestors(const Graph &G, SmallVectorImpl<unsigned> &Stack,
                   BitVector &Mark, StopFn Stop) {
  while (!Stack.empty()) {
    unsigned V = Stack.pop_back_val();
    if (Mark.test(V) || Stop(V))
      continue;
    Mark.set(V);
    for (unsigned In : G.Nodes[V].Inputs)
      Stack.push_back(In);
  }
}

/// Appends \p V's recomputation to \p Seq after those of its missing
/// inputs (post-order over inputs in file order), each node once.
void recomputeInto(const Graph &G, unsigned V, const BitVector &NeedBw,
                   BitVector &Done, SmallVectorImpl<unsigned> &Seq) {
  auto Wanted = [&](unsigned X) {
    return !Done.test(X) && NeedBw.test(X) && isPhase(G, X, Phase::Forward);
  };
  if (!Wanted(V))
    return;
  // (node, next input to visit); Done is set when a node is entered so that
  // a shared ancestor is emitted once, where its first reader needs it.
  SmallVector<std::pair<unsigned, unsigned>, 16> Stack;
  Done.set(V);
  Stack.push_back({V, 0});
  while (!Stack.empty()) {
    auto &[X, I] = Stack.back();
    const auto &Ins = G.Nodes[X].Inputs;
    if (I == Ins.size()) {
      Seq.push_back(X);
      Stack.pop_back();
      continue;
    }
    unsigned In = Ins[I++];
    if (Wanted(In)) {
      Done.set(In);
      Stack.push_back({In, 0});
    }
  }
}

/// Compute order of the split for saved set \p Saved (see the header).
SmallVector<unsigned, 0> splitSequence(const Graph &G, const BitVector &Saved) {
  unsigned N = G.size();
  auto IsSaved = [&](unsigned V) {
    return V < Saved.size() && Saved.test(V) && isPhase(G, V, Phase::Forward);
  };
  BitVector NeedFw(N), NeedBw(N), Done(N);
  SmallVector<unsigned, 64> Stack;
  for (unsigned V = 0; V != N; ++V)
    if (isPhase(G, V, Phase::Backward))
      Stack.push_back(V);
  markAncestors(G, Stack, NeedBw, [&](unsigned V) {
    return isPhase(G, V, Phase::Loss) || IsSaved(V);
  });
  // The forward computes what the loss and the saved set need, and every
  // forward node the backward does not recompute, with its ancestors.
  for (unsigned V = 0; V != N; ++V) {
    if (isPhase(G, V, Phase::Loss))
      Stack.append(G.Nodes[V].Inputs.begin(), G.Nodes[V].Inputs.end());
    else if (IsSaved(V) || (isPhase(G, V, Phase::Forward) && !NeedBw.test(V)))
      Stack.push_back(V);
  }
  markAncestors(G, Stack, NeedFw, [](unsigned) { return false; });
  SmallVector<unsigned, 0> Seq;
  for (unsigned V = 0; V != N; ++V)
    if (isPhase(G, V, Phase::Forward) && NeedFw.test(V))
      Seq.push_back(V);
  for (unsigned V = 0; V != N; ++V)
    if (isPhase(G, V, Phase::Loss))
      Seq.push_back(V);
  for (unsigned V = 0; V != N; ++V) {
    if (!isPhase(G, V, Phase::Backward))
      continue;
    for (unsigned In : G.Nodes[V].Inputs)
      recomputeInto(G, In, NeedBw, Done, Seq);
    Seq.push_back(V);
  }
  return Seq;
}

/// Computes in \p Seq order, each value freed after its last reader.
std::vector<GraphOp> withFrees(const Graph &G, ArrayRef<unsigned> Seq) {
  size_t M = Seq.size();
  // End[p]: position of the last reader of the value computed at p.
  SmallVector<size_t, 0> End(M), Current(G.size(), 0);
  for (size_t P = 0; P != M; ++P) {
    End[P] = P;
    for (unsigned In : G.Nodes[Seq[P]].Inputs)
      End[Current[In]] = P;
    Current[Seq[P]] = P;
  }
  // Frees after position p, in the order of the values' computations.
  SmallVector<SmallVector<unsigned, 2>, 0> FreesAfter(M);
  for (size_t P = 0; P != M; ++P)
    FreesAfter[End[P]].push_back(Seq[P]);
  std::vector<GraphOp> Ops;
  Ops.reserve(2 * M);
  for (size_t P = 0; P != M; ++P) {
    Ops.push_back({GraphOpKind::Compute, Seq[P]});
    for (unsigned V : FreesAfter[P])
      Ops.push_back({GraphOpKind::Free, V});
  }
  return Ops;
}

} // namespace

BitVector splitCandidates(const Graph &G) {
  BitVector Anc(G.size());
  SmallVector<unsigned, 64> Stack;
  for (unsigned V = 0, E = G.size(); V != E; ++V)
    if (isPhase(G, V, Phase::Backward))
      for (unsigned In : G.Nodes[V].Inputs)
        Stack.push_back(In);
  markAncestors(G, Stack, Anc,
                [&](unsigned V) { return !isPhase(G, V, Phase::Forward); });
  return Anc;
}

Expected<std::vector<GraphOp>> splitScheduleOps(const Graph &G,
                                                const BitVector &Saved) {
  for (unsigned V = 0, E = G.size(); V != E; ++V) {
    if (isPhase(G, V, Phase::Backward))
      continue;
    for (unsigned In : G.Nodes[V].Inputs)
      if (isPhase(G, In, Phase::Backward))
        return badInput("graph node '{}' ({}) reads the backward node '{}'; "
                        "a forward/backward split needs the forward and the "
                        "loss to read only forward and loss nodes",
                        G.Nodes[V].Name, phaseName(G.Nodes[V].NodePhase).str(),
                        G.Nodes[In].Name);
  }
  return withFrees(G, splitSequence(G, Saved));
}

namespace {

/// The search over saved sets; every candidate is built and measured.
class SplitSearch {
public:
  SplitSearch(const Graph &G, const SplitPlanOptions &O) : G(G), O(O) {
    BitVector C = splitCandidates(G);
    for (unsigned V : C.set_bits())
      Cands.push_back(V);
    for (const Node &N : G.Nodes)
      Edges += N.Inputs.size();
  }

  SplitPlanResult run() {
    if (Cands.size() <= O.ExhaustiveMaxCandidates)
      exhaustive();
    else
      heuristic();
    Out.LimitReached = stopped();
    return std::move(Out);
  }

private:
  const Graph &G;
  const SplitPlanOptions &O;
  SmallVector<unsigned, 0> Cands;
  uint64_t Edges = 0;
  bool HaveMinPeak = false;
  SplitPlanResult Out;

  bool stopped() const { return O.Work && O.Work->exhausted(); }
  bool fits(const KeepSetPlan &P) const {
    return O.BudgetBytes && P.PeakBytes <= O.BudgetBytes;
  }

  /// Builds and measures the schedule of \p Saved, and keeps the best.
  KeepSetPlan evaluate(const BitVector &Saved) {
    ++Out.Evaluations;
    KeepSetPlan P;
    P.Ops = withFrees(G, splitSequence(G, Saved));
    BitVector Resident(G.size()), Computed(G.size());
    uint64_t Bytes = 0;
    size_t PeakOp = 0;
    for (size_t I = 0, E = P.Ops.size(); I != E; ++I) {
      const GraphOp &Op = P.Ops[I];
      const Node &N = G.Nodes[Op.Node];
      if (Op.Kind == GraphOpKind::Free) {
        Bytes -= N.Bytes;
        continue;
      }
      uint64_t Peak = Bytes + N.Bytes + N.Workspace;
      if (I == 0 || Peak > P.PeakBytes) {
        P.PeakBytes = Peak;
        PeakOp = I;
      }
      Bytes += N.Bytes;
      P.Time += N.Time;
      P.Recomputations += Computed.test(Op.Node);
      Computed.set(Op.Node);
    }
    P.ResidentAtPeak.resize(G.size());
    for (size_t I = 0; I <= PeakOp && I < P.Ops.size(); ++I)
      P.ResidentAtPeak[P.Ops[I].Node] = P.Ops[I].Kind == GraphOpKind::Compute;
    P.PeakStage = P.Ops.empty() ? 0 : P.Ops[PeakOp].Node;
    P.Work = 3 * (P.Ops.size() + Edges) + PeakOp;
    if (O.Work)
      O.Work->charge(P.Work);
    record(P, Saved);
    return P;
  }

  void record(const KeepSetPlan &P, const BitVector &Saved) {
    if (!HaveMinPeak || P.PeakBytes < Out.MinPeak.PeakBytes ||
        (P.PeakBytes == Out.MinPeak.PeakBytes && P.Time < Out.MinPeak.Time)) {
      Out.MinPeak = P;
      HaveMinPeak = true;
    }
    if (fits(P) &&
        (!Out.Found || P.Time < Out.Best.Time ||
         (P.Time == Out.Best.Time && P.PeakBytes < Out.Best.PeakBytes))) {
      Out.Best = P;
      Out.BestSaved = Saved;
      Out.Found = true;
    }
  }

  void exhaustive() {
    unsigned K = Cands.size();
    for (uint64_t Mask = 0; Mask != (uint64_t(1) << K); ++Mask) {
      if (stopped())
        return;
      BitVector S(G.size());
      for (unsigned I = 0; I != K; ++I)
        if (Mask >> I & 1)
          S.set(Cands[I]);
      evaluate(S);
    }
    Out.Exhaustive = true;
  }

  /// Whether \p Q improves on \p P: faster within the budget, or a lower
  /// peak (then faster) while over it.
  bool improves(const KeepSetPlan &Q, const KeepSetPlan &P) const {
    if (fits(P))
      return fits(Q) && Q.Time < P.Time;
    return fits(Q) || Q.PeakBytes < P.PeakBytes ||
           (Q.PeakBytes == P.PeakBytes && Q.Time < P.Time);
  }

  /// Unsaves, one at a time, the saved tensor resident at the peak with
  /// the least time added per byte of peak removed, until the plan fits.
  void greedyDown(BitVector &Cur, KeepSetPlan &P) {
    constexpr unsigned Tries = 24;
    while (!fits(P) && !stopped()) {
      SmallVector<unsigned, 32> R;
      for (unsigned V : Cands)
        if (Cur.test(V) && P.ResidentAtPeak.test(V))
          R.push_back(V);
      llvm::stable_sort(R, [&](unsigned A, unsigned B) {
        return G.Nodes[A].Bytes > G.Nodes[B].Bytes;
      });
      if (R.size() > Tries)
        R.resize(Tries);
      std::optional<KeepSetPlan> Best;
      unsigned BestV = 0;
      double BestScore = 0;
      for (unsigned V : R) {
        Cur.reset(V);
        KeepSetPlan Q = evaluate(Cur);
        Cur.set(V);
        if (Q.PeakBytes >= P.PeakBytes)
          continue;
        double Score =
            std::max(0.0, Q.Time - P.Time) / double(P.PeakBytes - Q.PeakBytes);
        if (!Best || Score < BestScore) {
          Best = std::move(Q);
          BestV = V;
          BestScore = Score;
        }
      }
      if (!Best)
        return;
      Cur.reset(BestV);
      P = std::move(*Best);
    }
  }

  /// Saves, most expensive first, the unsaved candidates whose saving
  /// improves the plan.
  void resave(BitVector &Cur, KeepSetPlan &P) {
    SmallVector<unsigned, 0> Order(Cands.begin(), Cands.end());
    llvm::stable_sort(Order, [&](unsigned A, unsigned B) {
      return G.Nodes[A].Time > G.Nodes[B].Time;
    });
    for (unsigned V : Order) {
      if (stopped())
        return;
      if (Cur.test(V))
        continue;
      Cur.set(V);
      KeepSetPlan Q = evaluate(Cur);
      if (improves(Q, P))
        P = std::move(Q);
      else
        Cur.reset(V);
    }
  }

  /// Flips single candidates while that improves the plan, a few rounds.
  void flips(BitVector &Cur, KeepSetPlan &P) {
    constexpr unsigned Rounds = 3;
    for (unsigned R = 0; R != Rounds; ++R) {
      bool Changed = false;
      for (unsigned V : Cands) {
        if (stopped())
          return;
        Cur.flip(V);
        KeepSetPlan Q = evaluate(Cur);
        if (improves(Q, P)) {
          P = std::move(Q);
          Changed = true;
        } else {
          Cur.flip(V);
        }
      }
      if (!Changed)
        return;
    }
  }

  /// Knapsack-like starts: candidates by time per byte, highest first (a
  /// greedy knapsack's order, as in PyTorch's greedy solver), and every
  /// prefix of that order saved and evaluated; the best prefixes (the
  /// fastest within the budget, or the least peaks when none fits) are then
  /// improved. Several, because the best prefix's basin is not always the
  /// best one.
  void ratioStart() {
    SmallVector<unsigned, 0> Order(Cands.begin(), Cands.end());
    auto Ratio = [&](unsigned V) {
      return G.Nodes[V].Time / double(std::max<uint64_t>(G.Nodes[V].Bytes, 1));
    };
    llvm::stable_sort(
        Order, [&](unsigned A, unsigned B) { return Ratio(A) > Ratio(B); });
    // (peak, time, prefix length): the plans themselves are rebuilt for the
    // few that are improved, so memory stays one plan, not one per prefix.
    struct Prefix {
      KeepSetPlan Figures;
      size_t Len;
    };
    std::vector<Prefix> Prefixes;
    BitVector Cur(G.size());
    for (size_t K = 0; K <= Order.size() && !stopped(); ++K) {
      if (K)
        Cur.set(Order[K - 1]);
      KeepSetPlan P = evaluate(Cur);
      KeepSetPlan Figures; // peak and time only; P's ops are freed here
      Figures.PeakBytes = P.PeakBytes;
      Figures.Time = P.Time;
      Prefixes.push_back({std::move(Figures), K});
    }
    std::stable_sort(Prefixes.begin(), Prefixes.end(),
                     [&](const Prefix &A, const Prefix &B) {
                       return improves(A.Figures, B.Figures);
                     });
    for (unsigned I = 0;
         I < O.PrefixStarts && I < Prefixes.size() && !stopped(); ++I) {
      BitVector S(G.size());
      for (size_t K = 0; K != Prefixes[I].Len; ++K)
        S.set(Order[K]);
      KeepSetPlan P = evaluate(S);
      greedyDown(S, P);
      resave(S, P);
      flips(S, P);
    }
  }

  /// From every candidate saved down to the budget, from none saved up, and
  /// from the best prefixes by time per byte; each then improved by single
  /// flips.
  void heuristic() {
    BitVector All(G.size());
    for (unsigned V : Cands)
      All.set(V);
    BitVector Cur = All;
    KeepSetPlan P = evaluate(Cur);
    greedyDown(Cur, P);
    resave(Cur, P);
    flips(Cur, P);
    BitVector None(G.size());
    KeepSetPlan Q = evaluate(None);
    resave(None, Q);
    flips(None, Q);
    if (O.PrefixStarts)
      ratioStart();
  }
};

} // namespace

Expected<SplitPlanResult> planGraphSplit(const Graph &G,
                                         const SplitPlanOptions &Opts) {
  // Validates the graph's phases once; every saved set passes then.
  if (auto Ops = splitScheduleOps(G, BitVector()); !Ops)
    return Ops.takeError();
  return SplitSearch(G, Opts).run();
}

} // namespace remat

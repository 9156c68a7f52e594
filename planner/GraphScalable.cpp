//===- planner/GraphScalable.cpp - Keep-set search for big graphs ---------===//
//
// planGraphScalable: a peak-driven greedy over the keep set, then a re-keep
// pass and a local search (GraphScalableLocal.cpp) from each plan that fits.
// Every candidate keep set is run through runKeepSet, whose memory
// accounting is exact, so the search never trusts an estimate.
//
//===----------------------------------------------------------------------===//

#include "planner/GraphScalable.h"
#include "planner/GraphScalableLocal.h"

#include <algorithm>
#include <limits>

using namespace llvm;

namespace remat {

namespace {

/// Keep sets tried per greedy step on big graphs: the most promising by
/// bytes per recompute time among the tensors resident at the peak.
constexpr unsigned TriesPerStep = 4;
/// Up to this many drop candidates, every greedy step tries them all.
constexpr unsigned ThoroughCandidates = 200;

bool better(const KeepSetPlan &A, const KeepSetPlan &B) {
  if (A.Time != B.Time)
    return A.Time < B.Time;
  return A.PeakBytes < B.PeakBytes;
}

class ScalableSearch {
public:
  ScalableSearch(const Graph &G, const ScalableOptions &O)
      : G(G), O(O), Candidates(dropCandidates(G)),
        EagerCandidates(eagerCandidates(G)) {
    Policy.Keep = BitVector(G.size(), true);
    Policy.Eager = BitVector(G.size(), false);
    Thorough = Candidates.count() <= ThoroughCandidates;
  }

  ScalableResult run() {
    KeepSetPlan Cur = eval(Policy);
    consider(Cur);
    while (Cur.PeakBytes > O.BudgetBytes) {
      std::optional<KeepSetPlan> Step = pickStep(Cur);
      if (!Step)
        break;
      Policy = Step->Policy;
      Cur = std::move(*Step);
      consider(Cur);
    }
    if (R.Found)
      improve();
    // Chen's plans are a second start: greedy peak-shaving can strand itself
    // where a regular checkpoint spacing fits (transformer stacks at 60%).
    std::optional<KeepSetPlan> Start;
    auto Baselines = chenPlans(G);
    Baselines.push_back(recomputeAllPlan(G));
    for (KeepSetPlan &B : Baselines) {
      if (B.PeakBytes <= O.BudgetBytes && (!Start || better(B, *Start)))
        Start = B;
      consider(std::move(B));
    }
    if (Start) {
      for (bool Retain : {true, false}) {
        Policy = Start->Policy;
        Policy.RetainRecomputed = Retain;
        if (Retain || runKeepSet(G, Policy).PeakBytes <= O.BudgetBytes)
          improve();
      }
    }
    if (!R.Found)
      lowerThePeak();
    return std::move(R);
  }

private:
  const Graph &G;
  const ScalableOptions &O;
  BitVector Candidates, EagerCandidates;
  KeepPolicy Policy;
  ScalableResult R;
  /// Small enough to try every candidate per greedy step.
  bool Thorough = false;

  KeepSetPlan eval(const KeepPolicy &P) {
    ++R.Evaluations;
    return runKeepSet(G, P);
  }

  void consider(KeepSetPlan P) {
    if (R.MinPeak.Ops.empty() || P.PeakBytes < R.MinPeak.PeakBytes ||
        (P.PeakBytes == R.MinPeak.PeakBytes && P.Time < R.MinPeak.Time))
      R.MinPeak = P;
    if (P.PeakBytes > O.BudgetBytes)
      return;
    if (!R.Found || better(P, R.Best)) {
      R.Best = std::move(P);
      R.Found = true;
    }
  }

  /// Rough recompute time of \p V if dropped: its own time plus that of its
  /// dropped inputs, which a recomputation usually redoes as well.
  double recomputeEstimate(unsigned V) const {
    double T = G.Nodes[V].Time;
    for (unsigned In : G.Nodes[V].Inputs)
      if (!Policy.Keep.test(In))
        T += G.Nodes[In].Time;
    return T;
  }

  SmallVector<unsigned, 8> shortlist(const BitVector &Pool) const {
    SmallVector<std::pair<double, unsigned>, 64> Scored;
    for (unsigned V : Pool.set_bits())
      Scored.push_back(
          {-double(G.Nodes[V].Bytes) / (recomputeEstimate(V) + 1e-9), V});
    unsigned K =
        std::min<unsigned>(Thorough ? ~0u : TriesPerStep, Scored.size());
    std::partial_sort(Scored.begin(), Scored.begin() + K, Scored.end());
    SmallVector<unsigned, 8> Out;
    for (unsigned I = 0; I != K; ++I)
      Out.push_back(Scored[I].second);
    return Out;
  }

  /// The next step: drop a kept tensor, or make a dropped one eager (freed
  /// between uses in its own pass too). Among the shortlists of both, the
  /// step with the least measured time increase per byte of peak removed; a
  /// step that removes nothing ranks after every step that does, by time.
  std::optional<KeepSetPlan> pickStep(const KeepSetPlan &Cur) {
    BitVector Kept = Candidates;
    Kept &= Policy.Keep;
    BitVector AtPeak = Kept;
    AtPeak &= Cur.ResidentAtPeak;
    BitVector Lazy = EagerCandidates;
    Lazy.reset(Policy.Eager);
    Lazy &= Cur.ResidentAtPeak;
    SmallVector<std::pair<unsigned, bool>, 16> Steps;
    for (unsigned V : shortlist(AtPeak.any() ? AtPeak : Kept))
      Steps.push_back({V, false});
    // Eager steps only where every step is tried: with a shortlist they
    // cost layered graphs of 1,000+ nodes 5 points (bench, 80% budget).
    if (Thorough)
      for (unsigned V : shortlist(Lazy))
        Steps.push_back({V, true});
    std::optional<KeepSetPlan> Best;
    double BestKey = std::numeric_limits<double>::infinity();
    bool BestReduces = false;
    for (auto [V, MakeEager] : Steps) {
      KeepPolicy Trial = Policy;
      Trial.Keep.reset(V);
      if (MakeEager)
        Trial.Eager.set(V);
      KeepSetPlan P = eval(Trial);
      bool Reduces = P.PeakBytes < Cur.PeakBytes;
      double DT = P.Time - Cur.Time;
      double Key = Reduces ? DT / double(Cur.PeakBytes - P.PeakBytes) : DT;
      if (!Best || (Reduces && !BestReduces) ||
          (Reduces == BestReduces && Key < BestKey)) {
        Best = std::move(P);
        BestKey = Key;
        BestReduces = Reduces;
      }
    }
    return Best;
  }

  /// When nothing fits: a local search that minimises the peak from the
  /// least-peak plan seen, then the usual improvement once a plan fits. The
  /// greedy, the baselines and this search do not depend on the budget until
  /// a plan fits, so MinPeak stays a budget at which the search succeeds.
  void lowerThePeak() {
    if (!O.LocalSearchWork)
      return;
    LocalSearchOptions LO;
    LO.BudgetBytes = O.BudgetBytes;
    LO.WorkLimit = O.LocalSearchWork;
    LO.MinimizePeak = true;
    LocalSearchResult L = improveKeepSetLocally(G, R.MinPeak, LO);
    R.Evaluations += L.Evaluations;
    consider(L.Best);
    if (!R.Found)
      return;
    Policy = R.Best.Policy;
    improve();
  }

  /// Re-keeps dropped tensors, most expensive to recompute first, while the
  /// plan still fits and gets faster.
  void improve() {
    SmallVector<std::pair<double, unsigned>, 64> Dropped;
    for (unsigned V : Candidates.set_bits())
      if (!Policy.Keep.test(V))
        Dropped.push_back({-recomputeEstimate(V), V});
    std::sort(Dropped.begin(), Dropped.end());
    KeepSetPlan Cur = eval(Policy);
    uint64_t Budget =
        uint64_t(O.ImproveRounds) * std::max<size_t>(1, Candidates.count());
    for (uint64_t Spent = 0; Spent < Budget;) {
      bool Changed = false;
      for (auto [Score, V] : Dropped) {
        if (Policy.Keep.test(V) || Spent++ >= Budget)
          continue;
        KeepPolicy Trial = Policy;
        Trial.Keep.set(V);
        KeepSetPlan P = eval(Trial);
        if (P.PeakBytes > O.BudgetBytes || P.Time >= Cur.Time)
          continue;
        Policy = std::move(Trial);
        Cur = std::move(P);
        Changed = true;
      }
      if (!Changed)
        break;
    }
    consider(Cur);
    if (Cur.PeakBytes <= O.BudgetBytes && O.LocalSearchWork) {
      LocalSearchOptions LO;
      LO.BudgetBytes = O.BudgetBytes;
      LO.WorkLimit = O.LocalSearchWork;
      LocalSearchResult L = improveKeepSetLocally(G, Cur, LO);
      R.Evaluations += L.Evaluations;
      consider(std::move(L.Best));
    }
    KeepPolicy Retain = Policy;
    Retain.RetainRecomputed = true;
    consider(eval(Retain));
  }
};

} // namespace

ScalableResult planGraphScalable(const Graph &G, const ScalableOptions &Opts) {
  return ScalableSearch(G, Opts).run();
}

} // namespace remat

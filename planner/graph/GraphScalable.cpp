//===- planner/graph/GraphScalable.cpp - Keep-set search for big graphs ---===//
//
// planGraphScalable: a peak-driven greedy over the keep set, then a re-keep
// pass and a local search (GraphScalableLocal.cpp) from each plan that fits.
// Every candidate keep set is run through runKeepSet, whose memory
// accounting is exact, so the search never trusts an estimate.
//
//===----------------------------------------------------------------------===//

#include "planner/GraphScalable.h"
#include "planner/graph/GraphScalableLocal.h"

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
/// A start slower than this many times the best plan is not improved.
constexpr double SlowStart = 2;
/// Tensors the re-keep pass tries to keep at once on big graphs.
constexpr unsigned KeepBlock = 16;
/// Fewest tensors a batch step drops; below, the greedy goes one at a time.
constexpr unsigned MinBatch = 8;

/// Which dropped tensors can be kept again within the budget, read off a
/// plan's ops: keeping v leaves every op from v's first free to its next
/// compute as it is, each holding bytes(v) more, so when the highest op
/// peak in that window plus bytes(v) exceeds the budget, keeping v does
/// too, and the re-keep pass need not run the engine to see it (at 10,000
/// nodes most of its evaluations were such tensors).
class KeepWindows {
public:
  KeepWindows(const Graph &G, const KeepSetPlan &P)
      : G(G), Lo(G.size(), 0), Hi(G.size(), 0) {
    size_t N = P.Ops.size();
    Levels.emplace_back(N, 0);
    llvm::BitVector Freed(G.size()), Done(G.size());
    uint64_t Bytes = 0;
    for (size_t I = 0; I != N; ++I) {
      unsigned V = P.Ops[I].Node;
      const Node &Nd = G.Nodes[V];
      if (P.Ops[I].Kind == GraphOpKind::Free) {
        Bytes -= Nd.Bytes;
        if (!Freed.test(V)) {
          Freed.set(V);
          Lo[V] = Hi[V] = unsigned(I + 1);
        }
        continue;
      }
      Levels[0][I] = Bytes + Nd.Bytes + Nd.Workspace;
      Bytes += Nd.Bytes;
      if (Freed.test(V) && !Done.test(V)) {
        Done.set(V);
        Hi[V] = unsigned(I);
      }
    }
    for (size_t W = 1; 2 * W <= N; W *= 2) {
      const std::vector<uint64_t> &Prev = Levels.back();
      std::vector<uint64_t> Next(N - 2 * W + 1);
      for (size_t I = 0; I != Next.size(); ++I)
        Next[I] = std::max(Prev[I], Prev[I + W]);
      Levels.push_back(std::move(Next));
    }
    Work = N * Levels.size();
  }

  /// Whether keeping \p V may fit \p Budget (false: it cannot).
  bool mayKeep(unsigned V, uint64_t Budget) const {
    if (Lo[V] >= Hi[V])
      return true;
    unsigned K = 0;
    while ((2u << K) <= Hi[V] - Lo[V])
      ++K;
    uint64_t Max = std::max(Levels[K][Lo[V]], Levels[K][Hi[V] - (1u << K)]);
    return Max + G.Nodes[V].Bytes <= Budget;
  }

  /// Elementary operations spent building the table.
  uint64_t Work = 0;

private:
  const Graph &G;
  /// Window of v: ops [Lo[v], Hi[v]).
  std::vector<unsigned> Lo, Hi;
  /// Sparse table of op peaks: Levels[k][i] = max over ops [i, i + 2^k).
  std::vector<std::vector<uint64_t>> Levels;
};

bool better(const KeepSetPlan &A, const KeepSetPlan &B) {
  if (A.Time != B.Time)
    return A.Time < B.Time;
  return A.PeakBytes < B.PeakBytes;
}

class ScalableSearch {
public:
  ScalableSearch(const Graph &G, const ScalableOptions &O)
      : G(G), O(O), Tables(keepSetTables(G)), Candidates(dropCandidates(G)),
        EagerCandidates(eagerCandidates(G)) {
    Policy.Keep = BitVector(G.size(), true);
    Policy.Eager = BitVector(G.size(), false);
    Thorough = Candidates.count() <= ThoroughCandidates;
  }

  ScalableResult run() {
    // The baselines first, whatever the work budget says, so that a limited
    // call always has their plans; they are considered where they always
    // were, so that ties between equal plans resolve as before.
    std::vector<KeepSetPlan> Baselines = chenPlans(G);
    Baselines.push_back(recomputeAllPlan(G));
    for (const KeepSetPlan &B : Baselines)
      charge(B);
    KeepSetPlan Cur = eval(Policy);
    consider(Cur);
    // A greedy already twice as slow as a baseline that fits only gets
    // slower (and each evaluation dearer, as recomputations pile up; at 80%
    // the greedy passes above the baseline and recovers): it stops,
    // and the baseline is the start (transformer-9993 at 60%: the greedy's
    // plan took 30 times the baseline's time). With no budget no baseline
    // fits, so the least-peak path is unchanged.
    double Cutoff = std::numeric_limits<double>::infinity();
    for (const KeepSetPlan &B : Baselines)
      if (B.PeakBytes <= O.BudgetBytes)
        Cutoff = std::min(Cutoff, SlowStart * B.Time);
    greedy(Cur, Cutoff);
    bool CutOff = Cur.PeakBytes > O.BudgetBytes && Cur.Time > Cutoff;
    if (R.Found && !stopped())
      improve();
    // A greedy cut off for slowness (its plans pile up recomputations:
    // transformers of 1,000+ nodes at 60%) runs again with recomputed
    // tensors retained, each recomputed at most once as in Chen's segments;
    // before Chen's starts, which then improve what is left.
    if (CutOff && !stopped())
      retainGreedy(Cutoff, 5);
    // Chen's plans are a second start: greedy peak-shaving can strand itself
    // where a regular checkpoint spacing fits (transformer stacks at 60%).
    std::optional<KeepSetPlan> Start;
    for (KeepSetPlan &B : Baselines) {
      if (B.PeakBytes <= O.BudgetBytes && (!Start || better(B, *Start)))
        Start = B;
      consider(std::move(B));
    }
    if (Start) {
      for (bool Retain : {true, false}) {
        if (stopped())
          break;
        Policy = Start->Policy;
        Policy.RetainRecomputed = Retain;
        // A start twice as slow as the best plan so far is not worth its
        // evaluations (Chen's plans without retention on transformers:
        // 20 times slower, and each evaluation dearer).
        if (Retain || [&] {
              KeepSetPlan P = eval(Policy);
              return P.PeakBytes <= O.BudgetBytes &&
                     !(R.Found && P.Time > SlowStart * R.Best.Time);
            }())
          improve();
      }
    }
    // Work left (layered graphs at 60%, where no baseline fits and the
    // searches above converge early): the retained greedy too.
    if (!CutOff && !stopped())
      retainGreedy(Cutoff, 1);
    if (!R.Found && !stopped())
      lowerThePeak();
    R.LimitReached = stopped();
    return std::move(R);
  }

private:
  const Graph &G;
  const ScalableOptions &O;
  KeepSetTables Tables;
  BitVector Candidates, EagerCandidates;
  KeepPolicy Policy;
  ScalableResult R;
  /// Small enough to try every candidate per greedy step.
  bool Thorough = false;

  KeepSetPlan eval(const KeepPolicy &P) {
    ++R.Evaluations;
    KeepSetPlan Out = runKeepSet(G, Tables, P);
    charge(Out);
    return Out;
  }

  void charge(const KeepSetPlan &P) {
    if (O.Work)
      O.Work->charge(P.Work);
  }

  /// The call's work budget is spent.
  bool stopped() const { return O.Work && O.Work->exhausted(); }

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

  /// Peak-driven greedy from \p Cur (the plan of Policy): batch or single
  /// drops until the plan fits, the work runs out, or it grows slower than
  /// \p Cutoff.
  void greedy(KeepSetPlan &Cur, double Cutoff,
              uint64_t StopAt = std::numeric_limits<uint64_t>::max()) {
    while (Cur.PeakBytes > O.BudgetBytes && Cur.Time <= Cutoff && !stopped() &&
           !(O.Work && O.Work->used() >= StopAt)) {
      std::optional<KeepSetPlan> Step = batchStep(Cur);
      if (!Step)
        Step = pickStep(Cur);
      if (!Step)
        break;
      Policy = Step->Policy;
      Cur = std::move(*Step);
      consider(Cur);
    }
  }

  /// The greedy from every tensor kept, with recomputed tensors retained,
  /// within 1/\p Share of the work left (a fifth before Chen's starts, so
  /// that they keep the rest when it does not fit: transformer-19983 at
  /// 60%), and the improvement when it fits.
  void retainGreedy(double Cutoff, unsigned Share) {
    uint64_t StopAt = std::numeric_limits<uint64_t>::max();
    if (O.Work)
      StopAt = O.Work->used() + O.Work->left() / Share;
    Policy = KeepPolicy();
    Policy.Keep = BitVector(G.size(), true);
    Policy.Eager = BitVector(G.size(), false);
    Policy.RetainRecomputed = true;
    KeepSetPlan Cur = eval(Policy);
    consider(Cur);
    greedy(Cur, Cutoff, StopAt);
    if (Cur.PeakBytes <= O.BudgetBytes && !stopped())
      improve();
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
      if (Best && stopped())
        break;
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

  /// On big graphs, far above the budget: drops at once the kept tensors
  /// resident at the peak with the most bytes per recompute time, enough
  /// for a quarter of the excess (half cost transformers of 5,000+ nodes at
  /// 80% 4.8 points), and takes the step when the measured peak falls. One
  /// evaluation instead of TriesPerStep per tensor dropped: at 10,000 nodes the
  /// one-at-a-time greedy alone spent minutes.
  std::optional<KeepSetPlan> batchStep(const KeepSetPlan &Cur) {
    if (Thorough)
      return std::nullopt;
    BitVector AtPeak = Candidates;
    AtPeak &= Policy.Keep;
    AtPeak &= Cur.ResidentAtPeak;
    SmallVector<std::pair<double, unsigned>, 64> Scored;
    for (unsigned V : AtPeak.set_bits())
      Scored.push_back(
          {-double(G.Nodes[V].Bytes) / (recomputeEstimate(V) + 1e-9), V});
    std::sort(Scored.begin(), Scored.end());
    uint64_t Quarter = (Cur.PeakBytes - O.BudgetBytes) / 4, Sum = 0;
    KeepPolicy Trial = Policy;
    unsigned Count = 0;
    for (auto [Score, V] : Scored) {
      if (Sum >= Quarter)
        break;
      Trial.Keep.reset(V);
      Sum += G.Nodes[V].Bytes;
      ++Count;
    }
    if (Count < MinBatch)
      return std::nullopt;
    KeepSetPlan P = eval(Trial);
    if (P.PeakBytes >= Cur.PeakBytes)
      return std::nullopt;
    return P;
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
    LO.Work = O.Work;
    LocalSearchResult L = improveKeepSetLocally(G, R.MinPeak, LO);
    R.Evaluations += L.Evaluations;
    consider(L.Best);
    if (!R.Found || stopped())
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
    std::optional<KeepWindows> Windows;
    auto MayKeep = [&](unsigned V) {
      if (!Windows) {
        Windows.emplace(G, Cur);
        if (O.Work)
          O.Work->charge(Windows->Work);
      }
      return Windows->mayKeep(V, O.BudgetBytes);
    };
    // Tries keeping \p Trial's tensors; adopts it when it fits and is faster.
    auto Adopt = [&](KeepPolicy Trial) {
      KeepSetPlan P = eval(Trial);
      if (P.PeakBytes > O.BudgetBytes || P.Time >= Cur.Time)
        return false;
      Policy = std::move(Trial);
      Cur = std::move(P);
      Windows.reset();
      return true;
    };
    for (uint64_t Spent = 0, Round = 0; Spent < Budget; ++Round) {
      bool Changed = false;
      // On big graphs the next KeepBlock tensors are tried together first,
      // one at a time only when the block fails (transformer-9993 at 60%:
      // most single keeps succeed there, and the pass needed 3 times the
      // 10 s budget).
      size_t SinglesUntil = 0;
      for (size_t I = 0; I != Dropped.size(); ++I) {
        unsigned V = Dropped[I].second;
        if (Policy.Keep.test(V) || Spent >= Budget || stopped())
          continue;
        if (!MayKeep(V)) {
          ++Spent;
          continue;
        }
        if (!Thorough && Round == 0 && I >= SinglesUntil) {
          KeepPolicy Trial = Policy;
          unsigned InBlock = 0;
          size_t J = I;
          for (; J != Dropped.size() && InBlock != KeepBlock; ++J) {
            unsigned W = Dropped[J].second;
            if (!Policy.Keep.test(W) && MayKeep(W)) {
              Trial.Keep.set(W);
              ++InBlock;
            }
          }
          if (InBlock > 1) {
            ++Spent;
            if (Adopt(std::move(Trial))) {
              Changed = true;
              I = J - 1;
              continue;
            }
            SinglesUntil = J;
          }
        }
        ++Spent;
        KeepPolicy Trial = Policy;
        Trial.Keep.set(V);
        Changed |= Adopt(std::move(Trial));
      }
      if (!Changed)
        break;
    }
    consider(Cur);
    if (Cur.PeakBytes <= O.BudgetBytes && O.LocalSearchWork) {
      LocalSearchOptions LO;
      LO.BudgetBytes = O.BudgetBytes;
      LO.WorkLimit = O.LocalSearchWork;
      LO.Work = O.Work;
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

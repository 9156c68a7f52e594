//===- planner/Frontier.cpp - The budget -> time Pareto curve -------------===//

#include "planner/Frontier.h"

#include "planner/ChainDP.h"
#include "planner/ChainStrategies.h"
#include "planner/Errors.h"
#include "planner/GraphPlanner.h"
#include "planner/Simulator.h"
#include "planner/Strategy.h"

#include <algorithm>
#include <set>

using namespace llvm;

namespace remat {

size_t kneeIndex(ArrayRef<FrontierPoint> P) {
  if (P.size() < 3)
    return 0;
  double X0 = double(P.front().BudgetBytes), X1 = double(P.back().BudgetBytes);
  double Y0 = P.back().Time, Y1 = P.front().Time;
  if (X1 <= X0 || Y1 <= Y0)
    return 0;
  // Scaled, the chord runs from (0, 1) to (1, 0); the distance of (x, y)
  // below it is (1 - x - y) / sqrt(2), so maximise 1 - x - y.
  size_t Best = 0;
  double BestD = -1;
  for (size_t K = 0; K < P.size(); ++K) {
    double X = (double(P[K].BudgetBytes) - X0) / (X1 - X0);
    double Y = (P[K].Time - Y0) / (Y1 - Y0);
    double D = 1 - X - Y;
    if (D > BestD) {
      BestD = D;
      Best = K;
    }
  }
  return Best;
}

/// The classic strategies with a few parameters each, as (label, options).
static std::vector<std::pair<std::string, StrategyOptions>>
classicStrategies(const Chain &C) {
  std::vector<std::pair<std::string, StrategyOptions>> Out;
  auto Add = [&](std::string Label, StrategyOptions O) {
    Out.emplace_back(std::move(Label), std::move(O));
  };
  StrategyOptions O;
  O.Name = "none";
  Add("none", O);
  O.Name = "sqrt";
  Add("sqrt", O);
  for (unsigned N : {2u, 4u, 8u})
    if (N <= C.size()) {
      StrategyOptions S;
      S.Name = "sequential";
      S.Segments = N;
      Add("sequential --segments " + std::to_string(N), S);
    }
  O.Name = "chen";
  Add("chen", O);
  for (unsigned S : {2u, 4u, 8u}) {
    StrategyOptions R;
    R.Name = "revolve";
    R.Slots = S;
    Add("revolve --slots " + std::to_string(S), R);
  }
  std::set<std::string> Kinds;
  for (const Stage &S : C.Stages)
    if (!S.Kind.empty())
      Kinds.insert(S.Kind);
  for (const std::string &K : Kinds) {
    StrategyOptions S;
    S.Name = "selective";
    S.Kinds = {K};
    Add("selective --kinds " + K, S);
  }
  return Out;
}

// Hook for graph models: the graph planner's owner replaces this with a
// sweep of its own planner. Until then the command reports it plainly.
/// Budgets sampled for a graph frontier, evenly between the least feasible
/// budget and the store-everything peak.
constexpr unsigned GraphFrontierSamples = 24;

/// Keeps the points where time strictly falls as the budget grows.
static std::vector<FrontierPoint> paretoFilter(std::vector<FrontierPoint> P) {
  llvm::sort(P, [](const FrontierPoint &A, const FrontierPoint &B) {
    return A.BudgetBytes != B.BudgetBytes ? A.BudgetBytes < B.BudgetBytes
                                          : A.Time < B.Time;
  });
  std::vector<FrontierPoint> Out;
  for (const FrontierPoint &X : P)
    if (Out.empty() || X.Time < Out.back().Time)
      Out.push_back(X);
  return Out;
}

// Graphs have no exact curve in one run: the scalable planner is run at
// evenly spaced budgets and each plan contributes its own (peak, time), so
// every point is a plan that was simulated; the curve is an upper bound.
static Expected<Frontier> computeGraphFrontier(const Model &M,
                                               const FrontierOptions &Opts) {
  Frontier F;
  F.TimeUnit = M.TimeUnit;
  F.Sampled = true;
  auto Base = simulateGraph(M.G, storeAllGraphOps(M.G));
  if (!Base)
    return Base.takeError();
  F.BaselineTime = Base->Time;
  F.BaselinePeakBytes = Base->PeakBytes;
  auto Overhead = [&](double T) {
    return F.BaselineTime > 0 ? T / F.BaselineTime - 1 : 0;
  };
  uint64_t Least = F.BaselinePeakBytes;
  auto Probe = planGraphOptimal(M.G, {0, "scalable", 60});
  if (Probe)
    Least = 0;
  else
    handleAllErrors(
        Probe.takeError(),
        [&](const InfeasibleBudgetError &E) {
          Least = std::min(Least, E.MinFeasibleBytes);
        },
        [](const ErrorInfoBase &) {});
  std::vector<FrontierPoint> Raw = {{F.BaselinePeakBytes, F.BaselineTime, 0}};
  for (unsigned K = 0; K < GraphFrontierSamples; ++K) {
    uint64_t Span = F.BaselinePeakBytes - Least;
    uint64_t B =
        Least + uint64_t(double(Span) * K / (GraphFrontierSamples - 1));
    auto R = planGraphOptimal(M.G, {B, "scalable", 60});
    if (!R) {
      consumeError(R.takeError()); // below what the planner reaches
      continue;
    }
    Raw.push_back({R->PeakBytes, R->Time, Overhead(R->Time)});
  }
  F.Points = paretoFilter(std::move(Raw));
  F.Knee = kneeIndex(F.Points);
  if (!Opts.WithStrategies)
    return F;
  for (const char *Name : {"none", "recompute-all", "chen"}) {
    StrategyOptions SO;
    SO.Name = Name;
    auto S = planStrategy(M, SO);
    if (!S) {
      consumeError(S.takeError());
      continue;
    }
    F.Strategies.push_back({Name, Name, S->Predicted.PeakBytes,
                            S->Predicted.Time, Overhead(S->Predicted.Time)});
  }
  return F;
}

Expected<Frontier> computeFrontier(const Model &M,
                                   const FrontierOptions &Opts) {
  if (!M.isChain())
    return computeGraphFrontier(M, Opts);
  const Chain &C = *M.AsChain;
  Frontier F;
  F.TimeUnit = M.TimeUnit;
  auto Base = simulateChain(C, storeAllOps(C));
  if (!Base)
    return Base.takeError();
  F.BaselineTime = Base->Time;
  F.BaselinePeakBytes = Base->PeakBytes;
  F.MemorySlots = Opts.MemorySlots;
  if (Opts.AutoSlots && Opts.MemorySlots == 0 &&
      C.size() > Opts.ExactMaxStages) {
    // 2000 slots, fewer for long chains: the dense DP does up to
    // slots * L^3 / 6 updates; keep that near 4 * 10^9 (at least 100 slots).
    double Triples = double(C.size()) * C.size() * C.size() / 6;
    F.MemorySlots = unsigned(std::clamp(4e9 / Triples, 100.0, 2000.0));
  }
  auto Overhead = [&](double T) {
    return F.BaselineTime > 0 ? T / F.BaselineTime - 1 : 0;
  };
  if (Error E = checkChainFrontierMemory(C, F.MemorySlots))
    return E;
  for (const ChainFrontierPoint &P : optimalChainFrontier(C, F.MemorySlots))
    F.Points.push_back({P.BudgetBytes, P.Time, Overhead(P.Time)});
  F.Knee = kneeIndex(F.Points);
  if (!Opts.WithStrategies)
    return F;
  for (auto &[Label, SO] : classicStrategies(C)) {
    auto S = planStrategy(M, SO);
    if (!S) {
      consumeError(S.takeError()); // not applicable to this model
      continue;
    }
    F.Strategies.push_back({Label, SO.Name, S->Predicted.PeakBytes,
                            S->Predicted.Time, Overhead(S->Predicted.Time)});
  }
  return F;
}

} // namespace remat

//===- planner/strategy/Frontier.cpp - The budget -> time Pareto curve ----===//

#include "planner/Frontier.h"

#include "planner/Baselines.h"
#include "planner/ChainDP.h"
#include "planner/Errors.h"
#include "planner/GraphPlanner.h"
#include "planner/Simulator.h"
#include "planner/Strategy.h"
#include "planner/StrategyRegistry.h"

#include <algorithm>

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

/// Budgets sampled for a graph frontier, evenly between the least feasible
/// budget and the store-everything peak.
constexpr unsigned GraphFrontierSamples = 24;

/// The strategies' points of the frontier sweep (planner/Strategies.def),
/// each planned at its own parameters; those that do not apply to the model
/// are left out.
template <typename OverheadFn>
static void addStrategyPoints(const Model &M, const SweepRequest &R,
                              OverheadFn Overhead, Frontier &F) {
  for (const SweepPoint &P : sweepStrategies(R)) {
    auto S = planStrategy(M, P.Opts);
    if (!S) {
      consumeError(S.takeError());
      continue;
    }
    F.Strategies.push_back({P.Label, P.Opts.Name, S->Predicted.PeakBytes,
                            S->Predicted.Time, Overhead(S->Predicted.Time)});
  }
}

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
  auto Probe =
      planGraphOptimal(M.G, {0, GraphMode::Scalable, DefaultTimeLimitSeconds});
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
    auto R = planGraphOptimal(
        M.G, {B, GraphMode::Scalable, DefaultTimeLimitSeconds});
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
  addStrategyPoints(M, SweepRequest::forModel(SweepCommand::Frontier, M),
                    Overhead, F);
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
  addStrategyPoints(M, SweepRequest::forModel(SweepCommand::Frontier, M),
                    Overhead, F);
  return F;
}

} // namespace remat

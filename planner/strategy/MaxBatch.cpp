//===- planner/strategy/MaxBatch.cpp - The largest batch that fits --------===//

#include "planner/MaxBatch.h"

#include "graph/Errors.h"
#include "graph/Size.h"
#include "planner/Baselines.h"
#include "planner/ChainDP.h"
#include "planner/Errors.h"
#include "planner/GraphPlanner.h"
#include "planner/Simulator.h"
#include "planner/StrategyRegistry.h"

#include <fmt/format.h>

#include <functional>

using namespace llvm;

namespace remat {

static uint64_t scaleBytes(uint64_t Bytes, uint64_t FileBatch, uint64_t Batch) {
  unsigned __int128 V = (unsigned __int128)Bytes * Batch;
  V = (V + FileBatch - 1) / FileBatch;
  return V > MaxSizeBytes ? MaxSizeBytes : uint64_t(V);
}

Chain scaleChain(const Chain &C, uint64_t FileBatch, uint64_t Batch) {
  double F = double(Batch) / double(FileBatch);
  auto B = [&](uint64_t X) { return scaleBytes(X, FileBatch, Batch); };
  Chain S = C;
  S.InputBytes = B(C.InputBytes);
  for (Stage &St : S.Stages) {
    St.OutputBytes = B(St.OutputBytes);
    St.SavedBytes = B(St.SavedBytes);
    St.FwdWorkspace = B(St.FwdWorkspace);
    St.BwdWorkspace = B(St.BwdWorkspace);
    St.FwdTime *= F;
    St.BwdTime *= F;
  }
  S.Loss.BwdWorkspace = B(C.Loss.BwdWorkspace);
  S.Loss.BwdTime *= F;
  return S;
}

Graph scaleGraph(const Graph &G, uint64_t FileBatch, uint64_t Batch) {
  double F = double(Batch) / double(FileBatch);
  Graph S = G;
  for (Node &N : S.Nodes) {
    N.Bytes = scaleBytes(N.Bytes, FileBatch, Batch);
    N.Workspace = scaleBytes(N.Workspace, FileBatch, Batch);
    N.Time *= F;
  }
  return S;
}

/// The largest b in [1, Limit] with Fits(b), assuming Fits is monotone; 0
/// when Fits(1) fails.
static uint64_t largest(const std::function<bool(uint64_t)> &Fits,
                        uint64_t Limit) {
  if (!Fits(1))
    return 0;
  uint64_t Lo = 1, Hi = 2;
  while (Hi <= Limit && Fits(Hi)) {
    Lo = Hi;
    Hi *= 2;
  }
  Hi = std::min(Hi, Limit + 1);
  while (Hi - Lo > 1) {
    uint64_t Mid = Lo + (Hi - Lo) / 2;
    (Fits(Mid) ? Lo : Hi) = Mid;
  }
  return Lo;
}

/// The chain ops of a maxbatch sweep point, planned by its registry hook.
static Expected<std::vector<ChainOp>> chainPointOps(const SweepPoint &P,
                                                    const Chain &C) {
  auto Ops = findStrategy(P.Opts.Name)->PlanChain(C, P.Opts);
  if (!Ops)
    return Ops.takeError();
  return std::move(Ops->Ops);
}

/// Peak and time of a strategy's plan, or none when it has no plan.
static std::optional<SimResult> planAndSimulate(const SweepPoint &P,
                                                const Chain &C) {
  auto O = chainPointOps(P, C);
  if (!O) {
    consumeError(O.takeError());
    return std::nullopt;
  }
  auto S = simulateChain(C, *O);
  if (!S) {
    consumeError(S.takeError());
    return std::nullopt;
  }
  return std::move(*S);
}

static double storeAllTime(const Chain &C) {
  auto S = simulateChain(C, storeAllOps(C));
  return S ? S->Time : (consumeError(S.takeError()), 0.0);
}

static void strategyRows(const Chain &C, uint64_t FileBatch,
                         const MaxBatchOptions &Opts, MaxBatchResult &R) {
  SweepRequest Req;
  Req.Command = SweepCommand::MaxBatch;
  Req.C = &C;
  Req.BudgetBytes = R.BudgetBytes;
  for (const SweepPoint &Cand : sweepStrategies(Req)) {
    auto Fits = [&](uint64_t B) {
      auto S = planAndSimulate(Cand, scaleChain(C, FileBatch, B));
      return S && S->PeakBytes <= R.BudgetBytes;
    };
    MaxBatchRow Row{Cand.Label, Cand.Opts.Name, largest(Fits, Opts.BatchLimit),
                    0, 0};
    if (Row.MaxBatch) {
      Chain S = scaleChain(C, FileBatch, Row.MaxBatch);
      if (auto Sim = planAndSimulate(Cand, S)) {
        Row.PeakBytes = Sim->PeakBytes;
        double Base = storeAllTime(S);
        Row.Overhead = Base > 0 ? Sim->Time / Base - 1 : 0;
      }
    }
    if (Cand.Opts.Name == "none") {
      R.StandardBatch = Row.MaxBatch;
      R.StandardPeakBytes = Row.PeakBytes;
    }
    R.Rows.push_back(std::move(Row));
  }
}

/// Overhead of the optimal plan at batch \p B within the budget, read off
/// the frontier at the file's batch with budgets scaled by FileBatch / B
/// (exact up to the rounding of scaled sizes to whole bytes).
static double frontierOverhead(const std::vector<ChainFrontierPoint> &F,
                               double Base, uint64_t Budget, uint64_t FileBatch,
                               uint64_t B) {
  double Scaled = double(Budget) * double(FileBatch) / double(B);
  double T = F.empty() ? 0 : F.front().Time;
  for (const ChainFrontierPoint &P : F)
    if (double(P.BudgetBytes) <= Scaled)
      T = P.Time;
  return Base > 0 ? T / Base - 1 : 0;
}

/// The frontier is exact for short chains, else discretised.
static unsigned optimalRowsSlots(const Chain &C) {
  return C.size() <= 40 ? 0 : 300;
}

static void optimalRows(const Chain &C, uint64_t FileBatch,
                        const MaxBatchOptions &Opts, MaxBatchResult &R) {
  auto Fits = [&](uint64_t B) {
    return minFeasibleChainBudget(scaleChain(C, FileBatch, B)) <= R.BudgetBytes;
  };
  uint64_t Max = largest(Fits, Opts.BatchLimit);
  R.CheckpointedBatch = Max;
  // The frontier is exact for short chains, else discretised (an upper
  // bound on time, so the caps stay safe).
  std::vector<ChainFrontierPoint> F =
      optimalChainFrontier(C, optimalRowsSlots(C));
  double Base = storeAllTime(C);
  MaxBatchRow Row{"optimal", "optimal", Max, 0, 0};
  if (Max) {
    Row.PeakBytes = minFeasibleChainBudget(scaleChain(C, FileBatch, Max));
    Row.Overhead = frontierOverhead(F, Base, R.BudgetBytes, FileBatch, Max);
  }
  R.Rows.push_back(Row);
  for (double Cap : Opts.OverheadCaps) {
    // Least file-batch budget whose optimal overhead is within the cap;
    // budgets scale with the batch, so batch b needs b / FileBatch of it.
    std::optional<uint64_t> Need;
    for (const ChainFrontierPoint &P : F)
      if (Base > 0 && P.Time <= (1 + Cap) * Base) {
        Need = P.BudgetBytes;
        break;
      }
    MaxBatchRow CapRow{fmt::format("optimal, overhead <= {:.0f}%", Cap * 100),
                       "optimal", 0, 0, 0};
    if (Need && *Need > 0) {
      unsigned __int128 B =
          (unsigned __int128)R.BudgetBytes * FileBatch / *Need;
      uint64_t Batch = std::min<uint64_t>(
          std::min<uint64_t>(
              uint64_t(std::min<unsigned __int128>(B, Opts.BatchLimit)), Max),
          Opts.BatchLimit);
      CapRow.MaxBatch = Batch;
      if (Batch) {
        CapRow.PeakBytes =
            scaleBytes(*Need, FileBatch, Batch); // the scaled budget used
        CapRow.Overhead =
            frontierOverhead(F, Base, R.BudgetBytes, FileBatch, Batch);
      }
    }
    R.Rows.push_back(CapRow);
  }
  if (R.StandardBatch)
    R.OptimalPeakAtStandard =
        minFeasibleChainBudget(scaleChain(C, FileBatch, R.StandardBatch));
}

/// Peak and time of graph ops, or none when the strategy has no plan.
static std::optional<SimResult>
simulateGraphPlan(const Graph &G, Expected<std::vector<GraphOp>> Ops) {
  if (!Ops) {
    consumeError(Ops.takeError());
    return std::nullopt;
  }
  auto S = simulateGraph(G, *Ops);
  if (!S) {
    consumeError(S.takeError());
    return std::nullopt;
  }
  return std::move(*S);
}

/// The graph ops of a maxbatch sweep point, planned by its registry hook
/// (optimal runs in scalable mode; see sweepOptimal).
static Expected<std::vector<GraphOp>> graphPointOps(const SweepPoint &P,
                                                    const Graph &G) {
  auto Ops = findStrategy(P.Opts.Name)->PlanGraph(G, P.Opts);
  if (!Ops)
    return Ops.takeError();
  return std::move(Ops->Ops);
}

/// One row of the graph table: the largest batch whose plan fits and, when
/// \p Cap is set, whose overhead stays within it (assumed monotone in the
/// batch, as the budget shrinks relative to the activations).
static MaxBatchRow graphRow(const Graph &G, const SweepPoint &Cand,
                            std::optional<double> Cap, uint64_t FileBatch,
                            uint64_t Budget, uint64_t Limit) {
  auto Eval = [&](uint64_t B) -> std::optional<std::pair<SimResult, double>> {
    Graph S = scaleGraph(G, FileBatch, B);
    auto Sim = simulateGraphPlan(S, graphPointOps(Cand, S));
    if (!Sim || Sim->PeakBytes > Budget)
      return std::nullopt;
    auto Base = simulateGraphPlan(S, storeAllGraphOps(S));
    double Over = Base && Base->Time > 0 ? Sim->Time / Base->Time - 1 : 0;
    if (Cap && Over > *Cap + 1e-12)
      return std::nullopt;
    return std::make_pair(std::move(*Sim), Over);
  };
  std::string Label = Cand.Label;
  if (Cap)
    Label += fmt::format(", overhead <= {:.0f}%", *Cap * 100);
  MaxBatchRow Row{Label, Cand.Label,
                  largest([&](uint64_t B) { return bool(Eval(B)); }, Limit), 0,
                  0};
  if (Row.MaxBatch)
    if (auto E = Eval(Row.MaxBatch)) {
      Row.PeakBytes = E->first.PeakBytes;
      Row.Overhead = E->second;
    }
  return Row;
}

/// The least budget the scalable planner finds a plan for at \p Batch.
static uint64_t graphLeastBudget(const Graph &G, uint64_t FileBatch,
                                 uint64_t Batch, double TimeLimit) {
  GraphPlanOptions O;
  O.BudgetBytes = 0;
  O.Mode = GraphMode::Scalable;
  O.TimeLimitSeconds = TimeLimit;
  auto R = planGraphOptimal(scaleGraph(G, FileBatch, Batch), O);
  if (R)
    return R->PeakBytes;
  uint64_t Least = 0;
  handleAllErrors(
      R.takeError(),
      [&](const InfeasibleBudgetError &E) { Least = E.MinFeasibleBytes; },
      [](const ErrorInfoBase &) {});
  return Least;
}

static void graphRows(const Graph &G, uint64_t FileBatch,
                      const MaxBatchOptions &Opts, MaxBatchResult &R) {
  SweepRequest Req;
  Req.Command = SweepCommand::MaxBatch;
  Req.G = &G;
  Req.BudgetBytes = R.BudgetBytes;
  Req.TimeLimitSeconds = Opts.TimeLimitSeconds;
  for (const SweepPoint &Cand : sweepStrategies(Req)) {
    R.Rows.push_back(graphRow(G, Cand, std::nullopt, FileBatch, R.BudgetBytes,
                              Opts.BatchLimit));
    if (Cand.Label == "none") {
      R.StandardBatch = R.Rows.back().MaxBatch;
      R.StandardPeakBytes = R.Rows.back().PeakBytes;
    }
    if (Cand.Label != "optimal")
      continue;
    R.CheckpointedBatch = R.Rows.back().MaxBatch;
    for (double Cap : Opts.OverheadCaps)
      R.Rows.push_back(
          graphRow(G, Cand, Cap, FileBatch, R.BudgetBytes, Opts.BatchLimit));
  }
  if (R.StandardBatch)
    R.OptimalPeakAtStandard =
        graphLeastBudget(G, FileBatch, R.StandardBatch, Opts.TimeLimitSeconds);
}

Expected<MaxBatchResult> computeMaxBatch(const Model &M,
                                         const MaxBatchOptions &Opts) {
  MaxBatchResult R;
  R.BatchDeclared = M.BatchSize > 0;
  R.FileBatch = R.BatchDeclared ? M.BatchSize : 1;
  R.StaticBytes = M.Static.total();
  if (Opts.DeviceMemoryBytes < R.StaticBytes)
    return badInput("--device-memory {} is below the model's static bytes {} "
                    "(parameters, gradients, optimizer); for another training "
                    "set-up give --static-bytes, or --parameters with "
                    "--optimizer, --zero ...",
                    formatSize(Opts.DeviceMemoryBytes),
                    formatSize(R.StaticBytes));
  R.BudgetBytes = Opts.DeviceMemoryBytes - R.StaticBytes;
  R.BatchLimit = Opts.BatchLimit;
  if (M.isChain()) {
    const Chain &C = *M.AsChain;
    if (Error E = checkChainFrontierMemory(C, optimalRowsSlots(C)))
      return E;
    strategyRows(C, R.FileBatch, Opts, R);
    optimalRows(C, R.FileBatch, Opts, R);
  } else {
    graphRows(M.G, R.FileBatch, Opts, R);
  }
  return R;
}

} // namespace remat

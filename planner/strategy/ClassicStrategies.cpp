//===- planner/strategy/ClassicStrategies.cpp - Classic hooks -------------===//
//
// The hooks planner/Strategies.def names for the strategies that plan
// without searching (none, sequential, every, sqrt, selective,
// recompute-all, revolve) and for chen: each hook checks its parameter and
// calls the strategy's ops function; each sweep lists the grid that
// compare, frontier and maxbatch plan (docs/strategies.md, "compare").
//
//===----------------------------------------------------------------------===//

#include "graph/Errors.h"
#include "planner/Baselines.h"
#include "planner/ChainStrategies.h"
#include "planner/Errors.h"
#include "planner/GraphPlanner.h"
#include "planner/Revolve.h"
#include "planner/StrategyRegistry.h"

#include "llvm/ADT/StringSet.h"

#include <fmt/format.h>

#include <set>

using namespace llvm;

namespace remat {

/// One sweep point called \p Label planning \p Name with \p Set applied.
template <typename SetFn>
static void addPoint(std::vector<SweepPoint> &Out, std::string Label,
                     const char *Name, SetFn Set) {
  SweepPoint P{std::move(Label), {}};
  P.Opts.Name = Name;
  Set(P.Opts);
  Out.push_back(std::move(P));
}

static void addPoint(std::vector<SweepPoint> &Out, const char *Name) {
  addPoint(Out, Name, Name, [](StrategyOptions &) {});
}

static unsigned ceilSqrt(unsigned L) {
  unsigned K = 1;
  while (K * K < L)
    ++K;
  return K;
}

/// frontier and maxbatch try 2, 4 and 8 for the classic counts.
static constexpr unsigned ClassicCounts[] = {2, 4, 8};

Expected<PlannedOps<ChainOp>> planChainNone(const Chain &C,
                                            const StrategyOptions &) {
  return PlannedOps<ChainOp>(storeAllOps(C));
}

Expected<PlannedOps<GraphOp>> planGraphNone(const Graph &G,
                                            const StrategyOptions &) {
  return PlannedOps<GraphOp>(storeAllGraphOps(G));
}

void sweepNone(const SweepRequest &, std::vector<SweepPoint> &Out) {
  addPoint(Out, "none");
}

Expected<PlannedOps<ChainOp>> planChainSequential(const Chain &C,
                                                  const StrategyOptions &O) {
  if (O.Segments == 0)
    return badInput("strategy 'sequential' needs --segments N (N >= 1)");
  auto Ops = sequentialOps(C, O.Segments);
  if (!Ops)
    return Ops.takeError();
  return PlannedOps<ChainOp>(std::move(*Ops));
}

void sweepSequential(const SweepRequest &R, std::vector<SweepPoint> &Out) {
  auto Add = [&](unsigned N) {
    addPoint(Out, fmt::format("sequential --segments {}", N), "sequential",
             [N](StrategyOptions &O) { O.Segments = N; });
  };
  if (R.Command == SweepCommand::Compare) {
    Add(ceilSqrt(std::max(R.C->size(), 1u)));
    return;
  }
  for (unsigned N : ClassicCounts)
    if (N <= R.C->size())
      Add(N);
}

Expected<PlannedOps<ChainOp>> planChainEvery(const Chain &C,
                                             const StrategyOptions &O) {
  if (O.K == 0)
    return badInput("strategy 'every' needs --k K (K >= 1)");
  auto Ops = everyOps(C, O.K);
  if (!Ops)
    return Ops.takeError();
  return PlannedOps<ChainOp>(std::move(*Ops));
}

void sweepEvery(const SweepRequest &R, std::vector<SweepPoint> &Out) {
  // compare shows K = 2; maxbatch K = 1, every stage's input checkpointed
  // and its forward recomputed once: what a trainer's per-layer
  // checkpointing does (HF, PyTorch per block).
  unsigned K = R.Command == SweepCommand::MaxBatch ? 1 : 2;
  addPoint(Out, fmt::format("every --k {}", K), "every",
           [K](StrategyOptions &O) { O.K = K; });
}

Expected<PlannedOps<ChainOp>> planChainSqrt(const Chain &C,
                                            const StrategyOptions &) {
  return PlannedOps<ChainOp>(sqrtOps(C));
}

void sweepSqrt(const SweepRequest &, std::vector<SweepPoint> &Out) {
  addPoint(Out, "sqrt");
}

Expected<PlannedOps<ChainOp>> planChainSelective(const Chain &C,
                                                 const StrategyOptions &O) {
  if (O.Kinds.empty())
    return badInput("strategy 'selective' needs --kinds a,b,...");
  auto Ops = selectiveOps(C, O.Kinds);
  if (!Ops)
    return Ops.takeError();
  return PlannedOps<ChainOp>(std::move(*Ops));
}

void sweepSelective(const SweepRequest &R, std::vector<SweepPoint> &Out) {
  // One point per stage kind: compare lists them as the file first names
  // them, frontier and maxbatch sorted.
  std::vector<std::string> Kinds;
  if (R.Command == SweepCommand::Compare) {
    StringSet<> Seen;
    for (const Stage &S : R.C->Stages)
      if (!S.Kind.empty() && Seen.insert(S.Kind).second)
        Kinds.push_back(S.Kind);
  } else {
    std::set<std::string> Sorted;
    for (const Stage &S : R.C->Stages)
      if (!S.Kind.empty())
        Sorted.insert(S.Kind);
    Kinds.assign(Sorted.begin(), Sorted.end());
  }
  for (const std::string &K : Kinds)
    addPoint(Out, "selective --kinds " + K, "selective",
             [&K](StrategyOptions &O) { O.Kinds = {K}; });
}

Expected<PlannedOps<GraphOp>> planGraphRecomputeAll(const Graph &G,
                                                    const StrategyOptions &O) {
  auto Ops = graphBaselineOps(G, "recompute-all", O.BudgetBytes);
  if (!Ops)
    return Ops.takeError();
  return PlannedOps<GraphOp>(std::move(*Ops));
}

void sweepRecomputeAll(const SweepRequest &, std::vector<SweepPoint> &Out) {
  addPoint(Out, "recompute-all");
}

Expected<PlannedOps<ChainOp>> planChainChen(const Chain &C,
                                            const StrategyOptions &O) {
  auto Ops = chenOps(C, O.BudgetBytes);
  if (!Ops)
    return Ops.takeError();
  return PlannedOps<ChainOp>(std::move(*Ops));
}

Expected<PlannedOps<GraphOp>> planGraphChen(const Graph &G,
                                            const StrategyOptions &O) {
  auto Ops = graphBaselineOps(G, "chen", O.BudgetBytes);
  if (!Ops)
    return Ops.takeError();
  return PlannedOps<GraphOp>(std::move(*Ops));
}

void sweepChen(const SweepRequest &R, std::vector<SweepPoint> &Out) {
  // Under the command's budget, except on the frontier, which plots the
  // strategy's own least-peak plan.
  std::optional<uint64_t> Budget;
  if (R.Command != SweepCommand::Frontier)
    Budget = R.BudgetBytes;
  addPoint(Out, "chen", "chen",
           [Budget](StrategyOptions &O) { O.BudgetBytes = Budget; });
}

Expected<PlannedOps<ChainOp>> planChainRevolve(const Chain &C,
                                               const StrategyOptions &O) {
  if (O.Slots == 0)
    return badInput("strategy 'revolve' needs --slots S (S >= 1)");
  auto Ops = revolveOps(C, O.Slots);
  if (!Ops)
    return Ops.takeError();
  return PlannedOps<ChainOp>(std::move(*Ops));
}

void sweepRevolve(const SweepRequest &R, std::vector<SweepPoint> &Out) {
  std::set<unsigned> Slots(std::begin(ClassicCounts), std::end(ClassicCounts));
  if (R.Command == SweepCommand::Compare) {
    // 2, ceil(log2 L) + 1 and ceil(sqrt L) slots.
    unsigned L = std::max(R.C->size(), 1u), Log = 1;
    while ((1u << (Log - 1)) < L)
      ++Log;
    Slots = {2, Log, ceilSqrt(L)};
  }
  for (unsigned S : Slots)
    addPoint(Out, fmt::format("revolve --slots {}", S), "revolve",
             [S](StrategyOptions &O) { O.Slots = S; });
}

} // namespace remat

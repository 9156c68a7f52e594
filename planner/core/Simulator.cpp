//===- planner/core/Simulator.cpp - The one simulator every plan passes ---===//
//
// Chain semantics follow spec §3a (rotor's, with the x_L fix), graph
// semantics spec §3b. The residency rules, those the spec leaves open
// included (docs/simulator.md: computing a tensor that is already resident
// is invalid, as it would double-count memory, and the loss runs at most
// once), live in the replay engines planner/ChainReplay.h and
// planner/GraphReplay.h; this file counts bytes and time over them.
//
//===----------------------------------------------------------------------===//

#include "planner/Simulator.h"
#include "graph/Errors.h"

#include "planner/Baselines.h"
#include "planner/ChainReplay.h"
#include "planner/Errors.h"
#include "planner/GraphReplay.h"
#include "planner/Overloaded.h"

#include <fmt/format.h>

using namespace llvm;

namespace remat {

static Error invalid(const std::string &Msg) {
  return make_error<InvalidScheduleError>(Msg);
}

Expected<SimResult> simulateChain(const Chain &C, ArrayRef<ChainOp> Ops,
                                  const SimOptions &Opts) {
  SimResult R;
  ChainReplay Replay(C.size());
  uint64_t Bytes = C.InputBytes;
  double Time = 0;
  R.PeakBytes = Bytes;
  if (Opts.RecordTimeline)
    R.Timeline.reserve(Ops.size());
  for (size_t Index = 0; Index < Ops.size(); ++Index) {
    const ChainOp &Op = Ops[Index];
    uint64_t FreedBytes = 0;
    ChainStep St = Replay.step(
        Op, [&](ChainTensor T) { FreedBytes += chainFreedBytes(C, T); });
    if (!St.ok())
      return invalid(chainOpLabel(Index, Op) + ": " +
                     chainFaultText(St, C.size()));
    // A loss that frees its input does so before it makes y_L.
    uint64_t AfterAdd =
        Bytes + chainTensorBytes(C, St.Output) - chainEarlyFreed(C, Op);
    uint64_t Peak = AfterAdd + chainOpWorkspace(C, Op);
    Time += chainOpTime(C, Op);
    R.ForwardOps += Op.isForward();
    Bytes = AfterAdd + chainEarlyFreed(C, Op) - FreedBytes -
            chainShareFreed(C, Replay, Op);
    if (Peak > R.PeakBytes) {
      R.PeakBytes = Peak;
      R.PeakOpIndex = Index;
    }
    if (Opts.RecordTimeline)
      R.Timeline.push_back({AfterAdd, Peak, Bytes, Time});
  }
  if (Opts.RequireComplete && !Replay.y0Produced())
    return invalid("schedule is incomplete: y_0 was never produced");
  R.Time = Time;
  R.ForwardRecomputations =
      R.ForwardOps > C.size() ? R.ForwardOps - C.size() : 0;
  return R;
}

Expected<SimResult> simulateGraph(const Graph &G, ArrayRef<GraphOp> Ops,
                                  const SimOptions &Opts) {
  SimResult R;
  R.PeakBytes = 0;
  GraphReplay Replay(G);
  uint64_t Bytes = 0;
  double Time = 0;
  if (Opts.RecordTimeline)
    R.Timeline.reserve(Ops.size());
  for (size_t Index = 0; Index < Ops.size(); ++Index) {
    const GraphOp &Op = Ops[Index];
    GraphStep St = Replay.step(Op);
    if (!St.ok())
      return invalid(graphFaultText(Index, Op, St, G));
    const Node &N = G.Nodes[Op.Node];
    uint64_t AfterAdd = Bytes, Peak = Bytes;
    if (Op.Kind == GraphOpKind::Compute) {
      Bytes += N.Bytes;
      AfterAdd = Bytes;
      Peak = Bytes + N.Workspace;
      Time += N.Time;
      if (N.NodePhase == Phase::Forward)
        ++R.ForwardOps;
    } else {
      Bytes -= N.Bytes;
    }
    if (Peak > R.PeakBytes) {
      R.PeakBytes = Peak;
      R.PeakOpIndex = Index;
    }
    if (Opts.RecordTimeline)
      R.Timeline.push_back({AfterAdd, Peak, Bytes, Time});
  }
  if (Opts.RequireComplete)
    if (std::optional<unsigned> Missing = Replay.firstNeverComputed())
      return invalid("schedule is incomplete: node " + G.Nodes[*Missing].Name +
                     " was never computed");
  uint64_t ForwardNodes = 0;
  for (const Node &N : G.Nodes)
    ForwardNodes += N.NodePhase == Phase::Forward;
  R.Time = Time;
  R.ForwardRecomputations =
      R.ForwardOps > ForwardNodes ? R.ForwardOps - ForwardNodes : 0;
  return R;
}

Expected<SimResult> simulate(const Model &M, const Schedule &S,
                             const SimOptions &Opts) {
  return std::visit(
      Overloaded{[&](const std::vector<GraphOp> &Ops) -> Expected<SimResult> {
                   return simulateGraph(M.G, Ops, Opts);
                 },
                 [&](const std::vector<ChainOp> &Ops) -> Expected<SimResult> {
                   if (!M.isChain())
                     return badInput("the schedule uses the chain dialect but "
                                     "model {} is a graph",
                                     M.Path);
                   return simulateChain(*M.AsChain, Ops, Opts);
                 }},
      S.Ops);
}

Expected<Prediction> predict(const Model &M, Dialect D, const SimResult &Plan) {
  if (D == Dialect::Chain && !M.isChain())
    return badInput("a chain plan has no baseline on graph model {}", M.Path);
  Expected<SimResult> Base =
      D == Dialect::Chain ? simulateChain(*M.AsChain, storeAllOps(*M.AsChain))
                          : simulateGraph(M.G, storeAllGraphOps(M.G));
  if (!Base)
    return Base.takeError();
  Prediction P;
  P.PeakBytes = Plan.PeakBytes;
  P.Time = Plan.Time;
  P.BaselineTime = Base->Time;
  P.BaselinePeakBytes = Base->PeakBytes;
  P.Overhead = Base->Time > 0 ? Plan.Time / Base->Time - 1 : 0;
  P.ForwardRecomputations = Plan.ForwardRecomputations;
  return P;
}

Expected<Prediction> predict(const Model &M, const Schedule &S) {
  auto R = simulate(M, S);
  if (!R)
    return R.takeError();
  return predict(M, S.dialect(), *R);
}

/// Fills everything but the ops from the plan's run, in dialect \p D.
static Expected<Schedule> finish(const Model &M, StringRef Strategy,
                                 std::optional<uint64_t> Budget, Dialect D,
                                 Expected<SimResult> Plan) {
  if (!Plan)
    return badInput("internal error: strategy '{}' produced an invalid "
                    "schedule: {}",
                    Strategy.str(), toString(Plan.takeError()));
  auto P = predict(M, D, *Plan);
  if (!P)
    return P.takeError();
  if (Budget && Plan->PeakBytes > *Budget)
    return badInput(
        "internal error: strategy '{}' produced a plan with peak {} bytes "
        "over its budget of {} bytes",
        Strategy.str(), Plan->PeakBytes, *Budget);
  Schedule S;
  S.ModelName = M.Name;
  S.ModelSha256 = M.Sha256;
  S.Strategy = Strategy.str();
  S.BudgetBytes = Budget;
  S.Predicted = *P;
  return S;
}

Expected<Schedule> finalizeChainSchedule(const Model &M, StringRef Strategy,
                                         std::optional<uint64_t> BudgetBytes,
                                         std::vector<ChainOp> Ops) {
  if (!M.isChain())
    return badInput("strategy '{}' made chain ops for graph model {}",
                    Strategy.str(), M.Path);
  const Chain &C = *M.AsChain;
  auto S =
      finish(M, Strategy, BudgetBytes, Dialect::Chain, simulateChain(C, Ops));
  if (!S)
    return S.takeError();
  S->Ops = std::move(Ops);
  for (const Stage &St : C.Stages)
    S->Names.push_back(St.Name);
  return S;
}

Expected<Schedule> finalizeGraphSchedule(const Model &M, StringRef Strategy,
                                         std::optional<uint64_t> BudgetBytes,
                                         std::vector<GraphOp> Ops) {
  auto S =
      finish(M, Strategy, BudgetBytes, Dialect::Graph, simulateGraph(M.G, Ops));
  if (!S)
    return S.takeError();
  S->Ops = std::move(Ops);
  for (const Node &N : M.G.Nodes)
    S->Names.push_back(N.Name);
  return S;
}

} // namespace remat

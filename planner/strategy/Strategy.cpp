//===- planner/strategy/Strategy.cpp - Strategy names and dispatch --------===//
//
// planStrategy finds the strategy in the registry (planner/Strategies.def),
// calls its hook and re-simulates the ops. The hooks of `optimal` live here:
// the persistent chain DP with the search over every schedule of short
// chains, and the graph planners; the classics' hooks are in
// planner/strategy/ClassicStrategies.cpp.
//
//===----------------------------------------------------------------------===//

#include "planner/Strategy.h"

#include "graph/Errors.h"
#include "planner/ChainDP.h"
#include "planner/ChainExhaustive.h"
#include "planner/Errors.h"
#include "planner/GraphPlanner.h"
#include "planner/Simulator.h"
#include "planner/StrategyRegistry.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

using namespace llvm;

namespace remat {

bool strategyNeedsBudget(StringRef Name) {
  const StrategyInfo *S = findStrategy(Name);
  return S && S->Budget == BudgetUse::Required;
}

std::vector<std::string> applicableStrategies(const Model &M) {
  std::vector<std::string> Out;
  for (const StrategyInfo &S : allStrategies())
    if (M.isChain() ? S.plansChains() : S.plansGraphs())
      Out.push_back(S.Name);
  return Out;
}

/// The classes a chain result is optimal or bounded in, worded to follow
/// "optimal" (OptimalityReport::Class), with their JSON keys.
static const char *const AllSchedules = "over all schedules";
static const char *const PersistentSchedules =
    "among persistent schedules (rotor's class)";

static Error internalError(const Twine &Msg) {
  return make_error<InternalError>(Msg.str());
}

/// What the persistent DP proves: optimality, or a gap bound, within its
/// class.
static OptimalityReport chainReport(const ChainDPResult &R,
                                    unsigned AskedSlots) {
  OptimalityReport Rep;
  if (R.MemorySlots == 0)
    Rep.Method = "exact";
  else if (AskedSlots == 0 && R.SplitStride > 1)
    Rep.Method = fmt::format(
        "default mode: {} memory slots, checkpoints at one stage in {} "
        "(full DP estimated over the {:g} s promise; lower bound: the "
        "store-all time)",
        R.MemorySlots, R.SplitStride, R.PromiseSeconds);
  else if (AskedSlots == 0)
    Rep.Method = fmt::format("default mode: {} memory slots (exact estimated "
                             "over the {:g} s promise)",
                             R.MemorySlots, R.PromiseSeconds);
  else
    Rep.Method = fmt::format("{} memory slots", R.MemorySlots);
  Rep.LowerBound = R.Time - R.GapBound;
  Rep.ProvenOptimal = R.GapBound == 0;
  Rep.Class = PersistentSchedules;
  Rep.ClassKey = "persistent";
  return Rep;
}

/// The persistent DP's infeasibility, saying that its least budget is that
/// of its class; other errors pass through.
static Error persistentInfeasible(Error E) {
  return handleErrors(std::move(E), [](const InfeasibleBudgetError &IE) {
    return make_error<InfeasibleBudgetError>(
        "optimal", IE.BudgetBytes, IE.MinFeasibleBytes,
        "persistent schedules (rotor's class)");
  });
}

/// Times equal up to the rounding of summing the same op times in another
/// order.
static bool sameTime(double A, double B) {
  return std::abs(A - B) <= 1e-9 * std::max(std::abs(A), std::abs(B));
}

/// The search over every schedule finished: its optimum is proven over all
/// of them. \p DP is the persistent DP's plan (none when it found the budget
/// infeasible). The DP's plan is kept when it ties (it is persistent, and
/// the output stays what the DP alone gave); a DP plan faster than the
/// optimum over a superset of its class would be a bug.
static Expected<PlannedOps<ChainOp>>
provenOverAll(const Chain &C, uint64_t Budget, std::optional<ChainDPResult> DP,
              ChainExhaustiveResult Ex) {
  if (!Ex.Feasible) {
    if (DP)
      return internalError(fmt::format(
          "the persistent chain DP found a plan of time {} within {} bytes, "
          "where the search over every schedule found none",
          DP->Time, Budget));
    std::optional<uint64_t> Least =
        leastChainBudgetAllSchedules(C, ChainExhaustiveOptions().MaxStates);
    if (!Least)
      return persistentInfeasible(make_error<InfeasibleBudgetError>(
          "optimal", Budget, minFeasibleChainBudget(C)));
    return make_error<InfeasibleBudgetError>("optimal", Budget, *Least);
  }
  if (DP && DP->Time < Ex.Time && !sameTime(DP->Time, Ex.Time))
    return internalError(fmt::format(
        "the persistent chain DP's plan (time {}) beats the optimum over "
        "every schedule ({}) within {} bytes",
        DP->Time, Ex.Time, Budget));
  OptimalityReport Rep;
  Rep.Method = "exhaustive search";
  Rep.LowerBound = Ex.Time;
  Rep.ProvenOptimal = true;
  Rep.Class = AllSchedules;
  Rep.ClassKey = "all_schedules";
  if (DP && sameTime(DP->Time, Ex.Time))
    return PlannedOps<ChainOp>(std::move(DP->Ops), std::move(Rep));
  return PlannedOps<ChainOp>(std::move(Ex.Ops), std::move(Rep));
}

/// `optimal` on a chain: the persistent DP, and on short chains the search
/// over every schedule as well (docs/optimal-chain.md).
static Expected<PlannedOps<ChainOp>> chainOptimal(const Chain &C,
                                                  const StrategyOptions &O) {
  uint64_t Budget = *O.BudgetBytes;
  ChainDPOptions DO{Budget, O.MemorySlots};
  DO.Exact = O.ChainExact;
  Expected<ChainDPResult> R = planOptimalChain(C, DO);
  std::optional<ChainExhaustiveResult> Ex;
  if (C.size() <= ChainExhaustiveMaxStages)
    Ex = searchChainSchedules(C, {Budget});
  if (!Ex) {
    if (!R)
      return persistentInfeasible(R.takeError());
    OptimalityReport Rep = chainReport(*R, O.MemorySlots);
    return PlannedOps<ChainOp>(std::move(R->Ops), std::move(Rep));
  }
  std::optional<ChainDPResult> DP;
  if (R)
    DP = std::move(*R);
  else if (Error E = handleErrors(R.takeError(),
                                  [](const InfeasibleBudgetError &) {}))
    return E;
  return provenOverAll(C, Budget, std::move(DP), std::move(*Ex));
}

static Error needsBudget() {
  return badInput("strategy 'optimal' needs --budget SIZE or "
                  "--device-memory SIZE");
}

Expected<PlannedOps<ChainOp>> planChainOptimal(const Chain &C,
                                               const StrategyOptions &O) {
  if (!O.BudgetBytes)
    return needsBudget();
  return chainOptimal(C, O);
}

/// What a graph plan proves, and for which class; nothing is clamped: the
/// planner has already refused a bound above a plan of its class.
static OptimalityReport graphReport(const GraphPlanResult &R) {
  OptimalityReport Rep;
  Rep.Method = graphMethodName(R.ModeUsed).str();
  if (R.Class == GraphPlanClass::AllSchedules) {
    Rep.Class = "over all schedules";
    Rep.ClassKey = "all_schedules";
  } else if (R.Class == GraphPlanClass::SplitSchedules) {
    Rep.Class = "over the plans a forward/backward split runs";
    Rep.ClassKey = "split";
  } else {
    Rep.Class = "for the file's order of first computations";
    Rep.ClassKey = "file_order";
  }
  if (R.OrdersTried > 1)
    Rep.Detail = fmt::format("best of {} orders tried", R.OrdersTried);
  Rep.LowerBound = R.LowerBound;
  Rep.ProvenOptimal = R.ProvenOptimal;
  Rep.PlanInClass = R.PlanInClass;
  return Rep;
}

Expected<PlannedOps<GraphOp>> planGraphOptimalHook(const Graph &G,
                                                   const StrategyOptions &O) {
  if (!O.BudgetBytes)
    return needsBudget();
  GraphPlanOptions GO{*O.BudgetBytes, O.Mode, O.TimeLimitSeconds};
  GO.RecomputeOnceInBackward = O.RecomputeOnceInBackward;
  auto R = planGraphOptimal(G, GO);
  if (!R)
    return R.takeError();
  OptimalityReport Rep = graphReport(*R);
  return PlannedOps<GraphOp>(std::move(R->Ops), std::move(Rep));
}

void sweepOptimal(const SweepRequest &R, std::vector<SweepPoint> &Out) {
  // compare plans it under its budget, when it has one. maxbatch plans
  // chains from the DP's frontier (planner/strategy/MaxBatch.cpp) and graphs
  // with the scalable planner: exact mode's MILP is far too slow to call per
  // batch.
  if (!R.BudgetBytes || (R.Command == SweepCommand::MaxBatch && R.C))
    return;
  SweepPoint P{"optimal", {}};
  P.Opts.Name = "optimal";
  P.Opts.BudgetBytes = R.BudgetBytes;
  if (R.Command == SweepCommand::MaxBatch) {
    P.Opts.Mode = GraphMode::Scalable;
    P.Opts.TimeLimitSeconds = R.TimeLimitSeconds;
  }
  Out.push_back(std::move(P));
}

/// The strategy called \p Name if it plans the dialect; else the error
/// listing those that do.
static Expected<const StrategyInfo *> lookup(StringRef Name, bool Graph) {
  const StrategyInfo *S = findStrategy(Name);
  if (S && (Graph ? S->plansGraphs() : S->plansChains()))
    return S;
  return badInput("unknown strategy '{}' for a {} model (choose from {})",
                  Name.str(), Graph ? "graph" : "chain",
                  strategyNameList(Graph));
}

/// Strategies that search under the budget report their own infeasibility;
/// the rest are planned blind and checked here, where the smallest feasible
/// budget for them is simply their own peak.
static Error checkBudget(const Schedule &S, const StrategyOptions &O) {
  if (!O.BudgetBytes || S.Predicted.PeakBytes <= *O.BudgetBytes)
    return Error::success();
  return make_error<InfeasibleBudgetError>(O.Name, *O.BudgetBytes,
                                           S.Predicted.PeakBytes);
}

/// A lower bound above the time of a plan of its class that the simulator
/// accepted is a contradiction: a bug, never clamped away.
static Error checkChainBound(const Schedule &S) {
  if (!S.Optimality)
    return Error::success();
  double Bound = S.Optimality->LowerBound, Time = S.Predicted.Time;
  if (Bound <= Time || sameTime(Bound, Time))
    return Error::success();
  return internalError(fmt::format(
      "the chain planner's lower bound {} over {} exceeds the time {} of its "
      "own plan, which the simulator accepted",
      Bound, S.Optimality->Class, Time));
}

/// Attaches what the planner proved to the simulated schedule and checks
/// the bound and the budget.
static Expected<Schedule> finalize(const StrategyOptions &O,
                                   Expected<Schedule> Sch,
                                   std::optional<OptimalityReport> Opt) {
  if (!Sch)
    return Sch.takeError();
  Sch->Optimality = std::move(Opt);
  if (Sch->dialect() == Dialect::Chain)
    if (Error E = checkChainBound(*Sch))
      return E;
  if (Error E = checkBudget(*Sch, O))
    return E;
  return Sch;
}

Expected<Schedule> planStrategy(const Model &M, const StrategyOptions &O) {
  bool Graph = !M.isChain() || O.ForceGraph;
  auto S = lookup(O.Name, Graph);
  if (!S)
    return S.takeError();
  const StrategyInfo &Info = **S;
  // Only strategies that plan under the budget record it in the schedule.
  std::optional<uint64_t> Budget =
      Info.Budget == BudgetUse::Checked ? std::nullopt : O.BudgetBytes;
  if (!Graph) {
    auto Ops = Info.PlanChain(*M.AsChain, O);
    if (!Ops)
      return Ops.takeError();
    return finalize(
        O, finalizeChainSchedule(M, O.Name, Budget, std::move(Ops->Ops)),
        std::move(Ops->Optimality));
  }
  auto Ops = Info.PlanGraph(M.G, O);
  if (!Ops)
    return Ops.takeError();
  return finalize(O,
                  finalizeGraphSchedule(M, O.Name, Budget, std::move(Ops->Ops)),
                  std::move(Ops->Optimality));
}

} // namespace remat

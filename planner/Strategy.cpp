//===- planner/Strategy.cpp - Strategy names and dispatch -----------------===//

#include "planner/Strategy.h"

#include "planner/ChainDP.h"
#include "planner/ChainStrategies.h"
#include "planner/Errors.h"
#include "planner/GraphPlanner.h"
#include "planner/Revolve.h"
#include "planner/Simulator.h"

#include "llvm/ADT/StringSwitch.h"

#include <fmt/format.h>

using namespace llvm;

namespace remat {

static Error badInput(const Twine &Msg) {
  return createStringError(inconvertibleErrorCode(), Msg.str());
}

bool strategyNeedsBudget(StringRef Name) { return Name == "optimal"; }

std::vector<std::string> applicableStrategies(const Model &M) {
  if (M.isChain())
    return {"none",      "sequential", "every",   "sqrt",
            "selective", "chen",       "revolve", "optimal"};
  return {"none", "recompute-all", "chen", "optimal"};
}

/// Ops and, for the optimal planners, what they prove.
template <typename Op> struct PlannedOps {
  std::vector<Op> Ops;
  std::optional<OptimalityReport> Optimality;

  PlannedOps(std::vector<Op> Ops) : Ops(std::move(Ops)) {}
  PlannedOps(std::vector<Op> Ops, OptimalityReport R)
      : Ops(std::move(Ops)), Optimality(std::move(R)) {}
};

static OptimalityReport chainReport(const ChainDPResult &R,
                                    unsigned AskedSlots) {
  OptimalityReport Rep;
  if (R.MemorySlots == 0)
    Rep.Method = "exact";
  else if (AskedSlots == 0)
    Rep.Method =
        fmt::format("exact fell back to {} memory slots", R.MemorySlots);
  else
    Rep.Method = fmt::format("{} memory slots", R.MemorySlots);
  Rep.LowerBound = R.Time - R.GapBound;
  Rep.ProvenOptimal = R.GapBound == 0;
  return Rep;
}

static Expected<PlannedOps<ChainOp>> chainOps(const Chain &C,
                                              const StrategyOptions &O) {
  const std::string &N = O.Name;
  if (N == "none")
    return storeAllOps(C);
  if (N == "sequential") {
    if (O.Segments == 0)
      return badInput("strategy 'sequential' needs --segments N (N >= 1)");
    return sequentialOps(C, O.Segments);
  }
  if (N == "every") {
    if (O.K == 0)
      return badInput("strategy 'every' needs --k K (K >= 1)");
    return everyOps(C, O.K);
  }
  if (N == "sqrt")
    return sqrtOps(C);
  if (N == "selective") {
    if (O.Kinds.empty())
      return badInput("strategy 'selective' needs --kinds a,b,...");
    return selectiveOps(C, O.Kinds);
  }
  if (N == "chen")
    return chenOps(C, O.BudgetBytes);
  if (N == "revolve") {
    if (O.Slots == 0)
      return badInput("strategy 'revolve' needs --slots S (S >= 1)");
    return revolveOps(C, O.Slots);
  }
  if (N == "optimal") {
    if (!O.BudgetBytes)
      return badInput("strategy 'optimal' needs --budget SIZE or "
                      "--device-memory SIZE");
    auto R = planOptimalChain(C, {*O.BudgetBytes, O.MemorySlots});
    if (!R)
      return R.takeError();
    OptimalityReport Rep = chainReport(*R, O.MemorySlots);
    return PlannedOps<ChainOp>(std::move(R->Ops), std::move(Rep));
  }
  return badInput("unknown strategy '" + N +
                  "' for a chain model (choose from none, sequential, every, "
                  "sqrt, selective, chen, revolve, optimal)");
}

/// What a graph plan proves, and for which class; nothing is clamped: the
/// planner has already refused a bound above a plan of its class.
static OptimalityReport graphReport(const GraphPlanResult &R) {
  OptimalityReport Rep;
  Rep.Method = R.ModeUsed == "exhaustive" ? "exhaustive search"
               : R.ModeUsed == "exact"    ? "MILP (CBC)"
                                          : R.ModeUsed;
  if (R.Class == GraphPlanClass::AllSchedules) {
    Rep.Class = "over all schedules";
    Rep.ClassKey = "all_schedules";
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

static Expected<PlannedOps<GraphOp>> graphOps(const Graph &G,
                                              const StrategyOptions &O) {
  const std::string &N = O.Name;
  if (N == "none")
    return storeAllGraphOps(G);
  if (N == "recompute-all" || N == "chen")
    return graphBaselineOps(G, N, O.BudgetBytes);
  if (N == "optimal") {
    if (!O.BudgetBytes)
      return badInput("strategy 'optimal' needs --budget SIZE or "
                      "--device-memory SIZE");
    auto R =
        planGraphOptimal(G, {*O.BudgetBytes, O.GraphMode, O.TimeLimitSeconds});
    if (!R)
      return R.takeError();
    OptimalityReport Rep = graphReport(*R);
    return PlannedOps<GraphOp>(std::move(R->Ops), std::move(Rep));
  }
  return badInput("unknown strategy '" + N +
                  "' for a graph model (choose from none, recompute-all, "
                  "chen, optimal)");
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

Expected<Schedule> planStrategy(const Model &M, const StrategyOptions &O) {
  std::optional<uint64_t> Budget =
      strategyNeedsBudget(O.Name) || O.Name == "chen" ? O.BudgetBytes
                                                      : std::nullopt;
  if (M.isChain() && !O.ForceGraph) {
    auto Ops = chainOps(*M.AsChain, O);
    if (!Ops)
      return Ops.takeError();
    auto S = finalizeChainSchedule(M, O.Name, Budget, std::move(Ops->Ops));
    if (!S)
      return S.takeError();
    S->Optimality = std::move(Ops->Optimality);
    if (Error E = checkBudget(*S, O))
      return E;
    return S;
  }
  auto Ops = graphOps(M.G, O);
  if (!Ops)
    return Ops.takeError();
  auto S = finalizeGraphSchedule(M, O.Name, Budget, std::move(Ops->Ops));
  if (!S)
    return S.takeError();
  S->Optimality = std::move(Ops->Optimality);
  if (Error E = checkBudget(*S, O))
    return E;
  return S;
}

} // namespace remat

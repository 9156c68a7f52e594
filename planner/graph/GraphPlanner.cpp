//===- planner/graph/GraphPlanner.cpp - Graph planning entry points -------===//
//
// planGraphOptimal runs the scalable planner, then (in exact mode) the
// exhaustive search on small graphs, else the MILP warm-started with the
// scalable plan, and keeps the faster plan that fits. Every plan is
// re-measured under spec §3b before it is returned, and every lower bound is
// checked against the plans of its own class: a bound above one is an
// InternalError, never clamped.
//
//===----------------------------------------------------------------------===//

#include "planner/GraphPlanner.h"
#include "graph/Errors.h"

#include "planner/Errors.h"
#include "planner/GraphExhaustive.h"
#include "planner/GraphMILP.h"
#include "planner/GraphMILPBound.h"
#include "planner/GraphOrders.h"
#include "planner/GraphScalable.h"
#include "planner/GraphSplit.h"

#include "llvm/ADT/BitVector.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>

using namespace llvm;

namespace remat {

namespace {

using Clock = std::chrono::steady_clock;

/// Largest graph "auto" mode hands to the MILP; Checkmate's model grows as
/// n^2 binaries plus n per edge, and CBC proves optimality within seconds up
/// to about this size on the bundled benches (docs/graph-planning.md).
constexpr unsigned AutoExactMaxNodes = 60;
/// Largest graph exact mode accepts at all. The time limit now covers the
/// model build and the root LP, and was measured to hold at 350 nodes
/// (within CBC's ~0.5 s reaction); beyond this the n^2 binaries make the
/// root alone longer than useful limits (docs/graph-planning.md).
constexpr unsigned ExactMaxNodes = 400;
/// States the exhaustive search may store before exact mode falls back to
/// the MILP: about 10 MiB, and well under a second on the bench graphs
/// (docs/graph-planning.md); a count, so that results are deterministic.
constexpr size_t ExhaustiveMaxStates = size_t(1) << 18;
/// Its clock, a safety net behind the state cap.
constexpr double ExhaustiveMaxSeconds = 2;
/// Work charged per state the exhaustive search stores (about 1.5 us each,
/// docs/graph-planning.md, so this is conservative at the budget's rate).
constexpr uint64_t OpsPerExhaustiveState = 64;

void adopt(GraphPlanResult &R, const KeepSetPlan &P) {
  R.Ops = P.Ops;
  R.Time = P.Time;
  R.PeakBytes = P.PeakBytes;
  R.Recomputations = P.Recomputations;
}

/// The least-peak plan the MILP finds within the work left, measured.
std::optional<KeepSetPlan> minPeakMilpPlan(const Graph &G,
                                           GraphWorkBudget &Work) {
  GraphMilpOptions MO;
  MO.MinimizePeak = true;
  MO.TimeLimitSeconds = Work.secondsLeft();
  auto M = solveGraphMilp(G, MO);
  if (!M) {
    consumeError(M.takeError());
    return std::nullopt;
  }
  Work.chargeSeconds(M->Seconds);
  if (!M->HasSolution)
    return std::nullopt;
  return measureGraphOps(G, std::move(M->Ops));
}

/// The scalable planner proves nothing beyond "each node once".
double sumOfTimes(const Graph &G) {
  double T = 0;
  for (const Node &N : G.Nodes)
    T += N.Time;
  return T;
}

/// What exact mode adds to the scalable result.
struct ExactOutcome {
  unsigned Variables = 0, Constraints = 0;
  double LowerBound = 0;
  bool ProvenOptimal = false;
  /// The MILP proved that no plan of its class fits.
  bool ProvenInfeasible = false;
  /// The MILP's plan, measured, when it has one within the budget.
  std::optional<KeepSetPlan> Plan;
};

/// Exact mode, warm-started with the scalable result \p Sc; nullopt when
/// the build has no CBC.
std::optional<ExactOutcome> runExact(const Graph &G,
                                     const GraphPlanOptions &Opts,
                                     const ScalableResult &Sc,
                                     GraphWorkBudget &Work) {
  GraphMilpOptions MO;
  MO.BudgetBytes = Opts.BudgetBytes;
  MO.TimeLimitSeconds = Work.secondsLeft();
  if (Sc.Found)
    MO.WarmStart = Sc.Best.Ops;
  auto M = solveGraphMilp(G, MO);
  if (!M) {
    consumeError(M.takeError());
    return std::nullopt;
  }
  Work.chargeSeconds(M->Seconds);
  ExactOutcome E;
  E.ProvenInfeasible = M->ProvenInfeasible;
  E.Variables = M->Variables;
  E.Constraints = M->Constraints;
  E.ProvenOptimal = M->ProvenOptimal;
  // CBC stops once no better integral objective can exist, so its bound may
  // sit just below a proven optimum; the proven optimum is the bound.
  E.LowerBound =
      M->ProvenOptimal ? std::max(M->Incumbent, M->BestBound) : M->BestBound;
  if (!M->HasSolution)
    return E;
  E.Plan = measureGraphOps(G, std::move(M->Ops));
  // The MILP's accounting is spec §3b's; a plan over budget would be a
  // modelling bug, so it is never returned (tests check the MILP directly).
  if (!E.Plan || E.Plan->PeakBytes > Opts.BudgetBytes) {
    E.Plan.reset();
    E.ProvenOptimal = false;
  }
  return E;
}

/// The exhaustive search within the work left (its state cap, a count).
Expected<GraphExhaustiveResult> searchExhaustively(const Graph &G,
                                                   const GraphPlanOptions &Opts,
                                                   bool MinimizePeak,
                                                   GraphWorkBudget &Work) {
  GraphExhaustiveOptions XO;
  XO.BudgetBytes = Opts.BudgetBytes;
  XO.MinimizePeak = MinimizePeak;
  XO.MaxStates = size_t(std::max<uint64_t>(
      1, std::min<uint64_t>(ExhaustiveMaxStates,
                            Work.left() / OpsPerExhaustiveState)));
  XO.TimeLimitSeconds = std::min(Work.wallSecondsLeft(), ExhaustiveMaxSeconds);
  auto X = planGraphExhaustive(G, XO);
  if (X)
    Work.charge(X->StatesStored * OpsPerExhaustiveState);
  return X;
}

/// No schedule fits (proven): the error names the true least budget when
/// the least-peak search completes, else the scalable planner's least peak
/// with its class. Every plan the scalable planner found must agree.
Error exhaustiveInfeasible(const Graph &G, const GraphPlanOptions &Opts,
                           const ScalableResult &Sc, GraphWorkBudget &Work) {
  uint64_t ScPeak = Sc.MinPeak.PeakBytes;
  if (Sc.Found || ScPeak <= Opts.BudgetBytes)
    return make_error<InternalError>(
        "graph planner: the exhaustive search found no plan within " +
        std::to_string(Opts.BudgetBytes) +
        " bytes, but the scalable planner found one of peak " +
        std::to_string(ScPeak));
  auto L = searchExhaustively(G, Opts, true, Work);
  if (!L)
    return L.takeError();
  if (L->Outcome != ExhaustiveOutcome::Optimal)
    return make_error<InfeasibleBudgetError>(
        "optimal", Opts.BudgetBytes, ScPeak,
        "the plans remat found (the least over all schedules lies between "
        "the two)");
  if (L->PeakBytes > ScPeak || L->PeakBytes <= Opts.BudgetBytes)
    return make_error<InternalError>(
        "graph planner: the least peak over all schedules, " +
        std::to_string(L->PeakBytes) +
        " bytes, contradicts the scalable planner's plan of peak " +
        std::to_string(ScPeak) + " or the budget " +
        std::to_string(Opts.BudgetBytes) + " proven infeasible");
  return make_error<InfeasibleBudgetError>("optimal", Opts.BudgetBytes,
                                           L->PeakBytes);
}

/// The exhaustive search over all schedules: its plan (optimal over all
/// schedules), an InfeasibleBudgetError, or none when it gave up.
Expected<std::optional<GraphPlanResult>>
planExhaustively(const Graph &G, const GraphPlanOptions &Opts,
                 const ScalableResult &Sc, GraphWorkBudget &Work) {
  auto X = searchExhaustively(G, Opts, false, Work);
  if (!X)
    return X.takeError();
  if (X->Outcome == ExhaustiveOutcome::GaveUp)
    return std::nullopt;
  if (X->Outcome == ExhaustiveOutcome::Infeasible)
    return exhaustiveInfeasible(G, Opts, Sc, Work);
  std::optional<KeepSetPlan> P = measureGraphOps(G, std::move(X->Ops));
  if (!P || P->PeakBytes > Opts.BudgetBytes)
    return make_error<InternalError>(
        "graph planner: the exhaustive search's plan is invalid or over the "
        "budget under the simulator");
  if (Sc.Found)
    if (Error E = checkLowerBound(G, GraphPlanClass::AllSchedules, P->Time,
                                  "the exhaustive optimum", Sc.Best.Ops,
                                  Sc.Best.Time, "the scalable planner's plan"))
      return E;
  GraphPlanResult R;
  adopt(R, *P);
  R.ModeUsed = GraphMethod::Exhaustive;
  R.Class = GraphPlanClass::AllSchedules;
  R.LowerBound = P->Time;
  R.ProvenOptimal = true;
  return std::optional<GraphPlanResult>(std::move(R));
}

/// The scalable planner on the graph renumbered in other orders of first
/// computations (planner/GraphOrders.h), plans mapped back and measured.
struct OtherOrders {
  std::optional<KeepSetPlan> Best;
  /// Least peak of the plans seen, bytes.
  uint64_t MinPeak = UINT64_MAX;
  /// Orders planned, the file's included.
  unsigned Tried = 1;
};

OtherOrders planOtherOrders(const Graph &G, const GraphPlanOptions &Opts,
                            GraphWorkBudget &Work) {
  OtherOrders Out;
  std::vector<GraphOrder> Orders = candidateOrders(G, Opts.Orders);
  for (size_t K = 1; K < Orders.size() && !Work.exhausted(); ++K) {
    ArrayRef<unsigned> Order = Orders[K].Order;
    ScalableOptions SO;
    SO.BudgetBytes = Opts.BudgetBytes;
    SO.Work = &Work;
    ScalableResult S = planGraphScalable(renumberGraph(G, Order), SO);
    ++Out.Tried;
    if (auto M = measureGraphOps(G, opsInOriginalIds(S.MinPeak.Ops, Order)))
      Out.MinPeak = std::min(Out.MinPeak, M->PeakBytes);
    if (!S.Found)
      continue;
    auto P = measureGraphOps(G, opsInOriginalIds(S.Best.Ops, Order));
    if (P && P->PeakBytes <= Opts.BudgetBytes &&
        (!Out.Best || P->Time < Out.Best->Time))
      Out.Best = std::move(P);
  }
  return Out;
}

/// The MILP (exact) or the scalable planner in the file's order, and the
/// scalable planner in a few other orders, within \p Work; the lower
/// bound for the file's order is checked against every plan of that order.
Expected<GraphPlanResult> planInOrders(const Graph &G,
                                       const GraphPlanOptions &Opts,
                                       const ScalableResult &Sc, bool Exact,
                                       GraphWorkBudget &Work) {
  GraphPlanResult R;
  R.ModeUsed = GraphMethod::Scalable;
  bool Have = Sc.Found;
  if (Have)
    adopt(R, Sc.Best);
  // Exact mode only (scalable mode stays one deterministic run, which the
  // frontier repeats at every budget). Other orders first, so that the MILP
  // gets the time that is left.
  OtherOrders Others;
  if (Exact)
    Others = planOtherOrders(G, Opts, Work);
  R.OrdersTried = Others.Tried;
  std::optional<ExactOutcome> E;
  if (Exact)
    E = runExact(G, Opts, Sc, Work);
  if (E) {
    R.ModeUsed = GraphMethod::Milp;
    R.MilpVariables = E->Variables;
    R.MilpConstraints = E->Constraints;
    R.LowerBound = E->LowerBound;
    R.ProvenOptimal = E->ProvenOptimal;
    if (E->Plan && (!Have || E->Plan->Time < R.Time)) {
      adopt(R, *E->Plan);
      Have = true;
    }
  }
  if (Others.Best && (!Have || Others.Best->Time < R.Time)) {
    adopt(R, *Others.Best);
    Have = true;
  }
  uint64_t MinFeasible = std::min(Sc.MinPeak.PeakBytes, Others.MinPeak);
  if (!Have && Exact) {
    // Below the scalable planner's least peak the MILP may still fit; its
    // least-peak plan settles both this budget and the error's minimum.
    if (auto P = minPeakMilpPlan(G, Work)) {
      MinFeasible = std::min(MinFeasible, P->PeakBytes);
      if (P->PeakBytes <= Opts.BudgetBytes) {
        adopt(R, *P);
        Have = true;
      }
    }
  }
  // A time-out is not a proof: when the work budget ran out before a plan
  // or a proof, the error says so and names only the least budget a plan
  // was found for.
  if (!Have)
    return make_error<InfeasibleBudgetError>(
        "optimal", Opts.BudgetBytes, MinFeasible,
        "the orders of first computations remat tried (not proven least "
        "over all schedules)",
        Sc.LimitReached || Work.exhausted() ||
            (E && !E->ProvenInfeasible && !E->Plan));
  // The covering program's LP relaxation (planner/GraphMILPBound.h) bounds
  // every plan that first computes nodes in id order; it is cheap next to
  // the search (under a second at 2,500 nodes) and never below the sum of
  // node times.
  if (R.ModeUsed == GraphMethod::Scalable)
    R.LowerBound = std::max(sumOfTimes(G),
                            graphTimeLowerBound(G, {Opts.BudgetBytes, 0}).Time);
  // Like with like: the bound holds for plans in the file's order only.
  R.Class = GraphPlanClass::FileOrder;
  R.PlanInClass = firstComputesInIdOrder(G, R.Ops);
  if (!R.PlanInClass)
    R.ProvenOptimal = false;
  StringRef Bound = R.ModeUsed == GraphMethod::Milp
                        ? "the MILP's lower bound"
                        : "the covering lower bound";
  if (Error E = checkLowerBound(G, R.Class, R.LowerBound, Bound, R.Ops, R.Time,
                                "the returned plan"))
    return E;
  if (Sc.Found)
    if (Error E = checkLowerBound(G, R.Class, R.LowerBound, Bound, Sc.Best.Ops,
                                  Sc.Best.Time, "the scalable planner's plan"))
      return E;
  return R;
}

/// The split's class (GraphPlanOptions::RecomputeOnceInBackward): the
/// search over saved sets within \p Work.
Expected<GraphPlanResult>
planSplit(const Graph &G, const GraphPlanOptions &Opts, GraphWorkBudget &Work) {
  SplitPlanOptions SO;
  SO.BudgetBytes = Opts.BudgetBytes;
  SO.Work = &Work;
  auto S = planGraphSplit(G, SO);
  if (!S)
    return S.takeError();
  if (!S->Found)
    return make_error<InfeasibleBudgetError>(
        "optimal", Opts.BudgetBytes, S->MinPeak.PeakBytes,
        S->Exhaustive ? "plans a forward/backward split runs (every saved set "
                        "tried)"
                      : "the saved sets remat tried (plans a forward/backward "
                        "split runs; not proven least)",
        S->LimitReached);
  GraphPlanResult R;
  adopt(R, S->Best);
  R.ModeUsed =
      S->Exhaustive ? GraphMethod::SplitExhaustive : GraphMethod::SplitSearch;
  R.Class = GraphPlanClass::SplitSchedules;
  // Every plan computes each node at least once; when every saved set was
  // tried the plan is the fastest of the class.
  R.LowerBound = S->Exhaustive ? R.Time : sumOfTimes(G);
  R.ProvenOptimal = S->Exhaustive;
  R.PlanInClass = true;
  return R;
}

} // namespace

Expected<GraphPlanResult> planGraphOptimal(const Graph &G,
                                           const GraphPlanOptions &Opts) {
  auto Start = Clock::now();
  if (Opts.Mode == GraphMode::Exact && G.size() > ExactMaxNodes)
    return badInput("exact graph planning handles up to {} nodes and this "
                    "graph has {}; use --mode scalable or auto",
                    ExactMaxNodes, G.size());
  bool Exact = Opts.Mode == GraphMode::Exact ||
               (Opts.Mode == GraphMode::Auto && G.size() <= AutoExactMaxNodes);
  // One deterministic work budget for the whole call (planner/GraphLimit.h).
  GraphWorkBudget Work(Opts.TimeLimitSeconds);
  if (Opts.RecomputeOnceInBackward) {
    auto R = planSplit(G, Opts, Work);
    if (!R)
      return R.takeError();
    R->Gap = R->Time > 0 ? (R->Time - R->LowerBound) / R->Time : 0;
    R->WorkUsed = Work.used();
    R->WorkLimit = Work.limit();
    R->LimitReached = Work.exhausted();
    R->ClockStopped = Work.wallClockTripped();
    R->SolveSeconds =
        std::chrono::duration<double>(Clock::now() - Start).count();
    return R;
  }
  ScalableOptions SO;
  SO.BudgetBytes = Opts.BudgetBytes;
  SO.Work = &Work;
  ScalableResult Sc = planGraphScalable(G, SO);
  Expected<GraphPlanResult> R = [&]() -> Expected<GraphPlanResult> {
    if (Exact && Opts.UseExhaustive &&
        G.size() <= GraphPlanExhaustiveMaxNodes) {
      auto X = planExhaustively(G, Opts, Sc, Work);
      if (!X)
        return X.takeError();
      if (*X)
        return std::move(**X);
    }
    return planInOrders(G, Opts, Sc, Exact, Work);
  }();
  if (!R)
    return R.takeError();
  R->Gap =
      R->PlanInClass && R->Time > 0 ? (R->Time - R->LowerBound) / R->Time : 0;
  R->WorkUsed = Work.used();
  R->WorkLimit = Work.limit();
  R->LimitReached = Work.exhausted();
  R->ClockStopped = Work.wallClockTripped();
  R->SolveSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - Start)
          .count();
  return R;
}

bool firstComputesInIdOrder(const Graph &G, ArrayRef<GraphOp> Ops) {
  BitVector Seen(G.size());
  unsigned Next = 0;
  for (const GraphOp &Op : Ops) {
    if (Op.Kind != GraphOpKind::Compute || Seen.test(Op.Node))
      continue;
    if (Op.Node != Next)
      return false;
    Seen.set(Op.Node);
    ++Next;
  }
  return true;
}

Error checkLowerBound(const Graph &G, GraphPlanClass Class, double Bound,
                      StringRef BoundName, ArrayRef<GraphOp> Ops, double Time,
                      StringRef PlanName) {
  // Like with like: a bound for the file's order says nothing about a plan
  // in another order.
  if (Class == GraphPlanClass::FileOrder && !firstComputesInIdOrder(G, Ops))
    return Error::success();
  // Float tolerance: sums of the same times in another order differ in the
  // last bits only.
  if (Bound <= Time + 1e-9 * std::max(1.0, std::abs(Time)))
    return Error::success();
  const char *ClassText = Class == GraphPlanClass::AllSchedules
                              ? "all schedules"
                              : "plans in the file's order of first "
                                "computations";
  return make_error<InternalError>(fmt::format(
      "graph planner: {} {:.17g} for {} lies above the time {:.17g} of {}, a "
      "plan of that class that the simulator accepted",
      BoundName.str(), Bound, ClassText, Time, PlanName.str()));
}

StringRef graphMethodName(GraphMethod M) {
  switch (M) {
  case GraphMethod::Exhaustive:
    return "exhaustive search";
  case GraphMethod::Milp:
    return "MILP (CBC)";
  case GraphMethod::Scalable:
    return "scalable";
  case GraphMethod::SplitExhaustive:
    return "split, every saved set";
  case GraphMethod::SplitSearch:
    return "split, search";
  }
  return "scalable";
}

Expected<std::vector<GraphOp>>
graphBaselineOps(const Graph &G, StringRef Name,
                 std::optional<uint64_t> BudgetBytes) {
  // Both in planner/GraphChen.cpp; an infeasible budget is exit 3 naming
  // the least peak the baseline reaches.
  if (Name == "recompute-all")
    return recomputeAllOps(G, BudgetBytes);
  if (Name != "chen")
    return badInput(
        "unknown graph baseline '{}' (choose from recompute-all, chen)",
        Name.str());
  return chenBaselineOps(G, BudgetBytes);
}

} // namespace remat

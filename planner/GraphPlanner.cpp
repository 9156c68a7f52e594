//===- planner/GraphPlanner.cpp - Graph planning entry points -------------===//
//
// planGraphOptimal runs the scalable planner, then (in exact mode) the MILP
// warm-started with its plan, and keeps the faster plan that fits. Every plan
// is re-measured under spec §3b before it is returned.
//
//===----------------------------------------------------------------------===//

#include "planner/GraphPlanner.h"

#include "planner/Errors.h"
#include "planner/GraphMILP.h"
#include "planner/GraphMILPBound.h"
#include "planner/GraphScalable.h"

#include <chrono>

using namespace llvm;

namespace remat {

namespace {

/// Largest graph "auto" mode hands to the MILP; Checkmate's model grows as
/// n^2 binaries plus n per edge, and CBC proves optimality within seconds up
/// to about this size on the bundled benches (docs/graph-planning.md).
constexpr unsigned AutoExactMaxNodes = 60;
/// Largest graph exact mode accepts at all. The time limit now covers the
/// model build and the root LP, and was measured to hold at 350 nodes
/// (within CBC's ~0.5 s reaction); beyond this the n^2 binaries make the
/// root alone longer than useful limits (docs/graph-planning.md).
constexpr unsigned ExactMaxNodes = 400;

void adopt(GraphPlanResult &R, const KeepSetPlan &P) {
  R.Ops = P.Ops;
  R.Time = P.Time;
  R.PeakBytes = P.PeakBytes;
  R.Recomputations = P.Recomputations;
}

/// The least-peak plan the MILP finds within the time limit, measured.
std::optional<KeepSetPlan> minPeakMilpPlan(const Graph &G, double Seconds) {
  GraphMilpOptions MO;
  MO.MinimizePeak = true;
  MO.TimeLimitSeconds = Seconds;
  auto M = solveGraphMilp(G, MO);
  if (!M) {
    consumeError(M.takeError());
    return std::nullopt;
  }
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
  /// The MILP's plan, measured, when it has one within the budget.
  std::optional<KeepSetPlan> Plan;
};

/// Exact mode, warm-started with the scalable result \p Sc; nullopt when
/// the build has no CBC.
std::optional<ExactOutcome> runExact(const Graph &G,
                                     const GraphPlanOptions &Opts,
                                     const ScalableResult &Sc) {
  GraphMilpOptions MO;
  MO.BudgetBytes = Opts.BudgetBytes;
  MO.TimeLimitSeconds = Opts.TimeLimitSeconds;
  if (Sc.Found)
    MO.WarmStart = Sc.Best.Ops;
  auto M = solveGraphMilp(G, MO);
  if (!M) {
    consumeError(M.takeError());
    return std::nullopt;
  }
  ExactOutcome E;
  E.Variables = M->Variables;
  E.Constraints = M->Constraints;
  E.ProvenOptimal = M->ProvenOptimal;
  // CBC stops once no better integral objective can exist, so its bound may
  // sit just below a proven optimum; the proven optimum is the bound.
  E.LowerBound = M->ProvenOptimal ? M->Incumbent : M->BestBound;
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

} // namespace

Expected<GraphPlanResult> planGraphOptimal(const Graph &G,
                                           const GraphPlanOptions &Opts) {
  auto Start = std::chrono::steady_clock::now();
  if (Opts.Mode != "auto" && Opts.Mode != "exact" && Opts.Mode != "scalable")
    return createStringError(inconvertibleErrorCode(),
                             "unknown graph planning mode '" + Opts.Mode +
                                 "' (choose from auto, exact, scalable)");
  if (Opts.Mode == "exact" && G.size() > ExactMaxNodes)
    return createStringError(
        inconvertibleErrorCode(),
        "exact graph planning handles up to " + std::to_string(ExactMaxNodes) +
            " nodes and this graph has " + std::to_string(G.size()) +
            "; use --mode scalable or auto");
  bool Exact = Opts.Mode == "exact" ||
               (Opts.Mode == "auto" && G.size() <= AutoExactMaxNodes);
  ScalableResult Sc = planGraphScalable(G, {Opts.BudgetBytes});
  GraphPlanResult R;
  R.ModeUsed = "scalable";
  bool Have = Sc.Found;
  if (Have)
    adopt(R, Sc.Best);
  std::optional<ExactOutcome> E;
  if (Exact)
    E = runExact(G, Opts, Sc);
  if (E) {
    R.ModeUsed = "exact";
    R.MilpVariables = E->Variables;
    R.MilpConstraints = E->Constraints;
    R.LowerBound = E->LowerBound;
    R.ProvenOptimal = E->ProvenOptimal;
    if (E->Plan && (!Have || E->Plan->Time < R.Time)) {
      adopt(R, *E->Plan);
      Have = true;
    }
  }
  uint64_t MinFeasible = Sc.MinPeak.PeakBytes;
  if (!Have && Exact) {
    // Below the scalable planner's least peak the MILP may still fit; its
    // least-peak plan settles both this budget and the error's minimum.
    if (auto P = minPeakMilpPlan(G, Opts.TimeLimitSeconds)) {
      MinFeasible = std::min(MinFeasible, P->PeakBytes);
      if (P->PeakBytes <= Opts.BudgetBytes) {
        adopt(R, *P);
        Have = true;
      }
    }
  }
  if (!Have)
    return make_error<InfeasibleBudgetError>("optimal", Opts.BudgetBytes,
                                             MinFeasible);
  // The covering program's LP relaxation (planner/GraphMILPBound.h) bounds
  // every plan that first computes nodes in id order, as the scalable
  // planner's do; it is cheap next to the search (under a second at 2,500
  // nodes) and never below the sum of node times.
  if (R.ModeUsed == "scalable")
    R.LowerBound = std::max(sumOfTimes(G),
                            graphTimeLowerBound(G, {Opts.BudgetBytes, 0}).Time);
  R.LowerBound = std::min(R.LowerBound, R.Time);
  R.Gap = R.Time > 0 ? (R.Time - R.LowerBound) / R.Time : 0;
  R.SolveSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - Start)
          .count();
  return R;
}

Expected<std::vector<GraphOp>>
graphBaselineOps(const Graph &G, StringRef Name,
                 std::optional<uint64_t> BudgetBytes) {
  // Both in planner/GraphChen.cpp; an infeasible budget is exit 3 naming
  // the least peak the baseline reaches.
  if (Name == "recompute-all")
    return recomputeAllOps(G, BudgetBytes);
  if (Name != "chen")
    return createStringError(inconvertibleErrorCode(),
                             "unknown graph baseline '" + Name.str() +
                                 "' (choose from recompute-all, chen)");
  return chenBaselineOps(G, BudgetBytes);
}

} // namespace remat

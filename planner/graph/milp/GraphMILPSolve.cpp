//===- planner/graph/milp/GraphMILPSolve.cpp - MILP via CBC ---------------===//
//
// Runs CBC on the model of GraphMILP.cpp within a wall-clock deadline that
// covers everything (bound, model build, root LP and cuts, search), starting
// from the warm-start plan and the covering bound of GraphMILPBound.h.
//
//===----------------------------------------------------------------------===//

#include "graph/Errors.h"
#include "planner/GraphMILPBound.h"
#include "planner/Simulator.h"
#include "planner/graph/milp/GraphMILPBuilder.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <string>

#ifdef REMAT_HAVE_CBC
#include "planner/graph/milp/GraphMILPCbc.h"

#include "CoinPackedMatrix.hpp"
#include "OsiClpSolverInterface.hpp"
#endif

using namespace llvm;

namespace remat {

#ifndef REMAT_HAVE_CBC
Expected<GraphMilpResult> solveGraphMilp(const Graph &,
                                         const GraphMilpOptions &) {
  return badInput("exact graph planning needs COIN-OR CBC "
                  "(coinor-libcbc-dev), which this build lacks");
}
#else

using milp::MilpBuilder;
using milp::StageSets;
using Clock = std::chrono::steady_clock;

namespace {

/// CBC's MIP start from a warm-start plan: every integer column by name.
std::vector<std::pair<std::string, double>> mipStart(const MilpBuilder &B,
                                                     ArrayRef<GraphOp> Ops) {
  std::vector<double> X = B.startVector(Ops);
  std::vector<std::pair<std::string, double>> Start;
  for (size_t C = 0; C != X.size(); ++C)
    if (B.IsInt[C])
      Start.push_back({B.Names[C], X[C]});
  return Start;
}

double secondsUntil(Clock::time_point T) {
  return std::chrono::duration<double>(T - Clock::now()).count();
}

/// The best solution CBC has had, as the event handler saw it.
struct Capture {
  double Objective = 1e50;
  std::vector<double> X;
};

/// Stops CBC at the deadline, and copies each better incumbent of the
/// top-level model: when a time limit has stopped Clp, CBC 2.10's final
/// clean-up drops its incumbent (unet-37 at 60%: 2200 found, none
/// returned).
class DeadlineHandler : public milp::StopAtDeadline {
public:
  DeadlineHandler(Clock::time_point Deadline, Capture &Best, int Columns)
      : StopAtDeadline(Deadline), Best(&Best), Columns(Columns) {}
  CbcAction event(CbcEvent E) override {
    const CbcModel *M = getModel();
    // A restarted search (CBC's model reduced after fixing columns) has
    // other columns; its solutions reach the top model when it ends.
    if (M && !M->parentModel() && M->getNumCols() == Columns &&
        M->bestSolution() &&
        M->getMinimizationObjValue() < Best->Objective - 1e-9) {
      Best->Objective = M->getMinimizationObjValue();
      Best->X.assign(M->bestSolution(), M->bestSolution() + Columns);
    }
    return StopAtDeadline::event(E);
  }
  CbcEventHandler *clone() const override { return new DeadlineHandler(*this); }

private:
  Capture *Best;
  int Columns;
};

/// Every node time is an integer (then so is every plan's time).
bool integralTimes(const Graph &G) {
  return std::all_of(G.Nodes.begin(), G.Nodes.end(), [](const Node &Nd) {
    return Nd.Time == std::floor(Nd.Time);
  });
}

/// Rounds a lower bound up to the next integer when every node time is
/// one, allowing for solver tolerances.
double roundBound(const Graph &G, double Bound) {
  return integralTimes(G) ? std::ceil(Bound - 1e-6) : Bound;
}

/// The warm start's time, or its peak when minimising the peak; nullopt
/// when it is not a valid plan within the budget.
std::optional<double> warmObjective(const Graph &G, const GraphMilpOptions &O) {
  if (O.WarmStart.empty())
    return std::nullopt;
  auto Sim = simulateGraph(G, O.WarmStart);
  if (!Sim) {
    consumeError(Sim.takeError());
    return std::nullopt;
  }
  if (O.MinimizePeak)
    return double(Sim->PeakBytes);
  if (Sim->PeakBytes > O.BudgetBytes)
    return std::nullopt;
  return Sim->Time;
}

/// CBC on the model, until \p Deadline. Fills the solution (if any), the
/// bound and the proofs of \p Res.
void solveWithCbc(const MilpBuilder &B, const GraphMilpOptions &O,
                  ArrayRef<GraphOp> StartOps, Clock::time_point Deadline,
                  GraphMilpResult &Res) {
  OsiClpSolverInterface Solver;
  milp::loadInto(Solver, B, /*Names=*/true);
  // The root LP, too, stops at the deadline.
  Solver.getModelPtr()->setMaximumWallSeconds(
      std::max(0.01, secondsUntil(Deadline)));
  // CbcModel copies the solver; the model is configured in place because
  // CbcMain0 ties it to Data.
  CbcModel Model(Solver);
  CbcSolverUsefulData Data;
  milp::quietCbc(Model, Data);
  Capture Best;
  DeadlineHandler Stop(Deadline, Best, int(B.ColLo.size()));
  Model.passInEventHandler(&Stop);
  if (!StartOps.empty())
    Model.setMIPStart(mipStart(B, StartOps));
  milp::runQuietCbc(Model, Data, std::max(0.01, secondsUntil(Deadline)));
  Res.ProvenInfeasible = Model.isProvenInfeasible();
  Res.ProvenOptimal = Model.isProvenOptimal() && Model.bestSolution();
  double Bound = Model.getBestPossibleObjValue();
  double Unit = O.MinimizePeak ? B.Scale : 1;
  if (std::isfinite(Bound) && std::abs(Bound) < 1e20)
    Res.BestBound = Bound * Unit;
  if (Model.bestSolution() &&
      Model.getMinimizationObjValue() <= Best.Objective) {
    Best.Objective = Model.getMinimizationObjValue();
    Best.X.assign(Model.bestSolution(), Model.bestSolution() + B.ColLo.size());
  }
  if (Best.X.empty())
    return;
  StageSets St = B.readSolution(Best.X.data());
  Res.Ops = stageSolutionToOps(B.G, St.R, St.S);
  Res.HasSolution = true;
  Res.Incumbent = Best.Objective * Unit;
}

/// The covering enumeration of GraphMILPCoverProof.cpp on "no plan of the
/// model is better than the incumbent" (integral times: none costs at most
/// the incumbent minus one), with up to half the time left. A better plan
/// it finds becomes the incumbent and CBC's start, and the proof is tried
/// again for it. True when the incumbent is proven optimal among the
/// model's plans (or meets the bound).
bool coverProof(const MilpBuilder &B, Clock::time_point Deadline,
                GraphMilpResult &Res, std::vector<GraphOp> &StartOps) {
  auto ProofDeadline =
      Clock::now() +
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
          0.5 * std::max(0.0, secondsUntil(Deadline))));
  while (Res.Incumbent > Res.BestBound + 1e-9) {
    milp::CoverProof P =
        milp::proveNoPlanAtMost(B, Res.Incumbent - 1, ProofDeadline);
    if (P.Proven) {
      Res.BestBound = std::max(Res.BestBound, Res.Incumbent);
      return true;
    }
    if (P.X.empty() || P.Objective >= Res.Incumbent)
      return false;
    StageSets St = B.readSolution(P.X.data());
    Res.Ops = stageSolutionToOps(B.G, St.R, St.S);
    Res.Incumbent = P.Objective;
    StartOps = Res.Ops;
  }
  return true;
}

/// The precedence bound's witness (\p Recomputes, see PrecedenceBound)
/// tried as a plan at the bound, with up to a quarter of the time left: a
/// plan found there is optimal. True when it is.
bool witnessPlan(const MilpBuilder &B,
                 ArrayRef<std::pair<unsigned, unsigned>> Recomputes,
                 Clock::time_point Deadline, GraphMilpResult &Res,
                 std::vector<GraphOp> &StartOps) {
  if (Recomputes.empty() || (Res.HasSolution && Res.Incumbent <= Res.BestBound))
    return false;
  auto Until =
      Clock::now() +
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
          0.25 * std::max(0.0, secondsUntil(Deadline))));
  milp::CoverProof P =
      milp::planWithRecomputes(B, Recomputes, Res.BestBound, Until);
  if (P.X.empty() || (Res.HasSolution && P.Objective >= Res.Incumbent))
    return false;
  StageSets St = B.readSolution(P.X.data());
  Res.Ops = stageSolutionToOps(B.G, St.R, St.S);
  Res.Incumbent = P.Objective;
  Res.HasSolution = true;
  StartOps = Res.Ops;
  return Res.Incumbent <= Res.BestBound + 1e-9;
}

/// CBC from \p StartOps until shortly before \p Deadline, merged into
/// \p Res: the better incumbent, and CBC's bound where it applies to the
/// warm start (\p Warm, its time).
void cbcAndMerge(const MilpBuilder &B, const GraphMilpOptions &O,
                 ArrayRef<GraphOp> StartOps, std::optional<double> Warm,
                 Clock::time_point Deadline, GraphMilpResult &Res) {
  // CBC notices its limit only between steps (a node, a cut pass, a
  // heuristic); at 100-200 nodes it stopped 0.25-0.35 s late. It gets the
  // time left minus a reserve of a tenth, at most half a second.
  double Left = secondsUntil(Deadline);
  auto CbcDeadline =
      Deadline - std::chrono::duration_cast<Clock::duration>(
                     std::chrono::duration<double>(std::min(0.5, 0.1 * Left)));
  GraphMilpResult Cbc;
  solveWithCbc(B, O, StartOps, CbcDeadline, Cbc);
  Res.ProvenInfeasible = Cbc.ProvenInfeasible && !Res.HasSolution;
  // CBC's bound holds for the MILP's plans (frontier-advancing, frees as
  // the model places them). A warm start below it lies outside that class,
  // and then only the covering bound is known to hold for it.
  bool WarmOutside = Warm && *Warm < roundBound(B.G, Cbc.BestBound) - 1e-9;
  if (!WarmOutside)
    Res.BestBound = std::max(Res.BestBound, Cbc.BestBound);
  if (Cbc.HasSolution && (!Res.HasSolution || Cbc.Incumbent <= Res.Incumbent)) {
    Res.Ops = std::move(Cbc.Ops);
    Res.Incumbent = Cbc.Incumbent;
    Res.HasSolution = true;
    Res.ProvenOptimal = Cbc.ProvenOptimal;
  }
}

} // namespace

Expected<GraphMilpResult> solveGraphMilp(const Graph &G,
                                         const GraphMilpOptions &O) {
  auto Start = Clock::now();
  auto Deadline =
      Start +
      std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(std::max(0.0, O.TimeLimitSeconds)));
  GraphMilpResult Res;
  auto Finish = [&]() -> Expected<GraphMilpResult> {
    Res.BestBound = roundBound(G, Res.BestBound);
    if (Res.HasSolution && Res.Incumbent <= Res.BestBound + 1e-9)
      Res.ProvenOptimal = true;
    // A bound above the incumbent is a contradiction that the caller
    // reports (planner/GraphPlanner.cpp); it is never clamped away here.
    if (Res.ProvenOptimal)
      Res.BestBound = std::max(Res.BestBound, Res.Incumbent);
    Res.Seconds = std::chrono::duration<double>(Clock::now() - Start).count();
    return Res;
  };
  if (G.size() == 0) {
    Res.HasSolution = true;
    return Finish();
  }
  std::optional<double> Warm = warmObjective(G, O);
  if (Warm) {
    Res.HasSolution = true;
    Res.Ops = O.WarmStart;
    Res.Incumbent = *Warm;
  }
  std::vector<std::pair<unsigned, unsigned>> Recomputes;
  bool UseCover = !O.MinimizePeak && O.UseCoverBounds;
  if (UseCover) {
    // The covering bound takes milliseconds at 50 nodes; its branch and
    // bound gets a tenth of the time at most.
    GraphBoundResult Cover = graphTimeLowerBound(
        G, {O.BudgetBytes, std::min(1.0, 0.1 * O.TimeLimitSeconds)});
    if (Cover.Infeasible) {
      Res.ProvenInfeasible = true;
      Res.HasSolution = false;
      Res.Ops.clear();
      return Finish();
    }
    Res.BestBound = Cover.Time;
    Recomputes = std::move(Cover.Recomputes);
    if (Warm && *Warm <= Cover.Time + 1e-9)
      return Finish();
  }
  MilpBuilder B(G, O);
  B.build();
  Res.Variables = unsigned(B.ColLo.size());
  Res.Constraints = unsigned(B.RowLo.size());
  // Too little time left for CBC to do anything: the warm start and the
  // covering bound are the answer.
  if (secondsUntil(Deadline) < 0.05)
    return Finish();
  std::vector<GraphOp> StartOps = Res.Ops;
  if (UseCover && witnessPlan(B, Recomputes, Deadline, Res, StartOps))
    return Finish();
  if (UseCover && Res.HasSolution && integralTimes(G) &&
      coverProof(B, Deadline, Res, StartOps))
    return Finish();
  cbcAndMerge(B, O, StartOps, Warm, Deadline, Res);
  return Finish();
}

#endif // REMAT_HAVE_CBC

} // namespace remat

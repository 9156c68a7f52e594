//===- bench/graph_planner.cpp - Graph planners: time and plan cost -------===//
//
// For seeded layered, U-Net-like and transformer-like training graphs of
// 20 to 20,000 nodes (--sizes), at budgets of 60% and 80% (--budgets) of the
// store-everything peak: plan cost (time) and solve time of the scalable
// planner, of exact mode (the MILP, up to --exact-max-nodes), and of the Chen
// and recompute-all baselines, against the best known lower bound. The bound
// is the largest of: the sum of node times ("sum"), the covering bound of
// planner/GraphMILPBound.h ("cover-milp" or "cover-lp"; its branch and bound
// gets --bound-limit seconds), and the MILP's bound ("milp", or "milp-opt"
// once proven). Prints a Markdown table (docs/graph-planning.md).
//
//   graph_planner [--sizes 20,50,...] [--families layered,unet,transformer]
//                 [--exact-limit SECONDS] [--exact-max-nodes N]
//                 [--bound-limit SECONDS] [--warm-start on|off]
//                 [--repeats R] [--budgets LOW,HIGH]
//                 [--scalable-limit SECONDS]
//
//===----------------------------------------------------------------------===//

#include "models/RandomGraphs.h"
#include "planner/GraphMILP.h"
#include "planner/GraphMILPBound.h"
#include "planner/GraphPlanner.h"
#include "planner/GraphScalable.h"
#include "planner/Simulator.h"

#include "BenchArgs.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

using namespace remat;

namespace {

struct Config {
  std::vector<unsigned> Sizes = {20, 50, 100, 350, 1000, 2500};
  std::vector<std::string> Families = {"layered", "unet", "transformer"};
  double ExactLimit = 10;
  unsigned ExactMaxNodes = 100;
  unsigned Repeats = 3;
  /// Hand exact mode the scalable plan as its warm start.
  bool WarmStart = true;
  /// Branch-and-bound limit for the covering bound, seconds (0: its LP).
  double BoundLimit = 2;
  /// Budgets, percent of the store-everything peak.
  unsigned LowPct = 60, HighPct = 80;
  /// --time-limit of the scalable-mode call (planGraphOptimal), seconds.
  double ScalableLimit = 10;
};

/// Above this many nodes the bound is the covering program's LP only (its
/// branch and bound needs the rows x live tensors matrix: 1.5 GB at 10,000).
constexpr unsigned LpOnlyAbove = 5000;

double seconds(std::chrono::steady_clock::time_point Start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - Start)
      .count();
}

constexpr const char *Usage =
    "graph_planner [--sizes 20,50,...] [--families layered,unet,transformer] "
    "[--exact-limit SECONDS] [--exact-max-nodes N] [--bound-limit SECONDS] "
    "[--warm-start on|off] [--repeats R] [--budgets LOW,HIGH] "
    "[--scalable-limit SECONDS]";

std::vector<std::string> splitList(const char *S) {
  std::vector<std::string> Out(1);
  for (; *S; ++S)
    if (*S == ',')
      Out.emplace_back();
    else
      Out.back() += *S;
  return Out;
}

std::vector<unsigned> parseList(const char *Flag, const char *S) {
  std::vector<unsigned> Out;
  for (const std::string &Item : splitList(S))
    Out.push_back(bench::parseUnsigned(Flag, Item.c_str(), Usage, 1));
  return Out;
}

Config parseArgs(int Argc, char **Argv) {
  Config C;
  for (int I = 1; I < Argc; I += 2) {
    std::string A = Argv[I];
    if (A == "--help" || A == "-h") {
      fmt::print("usage: {}\n", Usage);
      std::exit(0);
    }
    if (I + 1 >= Argc)
      bench::badArgs(A + " needs a value", Usage);
    const char *V = Argv[I + 1];
    if (A == "--sizes")
      C.Sizes = parseList("--sizes", V);
    else if (A == "--families")
      C.Families = splitList(V);
    else if (A == "--exact-limit")
      C.ExactLimit = bench::parseSeconds("--exact-limit", V, Usage);
    else if (A == "--warm-start" &&
             (std::string(V) == "on" || std::string(V) == "off"))
      C.WarmStart = std::string(V) == "on";
    else if (A == "--bound-limit")
      C.BoundLimit = bench::parseSeconds("--bound-limit", V, Usage);
    else if (A == "--scalable-limit")
      C.ScalableLimit = bench::parseSeconds("--scalable-limit", V, Usage);
    else if (A == "--exact-max-nodes")
      C.ExactMaxNodes = bench::parseUnsigned("--exact-max-nodes", V, Usage);
    else if (A == "--budgets" && parseList("--budgets", V).size() == 2) {
      std::vector<unsigned> B = parseList("--budgets", V);
      C.LowPct = B[0];
      C.HighPct = B[1];
    } else if (A == "--repeats")
      C.Repeats = bench::parseUnsigned("--repeats", V, Usage, 1);
    else
      bench::badArgs("bad flag or value: " + A + " " + V, Usage);
  }
  return C;
}

std::string cost(double T, double Bound) {
  if (T < 0)
    return "—";
  return fmt::format("{:.0f} (+{:.1f}%)", T, 100 * (T / Bound - 1));
}

/// Median wall time of \p Repeats whole scalable-mode calls (search and
/// covering LP, within --scalable-limit), and the last result; \p Out's
/// Found is false when the call failed.
double timeScalable(const Graph &G, uint64_t Budget, unsigned Repeats,
                    double Limit, ScalableResult &Out, bool &LimitReached) {
  std::vector<double> Times;
  for (unsigned R = 0; R != std::max(1u, Repeats); ++R) {
    auto Start = std::chrono::steady_clock::now();
    auto P = planGraphOptimal(G, {Budget, GraphMode::Scalable, Limit});
    Times.push_back(seconds(Start));
    Out = ScalableResult();
    LimitReached = false;
    if (!P) {
      llvm::consumeError(P.takeError());
      continue;
    }
    Out.Found = true;
    Out.Best.Ops = std::move(P->Ops);
    Out.Best.Time = P->Time;
    Out.Best.PeakBytes = P->PeakBytes;
    LimitReached = P->LimitReached;
  }
  std::sort(Times.begin(), Times.end());
  return Times[Times.size() / 2];
}

void runOne(const Config &C, const char *Family, unsigned Size) {
  Graph G = generateGraph(Family, 2026, Size);
  auto Full = simulateGraph(G, storeAllGraphOps(G));
  if (!Full) {
    fmt::print("| {} | {} | simulate failed: {} |\n", Family, Size,
               llvm::toString(Full.takeError()));
    return;
  }
  double Floor = 0;
  for (const Node &N : G.Nodes)
    Floor += N.Time;
  for (unsigned Pct : {C.LowPct, C.HighPct}) {
    uint64_t Budget = Full->PeakBytes * Pct / 100;
    ScalableResult Sc;
    bool Limited = false;
    double ScSec =
        timeScalable(G, Budget, C.Repeats, C.ScalableLimit, Sc, Limited);
    double ScT = Sc.Found ? Sc.Best.Time : -1;
    double ChenT = -1;
    for (const KeepSetPlan &P : chenPlans(G))
      if (P.PeakBytes <= Budget && (ChenT < 0 || P.Time < ChenT))
        ChenT = P.Time;
    KeepSetPlan All = recomputeAllPlan(G);
    double AllT = All.PeakBytes <= Budget ? All.Time : -1;
    GraphBoundResult Cov = graphTimeLowerBound(
        G, {Budget, G.size() > LpOnlyAbove ? 0 : C.BoundLimit});
    double ExT = -1, ExSec = 0, Bound = std::max(Floor, Cov.Time);
    std::string ExNote = "not run";
    std::string BoundBy = Cov.Time > Floor ? Cov.Method : "sum";
    if (G.size() <= C.ExactMaxNodes) {
      GraphMilpOptions MO;
      MO.BudgetBytes = Budget;
      MO.TimeLimitSeconds = C.ExactLimit;
      if (Sc.Found && C.WarmStart)
        MO.WarmStart = Sc.Best.Ops;
      auto M = solveGraphMilp(G, MO);
      if (M) {
        ExSec = M->Seconds;
        if (M->HasSolution)
          if (auto P = measureGraphOps(G, M->Ops); P && P->PeakBytes <= Budget)
            ExT = P->Time;
        double MB = M->ProvenOptimal ? M->Incumbent : M->BestBound;
        if (!M->ProvenInfeasible && MB < 1e20 && MB > Bound) {
          Bound = MB;
          BoundBy = M->ProvenOptimal ? "milp-opt" : "milp";
        }
        ExNote = M->ProvenOptimal ? "optimal"
                 : M->ProvenInfeasible
                     ? "infeasible"
                     : fmt::format("gap {:.1f}%",
                                   ExT > 0 ? 100 * (ExT - Bound) / ExT : 100.0);
      } else {
        consumeError(M.takeError());
      }
    }
    // No plan exists: the bound is moot.
    bool NoPlan = Cov.Infeasible || ExNote == "infeasible";
    fmt::print("| {} | {} | {}% | {} | {} {:.2f} | {} | {:.3f}{} | {} | "
               "{:.2f} ({}) | {} | {} |\n",
               Family, G.size(), Pct,
               NoPlan ? std::string("—") : fmt::format("{:.0f}", Bound),
               NoPlan ? std::string("infeasible") : BoundBy, Cov.Seconds,
               cost(ScT, Bound), ScSec, Limited ? " (limit)" : "",
               cost(ExT, Bound), ExSec, ExNote, cost(ChenT, Bound),
               cost(AllT, Bound));
    std::fflush(stdout);
  }
}

} // namespace

int main(int Argc, char **Argv) {
  Config C = parseArgs(Argc, Argv);
  fmt::print("| family | nodes | budget | bound | bound by, cover s | "
             "scalable (vs bound) | scalable s | exact (vs bound) | exact s | "
             "chen | recompute-all |\n");
  fmt::print("|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (unsigned Size : C.Sizes)
    for (const std::string &Family : C.Families)
      runOne(C, Family.c_str(), Size);
  return 0;
}

//===- cli/SimulateCommand.cpp - remat simulate ---------------------------===//
//
// Re-checks a schedule file against its model: replays it under spec §3,
// recomputes peak, time, baseline, overhead and recomputations, and compares
// them with the file's `predicted` block.
//
//===----------------------------------------------------------------------===//

#include "cli/Commands.h"
#include "cli/Common.h"
#include "cli/Svg.h"

#include "graph/ModelLoader.h"
#include "graph/Size.h"
#include "planner/Errors.h"
#include "planner/ScheduleIO.h"
#include "planner/Simulator.h"

#include <cmath>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

using namespace llvm;

namespace remat::cli {

namespace {

using OutJson = nlohmann::ordered_json;

ArgParser makeParser() {
  ArgParser P("simulate",
              "simulate MODEL SCHEDULE [--json] [--force] [--svg FILE]",
              "Replays a schedule file on its model under the exact memory "
              "and time\naccounting of the schedule format (spec §3): checks "
              "that every op's\noperands are resident and that the schedule "
              "completes, then recomputes\nthe peak, time, baseline, overhead "
              "and forward recomputations and\ncompares them with the file's "
              "`predicted` block.");
  P.flag("json", "print one JSON object instead of the report");
  P.option("svg", "FILE",
           "also draw memory over time (the checkpointing saw-tooth, with "
           "each op's peak and the budget line) as an SVG file");
  P.flag("force", "simulate even when the schedule was made for another "
                  "model file (its\nmodel_sha256 differs)");
  P.epilog("exit codes: 0 valid and as predicted; 1 invalid schedule, a "
           "prediction\nthat does not match, or a peak over the file's "
           "budget_bytes; 2 bad input, or a schedule made "
           "for another model\n(without --force).\n\n"
           "times compare to a relative 1e-9, the overhead to its 4 written "
           "decimals,\nbytes and counts exactly.\n\n"
           "example:\n  remat plan model.json --strategy sqrt -o plan.json\n"
           "  remat simulate model.json plan.json");
  return P;
}

struct Figures {
  Prediction P;
  size_t Ops = 0;
  size_t PeakOp = SIZE_MAX;
  /// One point per op, for the memory timeline.
  std::vector<TimelinePoint> Timeline;
};

Expected<Figures> resimulate(const Model &M, const Schedule &S) {
  auto R = simulate(M, S, {/*RecordTimeline=*/true});
  if (!R)
    return R.takeError();
  auto P = predict(M, S.dialect(), *R);
  if (!P)
    return P.takeError();
  Figures F;
  F.P = *P;
  F.Ops = S.numOps();
  F.PeakOp = R->PeakOpIndex;
  F.Timeline = std::move(R->Timeline);
  return F;
}

bool sameTime(double A, double B) {
  return std::fabs(A - B) <= 1e-9 * std::max({1.0, std::fabs(A), std::fabs(B)});
}

/// Fields of the file's prediction that disagree with the simulation.
std::vector<std::string> mismatches(const Prediction &Sim,
                                    const Prediction &File) {
  std::vector<std::string> Out;
  auto Bytes = [&](const char *Name, uint64_t A, uint64_t B) {
    if (A != B)
      Out.push_back(fmt::format("{}: simulated {}, file says {}", Name, A, B));
  };
  auto Time = [&](const char *Name, double A, double B) {
    if (!sameTime(A, B))
      Out.push_back(fmt::format("{}: simulated {}, file says {}", Name, A, B));
  };
  Bytes("peak_bytes", Sim.PeakBytes, File.PeakBytes);
  Time("time", Sim.Time, File.Time);
  Time("baseline_time", Sim.BaselineTime, File.BaselineTime);
  Bytes("baseline_peak_bytes", Sim.BaselinePeakBytes, File.BaselinePeakBytes);
  if (std::fabs(std::round(Sim.Overhead * 1e4) / 1e4 - File.Overhead) > 6e-5)
    Out.push_back(fmt::format("overhead: simulated {:.4f}, file says {}",
                              Sim.Overhead, File.Overhead));
  Bytes("forward_recomputations", Sim.ForwardRecomputations,
        File.ForwardRecomputations);
  return Out;
}

OutJson predictionJson(const Prediction &P) {
  return OutJson{{"peak_bytes", P.PeakBytes},
                 {"time", P.Time},
                 {"baseline_time", P.BaselineTime},
                 {"baseline_peak_bytes", P.BaselinePeakBytes},
                 {"overhead", P.Overhead},
                 {"forward_recomputations", P.ForwardRecomputations}};
}

void printHuman(raw_ostream &Out, const Model &M, const Schedule &S,
                const Figures &F, const std::vector<std::string> &Bad) {
  const Prediction &A = F.P, &B = S.Predicted;
  const std::string &U = M.TimeUnit;
  Out << fmt::format("schedule {} ({} strategy, {} ops) on model {} ({}): "
                     "valid and complete\n\n",
                     printable(S.Path), printable(S.Strategy), F.Ops,
                     printable(M.Name), printable(M.Path));
  Out << fmt::format("  {:<24} {:>20} {:>20}\n", "", "simulated", "predicted");
  auto Row = [&](const char *Name, const std::string &X, const std::string &Y) {
    Out << fmt::format("  {:<24} {:>20} {:>20}\n", Name, X, Y);
  };
  Row("peak memory", formatSize(A.PeakBytes), formatSize(B.PeakBytes));
  auto T = [&](double V) { return fmt::format("{:.6g} {}", V, U); };
  Row("time", T(A.Time), T(B.Time));
  Row("baseline peak", formatSize(A.BaselinePeakBytes),
      formatSize(B.BaselinePeakBytes));
  Row("baseline time", T(A.BaselineTime), T(B.BaselineTime));
  Row("overhead", fmt::format("{:.2f}%", 100 * A.Overhead),
      fmt::format("{:.2f}%", 100 * B.Overhead));
  Row("forward recomputations", std::to_string(A.ForwardRecomputations),
      std::to_string(B.ForwardRecomputations));
  if (F.PeakOp != SIZE_MAX)
    Out << fmt::format("\n  the peak ({} bytes) is reached at op {}\n",
                       A.PeakBytes, F.PeakOp);
  if (Bad.empty()) {
    Out << "\nthe prediction matches the simulation\n";
    return;
  }
  Out << "\nthe prediction does NOT match the simulation:\n";
  for (const std::string &L : Bad)
    Out << "  " << L << "\n";
}

} // namespace

int runSimulate(ArrayRef<std::string> Args, raw_ostream &Out,
                raw_ostream &Err) {
  ArgParser P = makeParser();
  if (std::optional<int> Done = parseArgs(P, Args, 2, 2, Out, Err))
    return *Done;
  bool Json = P.has("json");
  auto M = loadModelFile(P.positionals()[0]);
  if (!M)
    return reportError(M.takeError(), Err);
  auto S = loadScheduleFile(P.positionals()[1], &*M);
  if (!S)
    return reportError(S.takeError(), Err);
  if (Error E = checkScheduleModel(*S, *M, P.has("force")))
    return reportError(std::move(E), Err);
  auto F = resimulate(*M, *S);
  if (!F)
    return reportScheduleError(F.takeError(), Json, S->Path, Out, Err);
  if (auto SvgPath = P.get("svg")) {
    SimResult Sim;
    Sim.PeakBytes = F->P.PeakBytes;
    Sim.Time = F->P.Time;
    Sim.PeakOpIndex = F->PeakOp;
    Sim.Timeline = F->Timeline;
    std::string Svg = renderMemoryTimelineSvg(*M, *S, Sim, S->BudgetBytes);
    if (Error E = writeOutput(*SvgPath, Svg, Out, P.positionals()))
      return reportError(std::move(E), Err);
  }
  std::vector<std::string> Bad = mismatches(F->P, S->Predicted);
  // A schedule over its own budget was called valid and as predicted.
  if (S->BudgetBytes && F->P.PeakBytes > *S->BudgetBytes)
    Bad.push_back(fmt::format("peak_bytes: simulated {}, over the file's "
                              "budget_bytes {}",
                              F->P.PeakBytes, *S->BudgetBytes));
  if (Json) {
    OutJson J{{"schedule", S->Path},
              {"model", M->Path},
              {"valid", true},
              {"ops", F->Ops},
              {"simulated", predictionJson(F->P)},
              {"predicted", predictionJson(S->Predicted)},
              {"matches", Bad.empty()},
              {"mismatches", Bad}};
    Out << J.dump(2) << "\n";
  } else {
    printHuman(Out, *M, *S, *F, Bad);
  }
  if (!Bad.empty()) {
    Err << "remat: error: the schedule's prediction does not match the "
           "simulation ("
        << Bad.front() << ")\n";
    return ExitMismatch;
  }
  return ExitOk;
}

} // namespace remat::cli

//===- cli/FrontierCommand.cpp - remat frontier ---------------------------===//
//
// `remat frontier MODEL [--json] [--svg FILE] [--slots N]`: the optimal
// planner's whole budget -> time curve, the classic strategies on the same
// axes, and the knee. See docs/optimal-chain.md.
//
//===----------------------------------------------------------------------===//

#include "cli/Commands.h"
#include "cli/Common.h"
#include "cli/Svg.h"
#include "graph/ModelLoader.h"
#include "graph/Size.h"
#include "planner/Frontier.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

using namespace llvm;

namespace remat::cli {

namespace {

/// Rows shown in the terminal table; --json has every breakpoint.
constexpr size_t MaxRows = 20;

ArgParser makeParser() {
  ArgParser P(
      "frontier", "frontier MODEL [--json] [--svg FILE] [--slots N]",
      "The budget -> time Pareto curve of the optimal planner, computed in "
      "one run: every breakpoint (the least budget at which the optimal "
      "time drops), the classic strategies placed on the same axes as "
      "(peak, time) points, and the knee: the breakpoint farthest below the "
      "chord from the least-budget point to the fastest point, with both "
      "axes scaled to [0, 1].");
  P.flag("json", "print one JSON object with every breakpoint");
  P.option("svg", "FILE", "also write the plot as SVG to FILE");
  P.option("slots", "N",
           "discretise memory into N slots (each point is then a valid plan "
           "and an upper bound on the exact curve); 0 forces exact",
           "exact up to 40 stages, else 2000 (fewer beyond ~230 stages)");
  P.epilog(
      "Example:\n  remat frontier models/het12.json --svg het12.svg\n"
      "Graph models: the curve is sampled with the scalable graph planner\n"
      "(each point a valid plan, an upper bound on the least time).");
  return P;
}

/// Indices of the rows to print: first, knee, last, and evenly spaced
/// others, ascending.
std::vector<size_t> shownRows(const Frontier &F) {
  size_t N = F.Points.size();
  std::set<size_t> Rows;
  if (N <= MaxRows) {
    for (size_t K = 0; K < N; ++K)
      Rows.insert(K);
  } else {
    for (size_t K = 0; K + 1 < MaxRows; ++K)
      Rows.insert(K * (N - 1) / (MaxRows - 2));
    Rows.insert(N - 1);
    Rows.insert(F.Knee);
  }
  return {Rows.begin(), Rows.end()};
}

/// The optimal time within \p Budget, if the curve reaches that far down.
std::optional<double> optimalAt(const Frontier &F, uint64_t Budget) {
  auto It = std::upper_bound(
      F.Points.begin(), F.Points.end(), Budget,
      [](uint64_t B, const FrontierPoint &P) { return B < P.BudgetBytes; });
  if (It == F.Points.begin())
    return std::nullopt;
  return (It - 1)->Time;
}

std::string pct(double Overhead) {
  return fmt::format("{:.1f}%", Overhead * 100);
}

void printText(const Model &M, const Frontier &F, raw_ostream &OS) {
  OS << fmt::format("frontier of {} ({}; {} breakpoints; baseline {} {} at "
                    "{})\n\n",
                    printable(M.Name.empty() ? M.Path : M.Name),
                    F.Sampled ? std::string("sampled with the scalable "
                                            "graph planner; upper bounds")
                    : F.MemorySlots
                        ? fmt::format("{} memory slots, persistent schedules "
                                      "(rotor's class)",
                                      F.MemorySlots)
                        : std::string("exact among persistent schedules "
                                      "(rotor's class)"),
                    F.Points.size(), fixed(F.BaselineTime, 3), F.TimeUnit,
                    formatSize(F.BaselinePeakBytes));
  OS << fmt::format("  {:>12}  {:>14}  {:>12}  {:>9}\n", "budget", "bytes",
                    "time (" + F.TimeUnit + ")", "overhead");
  for (size_t K : shownRows(F)) {
    const FrontierPoint &P = F.Points[K];
    OS << fmt::format("  {:>12}  {:>14}  {:>12}  {:>9}{}\n",
                      formatSize(P.BudgetBytes), P.BudgetBytes,
                      fixed(P.Time, 3), pct(P.Overhead),
                      K == F.Knee ? "  <- knee" : "");
  }
  if (F.Points.size() > MaxRows)
    OS << fmt::format("  ({} of {} breakpoints shown; --json lists all)\n",
                      shownRows(F).size(), F.Points.size());
  if (F.Strategies.empty())
    return;
  OS << fmt::format("\n  {:<30}  {:>12}  {:>12}  {:>9}  {:>14}\n", "strategy",
                    "peak", "time", "overhead", "optimal there");
  for (const StrategyPoint &S : F.Strategies) {
    std::optional<double> Opt = optimalAt(F, S.PeakBytes);
    OS << fmt::format("  {:<30}  {:>12}  {:>12}  {:>9}  {:>14}\n", S.Label,
                      formatSize(S.PeakBytes), fixed(S.Time, 3),
                      pct(S.Overhead), Opt ? fixed(*Opt, 3) : "-");
  }
}

nlohmann::ordered_json toJson(const Model &M, const Frontier &F) {
  nlohmann::ordered_json J;
  J["model"] = M.Name;
  J["time_unit"] = F.TimeUnit;
  J["exact"] = F.MemorySlots == 0 && !F.Sampled;
  J["sampled"] = F.Sampled;
  J["memory_slots"] = F.MemorySlots;
  // The class the chain curve is exact (or an upper bound) in.
  if (!F.Sampled)
    J["class"] = "persistent schedules (rotor's class)";
  J["baseline_time"] = F.BaselineTime;
  J["baseline_peak_bytes"] = F.BaselinePeakBytes;
  nlohmann::ordered_json Points = nlohmann::ordered_json::array();
  for (const FrontierPoint &P : F.Points)
    Points.push_back({{"budget_bytes", P.BudgetBytes},
                      {"time", P.Time},
                      {"overhead", P.Overhead}});
  if (!F.Points.empty()) {
    const FrontierPoint &K = F.Points[F.Knee];
    J["knee"] = {{"index", F.Knee},
                 {"budget_bytes", K.BudgetBytes},
                 {"time", K.Time},
                 {"overhead", K.Overhead}};
  } else {
    J["knee"] = nullptr;
  }
  J["points"] = std::move(Points);
  nlohmann::ordered_json Strats = nlohmann::ordered_json::array();
  for (const StrategyPoint &S : F.Strategies) {
    std::optional<double> Opt = optimalAt(F, S.PeakBytes);
    Strats.push_back({{"label", S.Label},
                      {"strategy", S.Strategy},
                      {"peak_bytes", S.PeakBytes},
                      {"time", S.Time},
                      {"overhead", S.Overhead},
                      {"optimal_time_at_peak",
                       Opt ? nlohmann::ordered_json(*Opt) : nullptr}});
  }
  J["strategies"] = std::move(Strats);
  return J;
}

} // namespace

int runFrontier(ArrayRef<std::string> Args, raw_ostream &Out,
                raw_ostream &Err) {
  ArgParser P = makeParser();
  if (std::optional<int> Done = parseArgs(P, Args, 1, 1, Out, Err))
    return *Done;
  auto M = loadModelFile(P.positionals()[0]);
  if (!M)
    return reportError(M.takeError(), Err);
  FrontierOptions Opts;
  auto Slots = P.getUnsigned("slots");
  if (!Slots)
    return reportError(Slots.takeError(), Err);
  if (*Slots) {
    Opts.AutoSlots = false;
    Opts.MemorySlots = **Slots;
  }
  auto F = computeFrontier(*M, Opts);
  if (!F)
    return reportError(F.takeError(), Err);
  if (auto Svg = P.get("svg")) {
    std::string Title =
        fmt::format("{}: least time per iteration vs activation budget",
                    M->Name.empty() ? M->Path : M->Name);
    if (Error E = writeOutput(*Svg, renderFrontierSvg(*F, Title), Out,
                              P.positionals()))
      return reportError(std::move(E), Err);
  }
  if (P.has("json"))
    Out << toJson(*M, *F).dump(2) << "\n";
  else
    printText(*M, *F, Out);
  return ExitOk;
}

} // namespace remat::cli

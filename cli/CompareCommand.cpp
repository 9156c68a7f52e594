//===- cli/CompareCommand.cpp - remat compare -----------------------------===//
//
// Plans the model with every applicable strategy at default parameters (see
// docs/strategies.md, "compare") and tabulates peak, reduction, time,
// overhead and whether each plan fits the budget.
//
//===----------------------------------------------------------------------===//

#include "cli/Commands.h"
#include "cli/Common.h"

#include "graph/ModelLoader.h"
#include "graph/Size.h"
#include "planner/Errors.h"
#include "planner/Strategy.h"
#include "planner/StrategyRegistry.h"

#include <cmath>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

using namespace llvm;

namespace remat::cli {

namespace {

using OutJson = nlohmann::ordered_json;

ArgParser makeParser() {
  ArgParser P("compare",
              "compare MODEL [--budget SIZE | --device-memory "
              "SIZE] [--json]",
              "Plans the model with every applicable strategy at default "
              "parameters and\nprints one row per plan: peak activation "
              "memory, reduction against\nstoring everything, time, overhead "
              "and whether the plan fits the budget.\nThe fastest plan that "
              "fits is marked with '*'.");
  addBudgetOptions(P);
  P.flag("json", "print one JSON object with an array of rows");
  P.epilog("default parameters (chains, L stages): sequential --segments "
           "ceil(sqrt L);\nevery --k 2; sqrt; selective --kinds K for each "
           "stage kind K; chen (under\nthe budget when given); revolve "
           "--slots S for S in {2, ceil(log2 L)+1,\nceil(sqrt L)}; optimal "
           "(only with a budget). Graphs: none, recompute-all,\nchen, optimal "
           "(only with a budget). Strategies that fail are listed\nunder the "
           "table with the reason.\n\n"
           "example:\n  remat compare model.json --budget 6GiB");
  return P;
}

struct Row {
  std::string Strategy, Label;
  Prediction P;
  /// Empty when no budget was given.
  std::optional<bool> Fits;
  bool Best = false;
  /// What the optimal planner proved, for which class; none otherwise.
  std::optional<OptimalityReport> Optimality;
};

struct Skipped {
  std::string Label, Reason;
};

/// Plans one candidate. A budget-searching strategy that cannot meet the
/// budget is re-planned without it, so its row shows its least peak.
std::optional<Row> planRow(const Model &M, const SweepPoint &C,
                           std::optional<uint64_t> Budget,
                           std::vector<Skipped> &Skips) {
  auto S = planStrategy(M, C.Opts);
  if (!S && C.Opts.BudgetBytes &&
      findStrategy(C.Opts.Name)->Budget != BudgetUse::Required) {
    consumeError(S.takeError());
    StrategyOptions Free = C.Opts;
    Free.BudgetBytes.reset();
    S = planStrategy(M, Free);
  }
  if (!S) {
    std::string Why;
    handleAllErrors(
        S.takeError(),
        [&](const InfeasibleBudgetError &E) {
          Why = "needs a budget of at least " + formatSize(E.MinFeasibleBytes) +
                " (" + std::to_string(E.MinFeasibleBytes) + " bytes)";
        },
        [&](const ErrorInfoBase &E) { Why = E.message(); });
    Skips.push_back({C.Label, Why});
    return std::nullopt;
  }
  Row R{C.Opts.Name, C.Label, S->Predicted, std::nullopt, false, S->Optimality};
  if (Budget)
    R.Fits = S->Predicted.PeakBytes <= *Budget;
  return R;
}

void markBest(std::vector<Row> &Rows) {
  Row *Best = nullptr;
  for (Row &R : Rows)
    if (R.Fits.value_or(false) &&
        (!Best || R.P.Time < Best->P.Time ||
         (R.P.Time == Best->P.Time && R.P.PeakBytes < Best->P.PeakBytes)))
      Best = &R;
  if (Best)
    Best->Best = true;
}

double reduction(const Row &R) {
  if (R.P.BaselinePeakBytes == 0)
    return 0;
  return 1 - double(R.P.PeakBytes) / double(R.P.BaselinePeakBytes);
}

std::string fitsText(const Row &R) {
  return !R.Fits ? "-" : *R.Fits ? "yes" : "no";
}

void printTable(raw_ostream &Out, const Model &M,
                std::optional<uint64_t> Budget, const std::vector<Row> &Rows,
                const std::vector<Skipped> &Skips) {
  Out << fmt::format(
      "model {} ({}), budget {}\n\n", printable(M.Name), printable(M.Path),
      Budget ? formatSize(*Budget) + " (" + std::to_string(*Budget) + " bytes)"
             : std::string("none"));
  size_t W = 8;
  for (const Row &R : Rows)
    W = std::max(W, R.Label.size());
  auto Line = [&](StringRef Mark, const std::string &A, const std::string &B,
                  const std::string &C, const std::string &D,
                  const std::string &E, const std::string &F) {
    Out << fmt::format("{:1} {:<{}}  {:>12}  {:>9}  {:>14}  {:>9}  {:>4}\n",
                       Mark.str(), A, W, B, C, D, E, F);
  };
  Line("", "strategy", "peak", "reduction", "time (" + M.TimeUnit + ")",
       "overhead", "fits");
  for (const Row &R : Rows)
    Line(R.Best ? "*" : "", R.Label, formatSize(R.P.PeakBytes),
         fmt::format("{:.1f}%", 100 * reduction(R)),
         fmt::format("{:.6g}", R.P.Time),
         fmt::format("{:.1f}%", 100 * R.P.Overhead), fitsText(R));
  if (Budget && llvm::none_of(Rows, [](const Row &R) { return R.Best; }))
    Out << "\nno strategy fits the budget\n";
  for (const Skipped &S : Skips)
    Out << fmt::format("\nnot listed: {}: {}", S.Label, S.Reason);
  if (!Skips.empty())
    Out << "\n";
}

/// The optimality report as JSON: method, the class its claims cover
/// ("optimal_class", a stable key such as "all_schedules" or "file_order",
/// and its words), the lower bound of that class, whether the plan is proven
/// optimal in it and belongs to it; null for strategies that prove nothing.
OutJson optimalityJson(const std::optional<OptimalityReport> &R) {
  if (!R)
    return OutJson();
  return {
      {"method", R->Method},
      {"optimal_class", R->ClassKey.empty() ? OutJson() : OutJson(R->ClassKey)},
      {"class", R->Class.empty() ? OutJson() : OutJson(R->Class)},
      {"lower_bound", R->LowerBound},
      {"proven_optimal", R->ProvenOptimal},
      {"plan_in_class", R->PlanInClass},
      {"detail", R->Detail}};
}

OutJson tableJson(const Model &M, std::optional<uint64_t> Budget,
                  const std::vector<Row> &Rows,
                  const std::vector<Skipped> &Skips) {
  OutJson J{{"model", M.Name},
            {"path", M.Path},
            {"time_unit", M.TimeUnit},
            {"budget_bytes", Budget ? OutJson(*Budget) : OutJson()}};
  OutJson Best, Arr = OutJson::array(), Sk = OutJson::array();
  for (const Row &R : Rows) {
    Arr.push_back({{"strategy", R.Strategy},
                   {"label", R.Label},
                   {"peak_bytes", R.P.PeakBytes},
                   {"reduction", reduction(R)},
                   {"time", R.P.Time},
                   {"overhead", R.P.Overhead},
                   {"forward_recomputations", R.P.ForwardRecomputations},
                   {"fits", R.Fits ? OutJson(*R.Fits) : OutJson()},
                   {"best", R.Best},
                   {"optimality", optimalityJson(R.Optimality)}});
    if (R.Best)
      Best = R.Label;
  }
  for (const Skipped &S : Skips)
    Sk.push_back({{"label", S.Label}, {"reason", S.Reason}});
  J["rows"] = Arr;
  J["best"] = Best;
  J["skipped"] = Sk;
  return J;
}

} // namespace

int runCompare(ArrayRef<std::string> Args, raw_ostream &Out, raw_ostream &Err) {
  ArgParser P = makeParser();
  if (std::optional<int> Done = parseArgs(P, Args, 1, 1, Out, Err))
    return *Done;
  auto M = loadModelFile(P.positionals()[0]);
  if (!M)
    return reportError(M.takeError(), Err);
  auto Budget = budgetFromArgs(P, *M);
  if (!Budget)
    return reportError(Budget.takeError(), Err);
  SweepRequest Req = SweepRequest::forModel(SweepCommand::Compare, *M, *Budget);
  std::vector<SweepPoint> Cands = sweepStrategies(Req);
  std::vector<Row> Rows;
  std::vector<Skipped> Skips;
  for (const SweepPoint &C : Cands)
    if (auto R = planRow(*M, C, *Budget, Skips))
      Rows.push_back(std::move(*R));
  markBest(Rows);
  if (P.has("json"))
    Out << tableJson(*M, *Budget, Rows, Skips).dump(2) << "\n";
  else
    printTable(Out, *M, *Budget, Rows, Skips);
  return ExitOk;
}

} // namespace remat::cli

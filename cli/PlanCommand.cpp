//===- cli/PlanCommand.cpp - remat plan -----------------------------------===//
//
// Plans a model with one strategy (spec §4) and writes the schedule file
// (spec §3), or a compiler-IR-like listing with --emit text.
//
//===----------------------------------------------------------------------===//

#include "cli/Commands.h"
#include "cli/Common.h"

#include "graph/Errors.h"
#include "graph/ModelLoader.h"
#include "graph/Size.h"
#include "planner/Overloaded.h"
#include "planner/ScheduleIO.h"
#include "planner/Simulator.h"
#include "planner/Strategy.h"
#include "planner/StrategyRegistry.h"

#include "llvm/ADT/StringExtras.h"

#include <fmt/format.h>

using namespace llvm;

namespace remat::cli {

namespace {

ArgParser makeParser() {
  ArgParser P(
      "plan", "plan MODEL --strategy S [options] [-o FILE]",
      "Plans which activations to keep and which to recompute, and writes "
      "the\nschedule file (format remat-schedule, version 1) to FILE or "
      "stdout. Every\nplan is replayed by the simulator before it is "
      "written; its `predicted`\nblock holds the simulated peak, time and "
      "overhead.");
  P.option("strategy", "S",
           strategyNameList(/*Graphs=*/false) + " (chains);\n" +
               strategyNameList(/*Graphs=*/true) + " (graphs)");
  addBudgetOptions(P);
  for (const StrategyParam &Par : strategyParams()) {
    if (Par.Kind == ParamKind::Flag)
      P.flag(Par.Spelling, Par.Help);
    else
      P.option(Par.Spelling, Par.Meta, Par.Help, Par.Default);
  }
  P.flag("as-graph", "plan a chain model through the graph planners (graph "
                     "dialect ops)");
  P.option("emit", "FORMAT",
           "json (the schedule file) or text (one op per line with the "
           "resident\nbytes after the op and the op's peak)",
           "json");
  P.option("output", "FILE",
           "write here (atomically) instead of stdout; "
           "-o FILE for short");
  P.epilog("exit codes: 0 ok, 2 bad input, 3 the budget is infeasible for "
           "the strategy\n(the message names the smallest feasible "
           "budget).\n\n"
           "examples:\n"
           "  remat plan model.json --strategy sqrt -o plan.json\n"
           "  remat plan model.json --strategy optimal --budget 6GiB -o "
           "plan.json\n"
           "  remat plan model.json --strategy sequential --segments 4 "
           "--emit text");
  return P;
}

/// An unknown --mode is an error only where `optimal` plans \p M as a
/// graph with a budget, after every other option has been read: where and
/// when the graph planner has always refused it.
Error checkGraphMode(const ArgParser &P, const Model &M,
                     const StrategyOptions &O) {
  auto Text = P.get("mode");
  if (!Text || parseGraphMode(*Text) || O.Name != "optimal" || !O.BudgetBytes ||
      (M.isChain() && !O.ForceGraph))
    return Error::success();
  return badInput("unknown graph planning mode '{}' (choose from auto, exact, "
                  "scalable)",
                  *Text);
}

/// Reads one STRATEGY_PARAM option into its field; absent, the field keeps
/// its default.
Error readParam(const ArgParser &P, const StrategyParam &Par,
                StrategyOptions &O) {
  switch (Par.Kind) {
  case ParamKind::Unsigned: {
    auto V = P.getUnsigned(Par.Spelling);
    if (!V)
      return V.takeError();
    if (*V)
      O.*Par.UnsignedField = **V;
    return Error::success();
  }
  case ParamKind::List:
    if (auto Text = P.get(Par.Spelling)) {
      SmallVector<StringRef, 4> Parts;
      StringRef(*Text).split(Parts, ',', -1, /*KeepEmpty=*/false);
      for (StringRef K : Parts)
        (O.*Par.ListField).push_back(K.trim().str());
    }
    return Error::success();
  case ParamKind::Mode:
    if (auto Text = P.get(Par.Spelling)) {
      if (std::optional<GraphMode> Mode = parseGraphMode(*Text))
        O.*Par.ModeField = *Mode; // else see checkGraphMode
    }
    return Error::success();
  case ParamKind::Flag:
    if (P.has(Par.Spelling))
      O.*Par.FlagField = true;
    return Error::success();
  case ParamKind::Seconds: {
    auto V = P.getDouble(Par.Spelling);
    if (!V)
      return V.takeError();
    if (*V)
      O.*Par.SecondsField = **V;
    return Error::success();
  }
  }
  return Error::success();
}

/// Reads the strategy options from the command line.
Expected<StrategyOptions> strategyOptions(const ArgParser &P, const Model &M) {
  StrategyOptions O;
  auto Name = P.get("strategy");
  if (!Name)
    return badInput("--strategy S is required (run 'remat plan --help' for "
                    "the list)");
  O.Name = *Name;
  auto Budget = budgetFromArgs(P, M);
  if (!Budget)
    return Budget.takeError();
  O.BudgetBytes = *Budget;
  O.ForceGraph = P.has("as-graph");
  for (const StrategyParam &Par : strategyParams())
    if (Error E = readParam(P, Par, O))
      return E;
  if (Error E = checkGraphMode(P, M, O))
    return E;
  return O;
}

std::string opText(const Schedule &S, size_t I) {
  auto Text = Overloaded{
      [&](const GraphOp &Op) {
        return fmt::format("{:<8} {}",
                           Op.Kind == GraphOpKind::Compute ? "compute" : "free",
                           printable(S.Names[Op.Node]));
      },
      [&](const ChainOp &Op) {
        if (Op.Kind == ChainOpKind::Loss)
          return std::string("loss");
        return fmt::format("{:<8} {:>5}  {}", chainOpName(Op.Kind).str(),
                           Op.Layer, printable(S.Names[Op.Layer]));
      }};
  return std::visit([&](const auto &Ops) { return Text(Ops[I]); }, S.Ops);
}

/// What the optimal planner proved, and for which class, for one line of
/// output: "exhaustive search, proven optimal over all schedules", "500
/// memory slots, at most 53.2 ms above the optimum (lower bound 1785 ms)",
/// or, for a plan outside the bound's class, "MILP (CBC), lower bound 120
/// ms for the file's order of first computations (the plan uses another
/// order); best of 5 orders tried". Empty for strategies that prove nothing.
std::string optimalityText(const Schedule &S, StringRef TimeUnit) {
  if (!S.Optimality)
    return "";
  const OptimalityReport &R = *S.Optimality;
  std::string Class = R.Class.empty() ? "" : " " + R.Class;
  std::string Text;
  if (!R.PlanInClass)
    Text = fmt::format("{}, lower bound {:.6g} {}{} (the plan is outside that "
                       "class)",
                       R.Method, R.LowerBound, TimeUnit.str(), Class);
  else if (R.ProvenOptimal)
    // "Proven optimal" unqualified is kept for what an exhaustive search
    // over every schedule settled; within a narrower class the class says
    // what is proven.
    Text = fmt::format("{}, {}optimal{}", R.Method,
                       R.ClassKey == "all_schedules" ? "proven " : "", Class);
  else
    Text = fmt::format("{}, at most {:.6g} {} above the optimum{} (lower "
                       "bound {:.6g} {})",
                       R.Method, S.Predicted.Time - R.LowerBound,
                       TimeUnit.str(), Class, R.LowerBound, TimeUnit.str());
  if (!R.Detail.empty())
    Text += "; " + R.Detail;
  return Text;
}

/// The schedule as a listing: a comment header, then one op per line.
Expected<std::string> emitText(const Model &M, const Schedule &S) {
  auto R = simulate(M, S, {/*RecordTimeline=*/true});
  if (!R)
    return R.takeError();
  const Prediction &P = S.Predicted;
  std::string Out = fmt::format(
      "; remat schedule for model {} ({}), strategy {}, budget {}\n"
      "; peak {} bytes, time {:.6g} {}, baseline {} bytes / {:.6g} {}, "
      "overhead "
      "{:.2f}%, {} forward recomputations\n",
      printable(S.ModelName), printable(M.Path), S.Strategy,
      S.BudgetBytes ? std::to_string(*S.BudgetBytes) + " bytes" : "none",
      P.PeakBytes, P.Time, printable(M.TimeUnit), P.BaselinePeakBytes,
      P.BaselineTime, printable(M.TimeUnit), 100 * P.Overhead,
      P.ForwardRecomputations);
  if (std::string Opt = optimalityText(S, M.TimeUnit); !Opt.empty())
    Out += "; " + Opt + "\n";
  std::vector<std::string> Ops;
  size_t Width = 8;
  for (size_t I = 0; I < S.numOps(); ++I) {
    Ops.push_back(opText(S, I));
    Width = std::max(Width, Ops.back().size());
  }
  Out += fmt::format(";{:>7}  {:<{}}  {:>14}  {:>14}\n", "#", "op", Width,
                     "resident", "peak");
  for (size_t I = 0; I < Ops.size(); ++I)
    Out += fmt::format("{:>8}  {:<{}}  {:>14}  {:>14}\n", I, Ops[I], Width,
                       R->Timeline[I].AfterBytes, R->Timeline[I].PeakBytes);
  return Out;
}

} // namespace

int runPlan(ArrayRef<std::string> Args, raw_ostream &Out, raw_ostream &Err) {
  ArgParser P = makeParser();
  if (std::optional<int> Done = parseArgs(P, Args, 1, 1, Out, Err))
    return *Done;
  std::string Emit = P.get("emit").value_or("json");
  if (Emit != "json" && Emit != "text")
    return reportError(badInput("--emit must be json or text, got '{}'", Emit),
                       Err);
  auto M = loadModelFile(P.positionals()[0]);
  if (!M)
    return reportError(M.takeError(), Err);
  auto O = strategyOptions(P, *M);
  if (!O)
    return reportError(O.takeError(), Err);
  auto S = planStrategy(*M, *O);
  if (!S)
    return reportError(S.takeError(), Err);
  std::string Text;
  if (Emit == "json") {
    Text = scheduleToJson(*S, *M);
  } else {
    auto T = emitText(*M, *S);
    if (!T)
      return reportError(T.takeError(), Err);
    Text = std::move(*T);
  }
  std::string Path = P.get("output").value_or("-");
  if (Error E = writeOutput(Path, Text, Out, P.positionals()))
    return reportError(std::move(E), Err);
  if (Path != "-") {
    const Prediction &Pr = S->Predicted;
    Err << fmt::format("remat: wrote {}: {} plan, peak {} ({} without "
                       "checkpointing), time {:.6g} {}, overhead {:.2f}%\n",
                       Path, S->Strategy, formatSize(Pr.PeakBytes),
                       formatSize(Pr.BaselinePeakBytes), Pr.Time, M->TimeUnit,
                       100 * Pr.Overhead);
    if (std::string Opt = optimalityText(*S, M->TimeUnit); !Opt.empty())
      Err << "remat: " << Opt << "\n";
  }
  return ExitOk;
}

} // namespace remat::cli

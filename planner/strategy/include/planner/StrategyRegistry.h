//===- planner/StrategyRegistry.h - The table of strategies -----*- C++ -*-===//
//
// The strategies of planner/Strategies.def as data: each one's name,
// dialects, budget use, plan hooks and sweep, and the typed parameters of
// `plan`. planStrategy dispatches through it; the CLI builds `plan --help`
// and compare's rows from it; frontier and maxbatch take their sweeps from
// it.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_STRATEGYREGISTRY_H
#define REMAT_PLANNER_STRATEGYREGISTRY_H

#include "graph/Graph.h"
#include "planner/Schedule.h"
#include "planner/Strategy.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace remat {

enum class StrategyId {
#define STRATEGY(Id, ...) Id,
#include "planner/Strategies.def"
};

/// The model forms a strategy plans.
enum class StrategyDialects { Chain, Graph, Both };

/// What a strategy does with a budget.
enum class BudgetUse {
  /// Planned without it; planStrategy checks the plan's peak afterwards.
  Checked,
  /// Searches under it when one is given, plans without it otherwise.
  Optional,
  /// Cannot plan without one (`optimal`).
  Required,
};

/// A strategy's ops and, for the optimal planners, what they prove.
template <typename Op> struct PlannedOps {
  std::vector<Op> Ops;
  std::optional<OptimalityReport> Optimality;

  PlannedOps(std::vector<Op> Ops) : Ops(std::move(Ops)) {}
  PlannedOps(std::vector<Op> Ops, OptimalityReport R)
      : Ops(std::move(Ops)), Optimality(std::move(R)) {}
};

using ChainPlanFn = llvm::Expected<PlannedOps<ChainOp>> (*)(
    const Chain &, const StrategyOptions &);
using GraphPlanFn = llvm::Expected<PlannedOps<GraphOp>> (*)(
    const Graph &, const StrategyOptions &);

/// The commands that plan a grid of strategies.
enum class SweepCommand { Compare, Frontier, MaxBatch };

/// What a sweep is asked for: one command's grid on a chain or a graph
/// (exactly one of C and G is set).
struct SweepRequest {
  SweepCommand Command = SweepCommand::Compare;
  const Chain *C = nullptr;
  const Graph *G = nullptr;
  /// The command's budget, bytes; none when it has none.
  std::optional<uint64_t> BudgetBytes;
  /// maxbatch: the time limit of each graph optimal call, seconds.
  double TimeLimitSeconds = DefaultMaxBatchTimeLimitSeconds;

  /// \p Command's grid on the model \p M, chain or graph.
  static SweepRequest forModel(SweepCommand Command, const Model &M,
                               std::optional<uint64_t> BudgetBytes = {}) {
    SweepRequest R;
    R.Command = Command;
    R.C = M.isChain() ? &*M.AsChain : nullptr;
    R.G = M.isChain() ? nullptr : &M.G;
    R.BudgetBytes = BudgetBytes;
    return R;
  }
};

/// One row of a sweep: its label ("revolve --slots 4") and its options.
struct SweepPoint {
  std::string Label;
  StrategyOptions Opts;
};

/// Appends the strategy's points of the grid \p R asks for (none when the
/// command does not sweep it on that dialect).
using SweepFn = void (*)(const SweepRequest &R, std::vector<SweepPoint> &Out);

/// One line of planner/Strategies.def.
struct StrategyInfo {
  StrategyId Id;
  const char *Name;
  StrategyDialects Dialects;
  BudgetUse Budget;
  ChainPlanFn PlanChain; ///< Only called when Dialects covers chains.
  GraphPlanFn PlanGraph; ///< Only called when Dialects covers graphs.
  SweepFn Sweep;
  /// Place in the rows of compare, frontier and maxbatch (SweepCommand
  /// order); 0 when the command does not list the strategy.
  unsigned Rank[3];

  bool plansChains() const { return Dialects != StrategyDialects::Graph; }
  bool plansGraphs() const { return Dialects != StrategyDialects::Chain; }
};

/// Every strategy, in the order of planner/Strategies.def.
llvm::ArrayRef<StrategyInfo> allStrategies();

/// The strategy called \p Name; none when there is none.
const StrategyInfo *findStrategy(llvm::StringRef Name);

/// Names of the strategies for chains (\p Graphs false) or graphs, in table
/// order, joined by ", " (the lists of --help and the errors).
std::string strategyNameList(bool Graphs);

/// The points of \p R's grid over every strategy, in the command's order.
std::vector<SweepPoint> sweepStrategies(const SweepRequest &R);

/// The C++ type of a `plan` parameter.
enum class ParamKind { Unsigned, List, Mode, Seconds, Flag };

/// One STRATEGY_PARAM line: a typed option of `plan`.
struct StrategyParam {
  const char *Spelling;
  const char *Meta;
  std::string Default;
  const char *Help;
  ParamKind Kind;
  /// The field it fills: the one member matching Kind is set.
  unsigned StrategyOptions::*UnsignedField = nullptr;
  std::vector<std::string> StrategyOptions::*ListField = nullptr;
  GraphMode StrategyOptions::*ModeField = nullptr;
  double StrategyOptions::*SecondsField = nullptr;
  /// A flag: present sets it (its Meta is empty and it has no default).
  bool StrategyOptions::*FlagField = nullptr;
};

/// Every STRATEGY_PARAM line, in --help order.
llvm::ArrayRef<StrategyParam> strategyParams();

// The hooks named in planner/Strategies.def. NoPlan stands for a dialect a
// strategy does not plan; it is never called.
#define STRATEGY(Id, Name, Dialects, Budget, PlanChain, PlanGraph, Sweep, ...) \
  llvm::Expected<PlannedOps<ChainOp>> PlanChain(const Chain &,                 \
                                                const StrategyOptions &);      \
  llvm::Expected<PlannedOps<GraphOp>> PlanGraph(const Graph &,                 \
                                                const StrategyOptions &);      \
  void Sweep(const SweepRequest &, std::vector<SweepPoint> &);
#include "planner/Strategies.def"

} // namespace remat

#endif // REMAT_PLANNER_STRATEGYREGISTRY_H

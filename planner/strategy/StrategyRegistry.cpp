//===- planner/strategy/StrategyRegistry.cpp - The table of strategies ----===//

#include "planner/StrategyRegistry.h"

#include "planner/Errors.h"

#include <fmt/format.h>

#include <algorithm>

using namespace llvm;

namespace remat {

Expected<PlannedOps<ChainOp>> NoPlan(const Chain &, const StrategyOptions &O) {
  return make_error<InternalError>("strategy '" + O.Name +
                                   "' has no chain planner");
}

Expected<PlannedOps<GraphOp>> NoPlan(const Graph &, const StrategyOptions &O) {
  return make_error<InternalError>("strategy '" + O.Name +
                                   "' has no graph planner");
}

ArrayRef<StrategyInfo> allStrategies() {
  static const StrategyInfo Table[] = {
#define STRATEGY(Id, Name, Dialects, Budget, PlanChain, PlanGraph, Sweep,      \
                 CompareRank, FrontierRank, MaxBatchRank)                      \
  {StrategyId::Id,                                                             \
   Name,                                                                       \
   StrategyDialects::Dialects,                                                 \
   BudgetUse::Budget,                                                          \
   &PlanChain,                                                                 \
   &PlanGraph,                                                                 \
   &Sweep,                                                                     \
   {CompareRank, FrontierRank, MaxBatchRank}},
#include "planner/Strategies.def"
  };
  return Table;
}

const StrategyInfo *findStrategy(StringRef Name) {
  for (const StrategyInfo &S : allStrategies())
    if (Name == S.Name)
      return &S;
  return nullptr;
}

std::string strategyNameList(bool Graphs) {
  std::string Out;
  for (const StrategyInfo &S : allStrategies())
    if (Graphs ? S.plansGraphs() : S.plansChains())
      Out += (Out.empty() ? "" : ", ") + std::string(S.Name);
  return Out;
}

std::vector<SweepPoint> sweepStrategies(const SweepRequest &R) {
  unsigned Cmd = unsigned(R.Command);
  std::vector<const StrategyInfo *> Order;
  for (const StrategyInfo &S : allStrategies())
    if (S.Rank[Cmd] && (R.G ? S.plansGraphs() : S.plansChains()))
      Order.push_back(&S);
  llvm::stable_sort(Order, [&](const StrategyInfo *A, const StrategyInfo *B) {
    return A->Rank[Cmd] < B->Rank[Cmd];
  });
  std::vector<SweepPoint> Out;
  for (const StrategyInfo *S : Order)
    S->Sweep(R, Out);
  return Out;
}

/// A parameter whose field's type gives its kind.
static StrategyParam param(unsigned StrategyOptions::*F, StrategyParam P) {
  P.Kind = ParamKind::Unsigned;
  P.UnsignedField = F;
  return P;
}
static StrategyParam param(std::vector<std::string> StrategyOptions::*F,
                           StrategyParam P) {
  P.Kind = ParamKind::List;
  P.ListField = F;
  return P;
}
static StrategyParam param(GraphMode StrategyOptions::*F, StrategyParam P) {
  P.Kind = ParamKind::Mode;
  P.ModeField = F;
  return P;
}
static StrategyParam param(double StrategyOptions::*F, StrategyParam P) {
  P.Kind = ParamKind::Seconds;
  P.SecondsField = F;
  return P;
}
static StrategyParam param(bool StrategyOptions::*F, StrategyParam P) {
  P.Kind = ParamKind::Flag;
  P.FlagField = F;
  return P;
}

ArrayRef<StrategyParam> strategyParams() {
  static const std::vector<StrategyParam> Params = {
#define STRATEGY_PARAM(Field, Spelling, Meta, Default, Help)                   \
  param(&StrategyOptions::Field,                                               \
        {Spelling, Meta, Default, Help, ParamKind::Unsigned}),
#include "planner/Strategies.def"
  };
  return Params;
}

} // namespace remat

//===- tests/planner/StrategyRegistryTest.cpp - The strategy table --------===//
//
// The registry against what the spec (docs/formats.md §4) and the help
// texts promise: the strategy lists per dialect, the budget rules, and the
// grids compare, frontier and maxbatch plan, worked out by hand for a
// 9-stage chain.
//
//===----------------------------------------------------------------------===//

#include "planner/StrategyRegistry.h"

#include "planner/Strategy.h"

#include "SimTestUtil.h"

#include <doctest/doctest.h>

#include <set>

using namespace remat;

namespace {

/// Nine stages, kinds in file order mlp, attention, mlp, ... (attention at
/// the odd positions).
Chain nineStages() {
  Chain C;
  C.InputBytes = 8;
  for (unsigned I = 0; I < 9; ++I)
    C.Stages.push_back({"s" + std::to_string(I), I % 2 ? "attention" : "mlp", 1,
                        2, 8, 16, 0, 0});
  return C;
}

std::vector<std::string> labels(const std::vector<SweepPoint> &P) {
  std::vector<std::string> Out;
  for (const SweepPoint &X : P)
    Out.push_back(X.Label);
  return Out;
}

} // namespace

TEST_CASE("strategy registry: the lists of spec section 4") {
  CHECK(strategyNameList(false) ==
        "none, sequential, every, sqrt, selective, chen, revolve, optimal");
  CHECK(strategyNameList(true) == "none, recompute-all, chen, optimal");
  Model M = test::chainModel(test::handChain());
  CHECK(applicableStrategies(M) ==
        std::vector<std::string>{"none", "sequential", "every", "sqrt",
                                 "selective", "chen", "revolve", "optimal"});
  CHECK(strategyNeedsBudget("optimal"));
  CHECK_FALSE(strategyNeedsBudget("chen"));
  CHECK_FALSE(strategyNeedsBudget("no-such-strategy"));
  CHECK(findStrategy("chen")->Budget == BudgetUse::Optional);
  CHECK(findStrategy("no-such-strategy") == nullptr);
}

TEST_CASE("strategy registry: names, ranks and parameters are unique") {
  std::set<std::string> Names;
  for (const StrategyInfo &S : allStrategies())
    CHECK(Names.insert(S.Name).second);
  // Within one command and one dialect no two strategies share a rank, so
  // each command's order is total.
  for (unsigned Cmd = 0; Cmd < 3; ++Cmd)
    for (bool Graphs : {false, true}) {
      std::set<unsigned> Ranks;
      for (const StrategyInfo &S : allStrategies())
        if (S.Rank[Cmd] && (Graphs ? S.plansGraphs() : S.plansChains()))
          CHECK(Ranks.insert(S.Rank[Cmd]).second);
    }
  std::set<std::string> Spellings;
  for (const StrategyParam &P : strategyParams())
    CHECK(Spellings.insert(P.Spelling).second);
  // segments k kinds slots memory-slots exact mode time-limit
  // recompute-once-in-backward
  CHECK(Spellings.size() == 9);
}

TEST_CASE("strategy registry: compare's grid on nine stages") {
  Chain C = nineStages();
  Model M = test::chainModel(C);
  // L = 9: ceil(sqrt 9) = 3 segments; revolve slots {2, ceil(log2 9)+1 =
  // 5, ceil(sqrt 9) = 3}, ascending; kinds in file order (mlp first);
  // optimal only with a budget.
  std::vector<std::string> Want = {"none",
                                   "sequential --segments 3",
                                   "every --k 2",
                                   "sqrt",
                                   "selective --kinds mlp",
                                   "selective --kinds attention",
                                   "chen",
                                   "revolve --slots 2",
                                   "revolve --slots 3",
                                   "revolve --slots 5"};
  CHECK(labels(sweepStrategies(
            SweepRequest::forModel(SweepCommand::Compare, M))) == Want);
  Want.push_back("optimal");
  auto Budgeted = sweepStrategies(
      SweepRequest::forModel(SweepCommand::Compare, M, uint64_t(1000)));
  CHECK(labels(Budgeted) == Want);
  for (const SweepPoint &P : Budgeted)
    if (P.Opts.Name == "chen" || P.Opts.Name == "optimal")
      CHECK(P.Opts.BudgetBytes == uint64_t(1000));
    else
      CHECK_FALSE(P.Opts.BudgetBytes);
}

TEST_CASE("strategy registry: frontier and maxbatch grids on nine stages") {
  Chain C = nineStages();
  Model M = test::chainModel(C);
  // Counts 2, 4, 8 (all <= 9 stages); kinds sorted (attention < mlp); the
  // frontier plots chen's least-peak plan, without the budget.
  auto F = sweepStrategies(
      SweepRequest::forModel(SweepCommand::Frontier, M, uint64_t(1000)));
  CHECK(labels(F) == std::vector<std::string>{
                         "none", "sqrt", "sequential --segments 2",
                         "sequential --segments 4", "sequential --segments 8",
                         "chen", "revolve --slots 2", "revolve --slots 4",
                         "revolve --slots 8", "selective --kinds attention",
                         "selective --kinds mlp"});
  for (const SweepPoint &P : F)
    CHECK_FALSE(P.Opts.BudgetBytes);
  // maxbatch adds per-layer checkpointing (every --k 1) and leaves the
  // chain optimal rows to the DP's frontier.
  auto B = sweepStrategies(
      SweepRequest::forModel(SweepCommand::MaxBatch, M, uint64_t(1000)));
  CHECK(labels(B) ==
        std::vector<std::string>{
            "none", "every --k 1", "sqrt", "sequential --segments 2",
            "sequential --segments 4", "sequential --segments 8", "chen",
            "revolve --slots 2", "revolve --slots 4", "revolve --slots 8",
            "selective --kinds attention", "selective --kinds mlp"});
}

TEST_CASE("strategy registry: graph grids") {
  Model M = test::chainModel(test::handChain());
  M.AsChain.reset(); // the lowered chain, as a graph model
  auto Labels = [&](SweepCommand Cmd, std::optional<uint64_t> Budget) {
    return labels(sweepStrategies(SweepRequest::forModel(Cmd, M, Budget)));
  };
  using V = std::vector<std::string>;
  CHECK(Labels(SweepCommand::Compare, std::nullopt) ==
        V{"none", "recompute-all", "chen"});
  CHECK(Labels(SweepCommand::Compare, 100) ==
        V{"none", "recompute-all", "chen", "optimal"});
  CHECK(Labels(SweepCommand::Frontier, 100) ==
        V{"none", "recompute-all", "chen"});
  auto B = sweepStrategies(
      SweepRequest::forModel(SweepCommand::MaxBatch, M, uint64_t(100)));
  CHECK(labels(B) == V{"none", "recompute-all", "chen", "optimal"});
  CHECK(B.back().Opts.Mode == GraphMode::Scalable);
}

TEST_CASE("strategy registry: a strategy outside its dialect is unknown") {
  Model M = test::chainModel(test::handChain());
  StrategyOptions O;
  O.Name = "recompute-all";
  auto S = planStrategy(M, O);
  REQUIRE_FALSE(S);
  CHECK(llvm::toString(S.takeError()) ==
        "unknown strategy 'recompute-all' for a chain model (choose from "
        "none, sequential, every, sqrt, selective, chen, revolve, optimal)");
  O.ForceGraph = true; // the lowered chain plans through the graph table
  CHECK(bool(planStrategy(M, O)));
}

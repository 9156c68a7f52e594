//===- tests/planner/StrategyPropertyTest.cpp - Every strategy ------------===//
//
// On 1,000 random chains (fixed seed; L from 1 to 30, random sizes, times and
// workspaces), every classic strategy's plan must be valid and complete, its
// `predicted` block must equal a fresh simulation, its file must round-trip
// byte-identically, and forward_recomputations must match a count of the
// forward ops.

#include "SimTestUtil.h"

#include "planner/ChainStrategies.h"
#include "planner/Errors.h"
#include "planner/ScheduleIO.h"
#include "planner/Simulator.h"
#include "planner/Strategy.h"

#include <doctest/doctest.h>

#include <random>

using namespace remat;
using namespace remat::test;

namespace {

const char *const KindNames[] = {"attention", "mlp", "norm"};

Chain randomChain(std::mt19937_64 &Rng) {
  Chain C;
  C.InputBytes = 1 + Rng() % 1000;
  unsigned L = 1 + Rng() % 30;
  for (unsigned I = 0; I < L; ++I) {
    Stage S;
    S.Name = "layer" + std::to_string(I);
    S.Kind = KindNames[Rng() % 3];
    // Times with fractions exercise the round-trip printing of doubles.
    S.FwdTime = double(Rng() % 1000) / 7.0;
    S.BwdTime = double(Rng() % 1000) / 3.0;
    S.OutputBytes = 1 + Rng() % 1000;
    S.SavedBytes = S.OutputBytes + Rng() % 3000;
    S.FwdWorkspace = Rng() % 4 == 0 ? Rng() % 500 : 0;
    S.BwdWorkspace = Rng() % 4 == 0 ? Rng() % 500 : 0;
    C.Stages.push_back(S);
  }
  C.Loss = {double(Rng() % 100) / 10.0, Rng() % 100};
  return C;
}

/// A random applicable option set for each classic strategy.
std::vector<StrategyOptions> optionsFor(const Chain &C, std::mt19937_64 &Rng) {
  unsigned L = C.size();
  std::vector<StrategyOptions> Out;
  auto Add = [&](const char *Name) -> StrategyOptions & {
    Out.push_back({});
    Out.back().Name = Name;
    return Out.back();
  };
  Add("none");
  Add("sequential").Segments = 1 + Rng() % L;
  Add("every").K = 1 + Rng() % L;
  Add("sqrt");
  Add("selective").Kinds = {C.Stages[Rng() % L].Kind};
  Add("chen");
  return Out;
}

void checkPlan(const Model &M, const Schedule &S) {
  const Chain &C = *M.AsChain;
  auto Fresh = simulateChain(C, S.chainOps());
  REQUIRE(Fresh);
  CHECK(S.Predicted.PeakBytes == Fresh->PeakBytes);
  CHECK(S.Predicted.Time == Fresh->Time);
  uint64_t ForwardOps = 0;
  for (const ChainOp &Op : S.chainOps())
    ForwardOps += Op.isForward();
  CHECK(S.Predicted.ForwardRecomputations == ForwardOps - C.size());
  auto Base = simulateChain(C, storeAllOps(C));
  REQUIRE(Base);
  CHECK(S.Predicted.BaselinePeakBytes == Base->PeakBytes);
  CHECK(S.Predicted.BaselineTime == Base->Time);

  std::string Text = scheduleToJson(S, M);
  auto Back = parseScheduleText(Text, "plan.json", &M);
  REQUIRE(Back);
  CHECK(Back->chainOps() == S.chainOps());
  CHECK(Back->Predicted.PeakBytes == S.Predicted.PeakBytes);
  CHECK(Back->Predicted.Time == S.Predicted.Time);
  CHECK(scheduleToJson(*Back, M) == Text);
}

} // namespace

TEST_CASE("strategy properties: 1000 random chains, every classic strategy") {
  std::mt19937_64 Rng(20160421);
  for (int Trial = 0; Trial < 1000; ++Trial) {
    Model M = chainModel(randomChain(Rng));
    for (const StrategyOptions &O : optionsFor(*M.AsChain, Rng)) {
      CAPTURE(Trial);
      CAPTURE(O.Name);
      auto S = planStrategy(M, O);
      if (!S)
        FAIL(llvm::toString(S.takeError()));
      checkPlan(M, *S);
    }
  }
}

TEST_CASE("strategy properties: budgets are honoured or refused exactly") {
  std::mt19937_64 Rng(1604);
  for (int Trial = 0; Trial < 200; ++Trial) {
    Model M = chainModel(randomChain(Rng));
    for (StrategyOptions O : optionsFor(*M.AsChain, Rng)) {
      CAPTURE(Trial);
      CAPTURE(O.Name);
      auto Free = planStrategy(M, O);
      REQUIRE(Free);
      // A budget equal to the free plan's peak always works; one byte less
      // works only for chen, which may pick another plan, else must name a
      // smallest feasible budget above the given one.
      O.BudgetBytes = Free->Predicted.PeakBytes;
      auto Fit = planStrategy(M, O);
      REQUIRE(Fit);
      CHECK(Fit->Predicted.PeakBytes <= *O.BudgetBytes);
      O.BudgetBytes = *O.BudgetBytes - 1;
      auto Tight = planStrategy(M, O);
      if (Tight) {
        CHECK(Tight->Predicted.PeakBytes <= *O.BudgetBytes);
        continue;
      }
      uint64_t Named = 0;
      llvm::handleAllErrors(
          Tight.takeError(),
          [&](const InfeasibleBudgetError &E) { Named = E.MinFeasibleBytes; },
          [&](const llvm::ErrorInfoBase &E) { FAIL(E.message()); });
      CHECK(Named > *O.BudgetBytes);
    }
  }
}

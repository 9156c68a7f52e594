//===- tests/planner/FrontierTest.cpp - The budget -> time curve ----------===//

#include "planner/Frontier.h"

#include "BruteForce.h"
#include "TestUtil.h"
#include "graph/ModelLoader.h"
#include "planner/ChainDP.h"
#include "planner/Strategy.h"

#include <doctest/doctest.h>

using namespace remat;
using namespace remat::test;

TEST_CASE("frontier: the knee by hand") {
  // x scales to 0, 0.1, 1 and y to 1, 1/9, 0; 1 - x - y is 0, 0.79, 0.
  std::vector<FrontierPoint> P = {{0, 10, 0}, {10, 2, 0}, {100, 1, 0}};
  CHECK(kneeIndex(P) == 1);
  // Fewer than three points: the first.
  CHECK(kneeIndex(std::vector<FrontierPoint>{{0, 2, 0}, {5, 1, 0}}) == 0);
}

TEST_CASE("frontier: chain model, strategies never below the curve") {
  auto M = loadModelFile(sourcePath("tests/data/chain4.json"));
  REQUIRE_MESSAGE(bool(M), llvm::toString(M.takeError()));
  auto F = computeFrontier(*M);
  REQUIRE_MESSAGE(bool(F), llvm::toString(F.takeError()));
  REQUIRE(!F->Points.empty());
  CHECK(F->MemorySlots == 0);
  CHECK(F->Points.front().BudgetBytes == minFeasibleChainBudget(*M->AsChain));
  // The fastest point is the store-all time (store-all is in the class).
  CHECK(F->Points.back().Time == doctest::Approx(F->BaselineTime));
  CHECK(F->Points.back().BudgetBytes <= F->BaselinePeakBytes);
  REQUIRE(!F->Strategies.empty());
  for (const StrategyPoint &S : F->Strategies) {
    CAPTURE(S.Label);
    // The curve's value at the strategy's peak is no slower than it.
    double Opt = 1e300;
    for (const FrontierPoint &P : F->Points)
      if (P.BudgetBytes <= S.PeakBytes)
        Opt = P.Time;
    CHECK(Opt <= S.Time + 1e-9);
  }
}

TEST_CASE("frontier: graph models are sampled with simulated plans") {
  auto M = loadModelFile(sourcePath("tests/data/diamond.json"));
  REQUIRE_MESSAGE(bool(M), llvm::toString(M.takeError()));
  auto F = computeFrontier(*M);
  REQUIRE_MESSAGE(bool(F), llvm::toString(F.takeError()));
  CHECK(F->Sampled);
  REQUIRE(!F->Points.empty());
  // A Pareto curve: budgets rise strictly while times fall strictly.
  for (size_t K = 1; K < F->Points.size(); ++K) {
    CHECK(F->Points[K - 1].BudgetBytes < F->Points[K].BudgetBytes);
    CHECK(F->Points[K - 1].Time > F->Points[K].Time);
  }
  // Storing everything is the fastest plan, so it closes the curve.
  CHECK(F->Points.back().BudgetBytes == F->BaselinePeakBytes);
  CHECK(F->Points.back().Time == doctest::Approx(F->BaselineTime));
  // Every point is a budget that the optimal strategy can meet.
  for (const FrontierPoint &P : F->Points) {
    StrategyOptions O;
    O.Name = "optimal";
    O.BudgetBytes = P.BudgetBytes;
    auto S = planStrategy(*M, O);
    REQUIRE_MESSAGE(bool(S), llvm::toString(S.takeError()));
    CHECK(S->Predicted.PeakBytes <= P.BudgetBytes);
  }
  REQUIRE(!F->Strategies.empty());
  CHECK(F->Strategies.front().Label == "none");
  CHECK(F->Strategies.front().PeakBytes == F->BaselinePeakBytes);
}

TEST_CASE("frontier: discretised points are valid plans above the exact "
          "curve") {
  std::mt19937_64 Rng(3);
  for (int Trial = 0; Trial < 20; ++Trial) {
    Chain C = randomChain(Rng, 4 + Trial % 10, 1000);
    std::vector<ChainFrontierPoint> Exact = optimalChainFrontier(C);
    std::vector<ChainFrontierPoint> Approx = optimalChainFrontier(C, 64);
    REQUIRE(!Approx.empty());
    for (const ChainFrontierPoint &P : Approx) {
      auto R = planOptimalChain(C, {P.BudgetBytes, 0});
      REQUIRE(bool(R));
      CHECK(R->Time <= P.Time + 1e-9);
    }
    // With enough memory both reach the store-all time.
    CHECK(Approx.back().Time == doctest::Approx(Exact.back().Time));
  }
}

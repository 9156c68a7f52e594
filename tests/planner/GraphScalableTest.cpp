//===- tests/planner/GraphScalableTest.cpp - Scalable graph planner -------===//
//
// Properties over seeded random training graphs: every plan the keep-set
// engine, the scalable search and the baselines produce is valid, complete
// and (when it claims so) within its budget, checked by the project's
// simulator rather than by the planners' own accounting.
//
//===----------------------------------------------------------------------===//

#include "planner/GraphScalable.h"
#include "graph/RandomGraphs.h"
#include "planner/GraphPlanner.h"
#include "planner/Simulator.h"

#include <doctest/doctest.h>

#include <string>

using namespace remat;

namespace {

/// Simulates \p P with simulateGraph and checks that its figures match.
SimResult simulateChecked(const Graph &G, const KeepSetPlan &P) {
  auto S = simulateGraph(G, P.Ops);
  if (!S) {
    FAIL(llvm::toString(S.takeError()));
    return {};
  }
  CHECK(S->PeakBytes == P.PeakBytes);
  CHECK(S->Time == doctest::Approx(P.Time));
  return *S;
}

uint64_t storeAllPeak(const Graph &G) {
  auto S = simulateGraph(G, storeAllGraphOps(G));
  REQUIRE(static_cast<bool>(S));
  return S->PeakBytes;
}

double totalTime(const Graph &G) {
  double T = 0;
  for (const Node &N : G.Nodes)
    T += N.Time;
  return T;
}

struct Case {
  const char *Family;
  uint64_t Seed;
  unsigned Nodes;
};

const Case Cases[] = {{"layered", 1, 41},     {"layered", 2, 81},
                      {"unet", 4, 61},        {"unet", 5, 101},
                      {"transformer", 6, 41}, {"transformer", 7, 81}};

} // namespace

TEST_CASE("graphscalable: keeping everything is store-all") {
  for (const Case &C : Cases) {
    Graph G = generateGraph(C.Family, C.Seed, C.Nodes);
    KeepPolicy P;
    P.Keep = llvm::BitVector(G.size(), true);
    KeepSetPlan Plan = runKeepSet(G, P);
    SimResult S = simulateChecked(G, Plan);
    // Nothing dropped: each node once, frees after the last user, exactly
    // the store-everything plan.
    CHECK(S.Time == doctest::Approx(totalTime(G)));
    CHECK(Plan.Recomputations == 0);
    CHECK(S.PeakBytes == storeAllPeak(G));
  }
}

TEST_CASE("graphscalable: dropping everything is valid") {
  for (const Case &C : Cases) {
    Graph G = generateGraph(C.Family, C.Seed, C.Nodes);
    for (bool Retain : {false, true}) {
      KeepPolicy P;
      P.Keep = dropCandidates(G);
      P.Keep.flip();
      P.RetainRecomputed = Retain;
      KeepSetPlan Plan = runKeepSet(G, P);
      simulateChecked(G, Plan);
      CHECK(Plan.Recomputations > 0);
      // Eager drops on top (freed between same-pass readers) stay valid and
      // recompute at least as much.
      P.Eager = eagerCandidates(G);
      P.Keep.reset(P.Eager);
      KeepSetPlan EagerPlan = runKeepSet(G, P);
      simulateChecked(G, EagerPlan);
      CHECK(EagerPlan.Recomputations >= Plan.Recomputations);
    }
  }
}

TEST_CASE("graphscalable: plans are valid and within budget") {
  for (const Case &C : Cases) {
    Graph G = generateGraph(C.Family, C.Seed, C.Nodes);
    uint64_t Full = storeAllPeak(G);
    for (double Frac : {0.3, 0.5, 0.7, 0.9, 1.0}) {
      CAPTURE(C.Family);
      CAPTURE(C.Seed);
      CAPTURE(Frac);
      uint64_t Budget = uint64_t(double(Full) * Frac);
      ScalableResult R = planGraphScalable(G, {Budget});
      simulateChecked(G, R.MinPeak);
      if (Frac == 1.0)
        CHECK(R.Found);
      if (!R.Found) {
        CHECK(R.MinPeak.PeakBytes > Budget);
        continue;
      }
      SimResult S = simulateChecked(G, R.Best);
      CHECK(S.PeakBytes <= Budget);
      CHECK(S.Time >= totalTime(G));
    }
  }
}

TEST_CASE("graphscalable: the least peak seen is a budget that succeeds") {
  for (const Case &C : Cases) {
    Graph G = generateGraph(C.Family, C.Seed, C.Nodes);
    ScalableResult Min = planGraphScalable(G, {0});
    CHECK_FALSE(Min.Found);
    ScalableResult At = planGraphScalable(G, {Min.MinPeak.PeakBytes});
    REQUIRE(At.Found);
    CHECK(simulateChecked(G, At.Best).PeakBytes <= Min.MinPeak.PeakBytes);
    CHECK_FALSE(planGraphScalable(G, {Min.MinPeak.PeakBytes - 1}).Found);
  }
}

TEST_CASE("graphscalable: baselines are valid; recompute-all recomputes once") {
  for (const Case &C : Cases) {
    Graph G = generateGraph(C.Family, C.Seed, C.Nodes);
    unsigned Forward = 0;
    for (const Node &N : G.Nodes)
      Forward += N.NodePhase != Phase::Backward;
    SimResult S = simulateChecked(G, recomputeAllPlan(G));
    CHECK(S.ForwardRecomputations <= Forward);
    std::vector<KeepSetPlan> Chen = chenPlans(G);
    REQUIRE(Chen.size() >= 2);
    for (const KeepSetPlan &P : Chen) {
      SimResult SC = simulateChecked(G, P);
      // Chen recomputes each segment once: at most one extra compute per
      // forward node.
      CHECK(SC.ForwardRecomputations <= Forward);
    }
    // b = 0 keeps every candidate: the store-all plan.
    CHECK(Chen.front().PeakBytes == storeAllPeak(G));
  }
}

TEST_CASE("graphscalable: measureGraphOps rejects what the simulator does") {
  Graph G = generateGraph("layered", 9, 21);
  std::vector<GraphOp> Ops = storeAllGraphOps(G);
  REQUIRE(measureGraphOps(G, Ops).has_value());
  // Dropping the first compute leaves its users without an operand.
  std::vector<GraphOp> Bad(Ops.begin() + 1, Ops.end());
  CHECK_FALSE(measureGraphOps(G, Bad).has_value());
  auto SB = simulateGraph(G, Bad);
  CHECK_FALSE(static_cast<bool>(SB));
  if (!SB)
    llvm::consumeError(SB.takeError());
  // Computing a resident node twice is invalid in both.
  std::vector<GraphOp> Twice = Ops;
  Twice.insert(Twice.begin() + 1, Ops.front());
  CHECK_FALSE(measureGraphOps(G, Twice).has_value());
  auto S = simulateGraph(G, Twice);
  CHECK_FALSE(static_cast<bool>(S));
  if (!S)
    llvm::consumeError(S.takeError());
}

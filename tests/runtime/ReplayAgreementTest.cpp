//===- tests/runtime/ReplayAgreementTest.cpp - Executor and simulator -----===//
//
// The executor and the simulator share the replay engines of
// planner/ChainReplay.h and planner/GraphReplay.h. On seeded random op
// sequences (tests/planner/SpecReplay.h) they must refuse the same
// schedules at the same op, and agree on the peak of the ones they accept:
// the simulator's by arithmetic, the executor's by its tracking allocator.

#include "planner/BruteForce.h"
#include "planner/SpecReplay.h"

#include "models/RandomGraphs.h"
#include "planner/Errors.h"
#include "planner/Simulator.h"
#include "runtime/Executor.h"
#include "runtime/Synthetic.h"

#include <doctest/doctest.h>

using namespace remat;
using namespace remat::test;

namespace {
/// "op 7" for an error about op 7, "end" for one about the whole schedule
/// (incomplete), "ok" for success.
template <typename T> std::string verdict(llvm::Expected<T> &R) {
  if (R)
    return "ok";
  std::string Msg = llvm::toString(R.takeError());
  if (Msg.rfind("op ", 0) != 0)
    return "end";
  return Msg.substr(0, Msg.find_first_of(" :", 3));
}

/// Counts of accepted and refused schedules over one test case.
struct Tally {
  unsigned Accepted = 0, Refused = 0;

  /// Checks that the simulation \p Sim and the run \p Run agree: the same
  /// verdict, and on success the same peak and recomputations.
  void check(llvm::Expected<SimResult> Sim, llvm::Expected<RunResult> Run) {
    if (Sim && Run) {
      CHECK(Run->PeakBytes == Sim->PeakBytes);
      CHECK(Run->ForwardRecomputations == Sim->ForwardRecomputations);
    }
    std::string SimV = verdict(Sim), RunV = verdict(Run);
    CHECK(SimV == RunV);
    Accepted += SimV == "ok";
    Refused += SimV != "ok";
  }
};
} // namespace

TEST_CASE("replay agreement: executor and simulator refuse the same chain "
          "ops") {
  // 600 seeded sequences on seeded random chains of 1 to 4 stages.
  std::mt19937_64 Rng(16);
  auto Dev = createCpuBackend();
  Tally T;
  for (int Case = 0; Case < 600; ++Case) {
    Chain C = randomChain(Rng, 1 + Case % 4);
    std::vector<ChainOp> Ops = randomChainOps(Rng, C.size());
    SyntheticWorkload W(C, *Dev, 0);
    CAPTURE(Case);
    T.check(simulateChain(C, Ops), runChain(W, Ops, *Dev));
  }
  CHECK(T.Accepted > 30);
  CHECK(T.Refused > 300);
}

TEST_CASE("replay agreement: executor and simulator refuse the same graph "
          "ops") {
  std::mt19937_64 Rng(16);
  auto Dev = createCpuBackend();
  Tally T;
  for (int Case = 0; Case < 300; ++Case) {
    Graph G = randomLayeredGraph(Case, 3 + Case % 4, 2);
    std::vector<GraphOp> Ops = randomGraphOps(Rng, G);
    CAPTURE(Case);
    T.check(simulateGraph(G, Ops), runGraphSynthetic(G, Ops, *Dev, 0));
  }
  CHECK(T.Accepted > 30);
  CHECK(T.Refused > 100);
}

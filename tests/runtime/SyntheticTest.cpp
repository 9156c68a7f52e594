//===- tests/runtime/SyntheticTest.cpp - Measured peak == predicted peak --===//
//
// Every chain strategy on the bundled models (bytes scaled down) and on
// random chains with fixed seeds: the executor's tracking-allocator peak must
// equal the simulator's peak exactly, and its forward recomputations the
// schedule's. Times are not judged here (speed belongs in bench/).
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"
#include "TestUtil.h"

#include "graph/Lowering.h"
#include "graph/ModelLoader.h"
#include "planner/Baselines.h"
#include "planner/Errors.h"
#include "planner/Simulator.h"
#include "planner/Strategy.h"
#include "runtime/Validate.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <doctest/doctest.h>

#include <algorithm>

using namespace remat;
using namespace remat::test;

namespace {
/// The options a strategy needs to run on a model of \p L stages.
StrategyOptions optionsFor(const std::string &Name, const Model &M,
                           std::optional<uint64_t> Budget) {
  unsigned L = M.isChain() ? M.AsChain->size() : 0;
  StrategyOptions O;
  O.Name = Name;
  O.Segments = std::max(1u, std::min(4u, L));
  O.K = 3;
  // selective recomputes the first stage's kind, which always exists.
  if (L)
    O.Kinds = {M.AsChain->Stages[0].Kind};
  O.Slots = std::max(1u, std::min(4u, L));
  O.BudgetBytes = Budget;
  return O;
}

/// Plans \p Name; an infeasible budget is retried at the smallest feasible
/// one the planner names. Returns nullopt (with a visible message) when the
/// strategy is not implemented yet or does not apply.
std::optional<Schedule> plan(const Model &M, const std::string &Name,
                             std::optional<uint64_t> Budget) {
  StrategyOptions O = optionsFor(Name, M, Budget);
  for (int Try = 0; Try < 2; ++Try) {
    auto S = planStrategy(M, O);
    if (S)
      return std::move(*S);
    std::string Msg;
    std::optional<uint64_t> Min;
    llvm::handleAllErrors(
        S.takeError(),
        [&](const InfeasibleBudgetError &E) {
          Min = E.MinFeasibleBytes;
          Msg = E.message();
        },
        [&](const llvm::ErrorInfoBase &E) { Msg = E.message(); });
    if (Min && Try == 0) {
      O.BudgetBytes = Min;
      continue;
    }
    if (Msg.find("not implemented") != std::string::npos) {
      MESSAGE("skipped strategy '" << Name << "' on " << M.Name << ": " << Msg);
      return std::nullopt;
    }
    FAIL_CHECK("strategy '" << Name << "' on " << M.Name << ": " << Msg);
    return std::nullopt;
  }
  return std::nullopt;
}

/// Validates \p S synthetically and checks the exact lines.
void checkExact(const Model &M, const Schedule &S, uint64_t Scale) {
  ValidateOptions O;
  O.BytesScale = Scale;
  O.MicrosPerUnit = 0.05;
  auto R = validateSchedule(M, S, O);
  REQUIRE_MESSAGE(bool(R), (R ? "" : llvm::toString(R.takeError())));
  INFO(M.Name << " / " << S.Strategy);
  // The prediction, recomputed here on the scaled model without the engine.
  std::optional<uint64_t> Expected;
  if (S.dialect() == Dialect::Chain) {
    auto Sim = simulateChain(scaleChainBytes(*M.AsChain, Scale), S.chainOps());
    REQUIRE(bool(Sim));
    Expected = Sim->PeakBytes;
  } else {
    auto Sim = simulateGraph(scaleGraphBytes(M.G, Scale), S.graphOps());
    REQUIRE(bool(Sim));
    Expected = Sim->PeakBytes;
  }
  CHECK(R->Run.PeakBytes == *Expected);
  CHECK(R->Run.ForwardRecomputations == S.Predicted.ForwardRecomputations);
  for (const Comparison &C : R->Rows)
    if (C.Metric == "peak_bytes" || C.Metric == "baseline_peak_bytes" ||
        C.Metric == "forward_recomputations")
      CHECK_MESSAGE(C.Ok, C.Metric << ": predicted " << C.Predicted
                                   << ", measured " << C.Measured);
  if (Scale == 1)
    CHECK(R->Run.PeakBytes == S.Predicted.PeakBytes);
}

std::vector<std::string> bundledModels() {
  std::vector<std::string> Paths;
  std::error_code EC;
  std::string Dir = sourcePath("data/models");
  for (llvm::sys::fs::directory_iterator It(Dir, EC), End; It != End && !EC;
       It.increment(EC))
    if (llvm::sys::path::extension(It->path()) == ".json")
      Paths.push_back(It->path());
  std::sort(Paths.begin(), Paths.end());
  return Paths;
}

const char *ChainStrategies[] = {"none",    "sequential", "every",
                                 "sqrt",    "selective",  "chen",
                                 "revolve", "optimal"};
} // namespace

TEST_CASE("synthetic: every chain strategy on random chains is exact") {
  for (uint64_t Seed : {1, 2, 3}) {
    for (unsigned L : {1u, 2u, 5u, 12u}) {
      Model M;
      M.Name = "random-" + std::to_string(L) + "-" + std::to_string(Seed);
      M.AsChain = randomChain(L, Seed);
      auto Base = simulateChain(*M.AsChain, storeAllOps(*M.AsChain));
      REQUIRE(bool(Base));
      for (const char *Name : ChainStrategies) {
        // Budget for optimal and chen: 70% of storing everything.
        auto S = plan(M, Name, Base->PeakBytes * 7 / 10);
        if (S)
          checkExact(M, *S, 1);
      }
    }
  }
}

TEST_CASE("synthetic: every strategy on the bundled models, bytes scaled") {
  auto Paths = bundledModels();
  if (Paths.empty()) {
    MESSAGE("skipped: no models in data/models");
    return;
  }
  for (const std::string &Path : Paths) {
    auto M = loadModelFile(Path);
    REQUIRE_MESSAGE(bool(M), (M ? "" : llvm::toString(M.takeError())));
    // 64 KiB per scaled byte keeps the biggest models at a few MiB.
    const uint64_t Scale = 65536;
    std::vector<std::string> Names =
        M->isChain() ? std::vector<std::string>(std::begin(ChainStrategies),
                                                std::end(ChainStrategies))
                     : std::vector<std::string>{"none", "recompute-all"};
    if (M->isChain() && M->AsChain->size() > 30) {
      // The DP takes seconds on these in Debug; scripts/gpu-check.sh and
      // bench/ cover it on the big models.
      Names.erase(std::remove(Names.begin(), Names.end(), "optimal"),
                  Names.end());
      MESSAGE("optimal not run on " << M->Name << " (" << M->AsChain->size()
                                    << " stages)");
    }
    std::optional<uint64_t> Budget;
    if (M->isChain()) {
      auto Base = simulateChain(*M->AsChain, storeAllOps(*M->AsChain));
      REQUIRE(bool(Base));
      Budget = Base->PeakBytes / 2;
    }
    for (const std::string &Name : Names)
      if (auto S = plan(*M, Name, Budget))
        checkExact(*M, *S, Scale);
  }
}

TEST_CASE("synthetic: chain models planned as graphs run in the graph "
          "dialect") {
  for (uint64_t Seed : {4, 5}) {
    Model M;
    M.Name = "random-graph-" + std::to_string(Seed);
    M.AsChain = randomChain(6, Seed);
    M.G = lowerChain(*M.AsChain);
    for (const char *Name : {"none", "recompute-all", "chen"}) {
      StrategyOptions O;
      O.Name = Name;
      O.ForceGraph = true;
      auto S = planStrategy(M, O);
      if (!S) {
        MESSAGE("graph strategy "
                << Name << " unavailable: " << llvm::toString(S.takeError()));
        continue;
      }
      REQUIRE(S->dialect() == Dialect::Graph);
      checkExact(M, *S, 1);
    }
  }
}

//===- tests/planner/GraphSplitTest.cpp - The split's class of plans ------===//
//
// planner/GraphSplit.h against a brute force written here from the class's
// definition alone: for every subset of forward nodes as the saved set, the
// test builds the split's schedule itself (recursively, with quadratic
// frees) and simulates it with the project's simulator; the least time
// within a budget and the least peak are then minima over every subset.
//
//===----------------------------------------------------------------------===//

#include "planner/GraphSplit.h"
#include "TestUtil.h"
#include "graph/ModelLoader.h"
#include "planner/Errors.h"
#include "planner/GraphPlanner.h"
#include "planner/Simulator.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <functional>
#include <random>

using namespace remat;

namespace {

bool fwd(const Graph &G, unsigned V) {
  return G.Nodes[V].NodePhase == Phase::Forward;
}

/// The split's schedule for saved set \p Saved, from the definition: the
/// forward values the backward needs (read by a backward node or by one
/// the backward needs, not saved); the forward computes what the loss and
/// the saved set need and every node the backward does not need, with their
/// ancestors; then the loss;
/// then each backward node after the recomputation of the values it needs
/// (inputs first, each once); each value freed after its last reader.
std::vector<GraphOp> referenceSplit(const Graph &G,
                                    const std::vector<bool> &Saved) {
  unsigned N = G.size();
  std::vector<bool> NeedBw(N), NeedFw(N), Done(N);
  for (bool Changed = true; Changed;) {
    Changed = false;
    for (unsigned V = 0; V != N; ++V) {
      // Backward nodes and the forward values they need read; the loss is
      // resident from the forward on.
      if (G.Nodes[V].NodePhase == Phase::Loss || (fwd(G, V) && !NeedBw[V]))
        continue;
      for (unsigned In : G.Nodes[V].Inputs)
        if (fwd(G, In) && !Saved[In] && !NeedBw[In])
          NeedBw[In] = Changed = true;
    }
  }
  std::function<void(unsigned)> MarkFw = [&](unsigned V) {
    if (NeedFw[V]) // each node once: real graphs share ancestors
      return;
    NeedFw[V] = true;
    for (unsigned In : G.Nodes[V].Inputs)
      MarkFw(In);
  };
  for (unsigned V = 0; V != N; ++V) {
    if (G.Nodes[V].NodePhase == Phase::Loss)
      for (unsigned In : G.Nodes[V].Inputs)
        MarkFw(In);
    if (fwd(G, V) && (Saved[V] || !NeedBw[V]))
      MarkFw(V);
  }
  std::vector<unsigned> Seq;
  for (unsigned V = 0; V != N; ++V)
    if (fwd(G, V) && NeedFw[V])
      Seq.push_back(V);
  for (unsigned V = 0; V != N; ++V)
    if (G.Nodes[V].NodePhase == Phase::Loss)
      Seq.push_back(V);
  std::function<void(unsigned)> Emit = [&](unsigned V) {
    if (!fwd(G, V) || !NeedBw[V] || Done[V])
      return;
    for (unsigned In : G.Nodes[V].Inputs)
      Emit(In);
    Done[V] = true;
    Seq.push_back(V);
  };
  for (unsigned V = 0; V != N; ++V)
    if (G.Nodes[V].NodePhase == Phase::Backward) {
      for (unsigned In : G.Nodes[V].Inputs)
        Emit(In);
      Seq.push_back(V);
    }
  // The value computed at P is read until the last reader before the next
  // computation of the same node.
  std::vector<std::vector<unsigned>> FreesAfter(Seq.size());
  for (size_t P = 0; P != Seq.size(); ++P) {
    size_t End = P;
    for (size_t Q = P + 1; Q != Seq.size() && Seq[Q] != Seq[P]; ++Q) {
      const auto &In = G.Nodes[Seq[Q]].Inputs;
      if (std::find(In.begin(), In.end(), Seq[P]) != In.end())
        End = Q;
    }
    FreesAfter[End].push_back(Seq[P]);
  }
  std::vector<GraphOp> Ops;
  for (size_t P = 0; P != Seq.size(); ++P) {
    Ops.push_back({GraphOpKind::Compute, Seq[P]});
    for (unsigned V : FreesAfter[P])
      Ops.push_back({GraphOpKind::Free, V});
  }
  return Ops;
}

/// A random training graph: F forward nodes (each reading up to 2 earlier
/// ones), a loss reading the last forward node and maybe another, and B
/// backward nodes, each reading the loss or an earlier backward node and 1-2
/// forward nodes (so some forward nodes only the backward reads).
Graph randomSplitGraph(std::mt19937_64 &Rng, unsigned F, unsigned B) {
  auto Pick = [&](unsigned Lo, unsigned Hi) {
    return std::uniform_int_distribution<unsigned>(Lo, Hi)(Rng);
  };
  Graph G;
  for (unsigned V = 0; V != F; ++V) {
    llvm::SmallVector<unsigned, 2> In;
    for (unsigned K = V ? Pick(0, 2) : 0; K; --K) {
      unsigned U = Pick(0, V - 1);
      if (std::find(In.begin(), In.end(), U) == In.end())
        In.push_back(U);
    }
    G.add("f" + std::to_string(V), Phase::Forward, Pick(1, 9), Pick(1, 16), In,
          Pick(0, 3) == 0 ? Pick(1, 8) : 0);
  }
  llvm::SmallVector<unsigned, 2> LossIn{F - 1};
  if (unsigned U = Pick(0, F - 1); U != F - 1 && Pick(0, 1))
    LossIn.push_back(U);
  unsigned Loss = G.add("loss", Phase::Loss, 1, 1, LossIn);
  for (unsigned K = 0; K != B; ++K) {
    llvm::SmallVector<unsigned, 3> In{K ? Loss + K : Loss};
    for (unsigned J = Pick(1, 2); J; --J) {
      unsigned U = Pick(0, F - 1);
      if (std::find(In.begin(), In.end(), U) == In.end())
        In.push_back(U);
    }
    G.add("g" + std::to_string(K), Phase::Backward, Pick(1, 9), Pick(1, 4), In);
  }
  G.finalize();
  return G;
}

struct Brute {
  /// Per saved set (bit v of the index: forward node v saved): peak, time.
  std::vector<std::pair<uint64_t, double>> Figures;
  uint64_t LeastPeak = UINT64_MAX, MostPeak = 0;
  /// Least time of the sets within \p Budget; -1 when none fits.
  double bestTime(uint64_t Budget) const {
    double Best = -1;
    for (auto [Peak, Time] : Figures)
      if (Peak <= Budget && (Best < 0 || Time < Best))
        Best = Time;
    return Best;
  }
};

/// Saved set \p Saved evaluated from the definition: its reference schedule
/// (which the planner's splitScheduleOps must equal) simulated.
SimResult simulateSaved(const Graph &G, const llvm::BitVector &Saved) {
  std::vector<bool> AsBools(G.size());
  for (unsigned V : Saved.set_bits())
    AsBools[V] = true;
  std::vector<GraphOp> Ref = referenceSplit(G, AsBools);
  auto Ops = splitScheduleOps(G, Saved);
  REQUIRE(static_cast<bool>(Ops));
  REQUIRE(*Ops == Ref);
  auto S = simulateGraph(G, Ref);
  REQUIRE(static_cast<bool>(S));
  return *S;
}

Brute bruteForce(const Graph &G, unsigned F) {
  Brute B;
  for (unsigned Mask = 0; Mask != (1u << F); ++Mask) {
    llvm::BitVector Bits(G.size());
    for (unsigned V = 0; V != F; ++V)
      if (Mask >> V & 1)
        Bits.set(V);
    SimResult S = simulateSaved(G, Bits);
    B.Figures.push_back({S.PeakBytes, S.Time});
    B.LeastPeak = std::min(B.LeastPeak, S.PeakBytes);
    B.MostPeak = std::max(B.MostPeak, S.PeakBytes);
  }
  return B;
}

/// Every forward node computed at most once before the loss and at most
/// once after it (the split's shape), checked on the ops themselves.
void checkSplitShape(const Graph &G, llvm::ArrayRef<GraphOp> Ops) {
  std::vector<unsigned> Before(G.size()), After(G.size());
  bool LossSeen = false;
  for (const GraphOp &Op : Ops) {
    if (Op.Kind != GraphOpKind::Compute)
      continue;
    if (G.Nodes[Op.Node].NodePhase == Phase::Loss)
      LossSeen = true;
    else if (fwd(G, Op.Node))
      ++(LossSeen ? After : Before)[Op.Node];
  }
  for (unsigned V = 0; V != G.size(); ++V) {
    CHECK(Before[V] <= 1);
    CHECK(After[V] <= 1);
  }
}

} // namespace

TEST_CASE("split: the planner's schedule of every saved set is the "
          "definition's, and its plan is the brute force's optimum") {
  std::mt19937_64 Rng(20261205);
  unsigned Heuristic = 0, HeuristicOptimal = 0;
  for (unsigned Trial = 0; Trial != 24; ++Trial) {
    unsigned F = 3 + Trial % 8, B = 2 + Trial % 4;
    Graph G = randomSplitGraph(Rng, F, B);
    CAPTURE(Trial);
    Brute BF = bruteForce(G, F);
    // Budgets: below the least peak, the least, between, and the most.
    for (uint64_t Budget : {BF.LeastPeak - 1, BF.LeastPeak,
                            (BF.LeastPeak + BF.MostPeak) / 2, BF.MostPeak}) {
      CAPTURE(Budget);
      GraphPlanOptions O;
      O.BudgetBytes = Budget;
      O.RecomputeOnceInBackward = true;
      auto R = planGraphOptimal(G, O);
      double Want = BF.bestTime(Budget);
      if (Want < 0) {
        // No saved set fits: exit 3 naming the brute force's least peak.
        REQUIRE_FALSE(static_cast<bool>(R));
        uint64_t Named = 0;
        llvm::handleAllErrors(R.takeError(), [&](InfeasibleBudgetError &E) {
          Named = E.MinFeasibleBytes;
        });
        CHECK(Named == BF.LeastPeak);
        continue;
      }
      REQUIRE(static_cast<bool>(R));
      auto S = simulateGraph(G, R->Ops);
      REQUIRE(static_cast<bool>(S));
      CHECK(S->PeakBytes <= Budget);
      CHECK(S->Time == doctest::Approx(Want));
      CHECK(R->ProvenOptimal);
      checkSplitShape(G, R->Ops);
      // The search without enumeration: valid, in the class, never faster
      // than the optimum (how often it meets it is reported, not claimed).
      SplitPlanOptions SO;
      SO.BudgetBytes = Budget;
      SO.ExhaustiveMaxCandidates = 0;
      auto H = planGraphSplit(G, SO);
      REQUIRE(static_cast<bool>(H));
      CHECK(H->MinPeak.PeakBytes >= BF.LeastPeak);
      if (!H->Found)
        continue;
      auto HS = simulateGraph(G, H->Best.Ops);
      REQUIRE(static_cast<bool>(HS));
      CHECK(HS->PeakBytes <= Budget);
      CHECK(HS->Time >= Want - 1e-9);
      std::vector<bool> Saved(G.size());
      for (unsigned V : H->BestSaved.set_bits())
        Saved[V] = true;
      CHECK(H->Best.Ops == referenceSplit(G, Saved));
      ++Heuristic;
      HeuristicOptimal += HS->Time <= Want + 1e-9;
    }
  }
  MESSAGE("split search without enumeration: optimal in "
          << HeuristicOptimal << " of " << Heuristic << " feasible cases");
  CHECK(Heuristic > 0);
}

TEST_CASE("split: a forward node reading a backward one is bad input") {
  Graph G;
  G.add("a", Phase::Forward, 1, 1, {});
  G.add("g", Phase::Backward, 1, 1, {0});
  G.add("b", Phase::Forward, 1, 1, {1});
  G.finalize();
  auto Ops = splitScheduleOps(G, llvm::BitVector(G.size()));
  REQUIRE_FALSE(static_cast<bool>(Ops));
  CHECK(llvm::toString(Ops.takeError()).find("'b'") != std::string::npos);
}

TEST_CASE("split: on real joint graphs, no slower than PyTorch's own saved "
          "set within the peak that set reaches") {
  // tests/data/split (scripts/split-fixtures.py): the joint graphs of four
  // models (U-Net, ResNet-18, ViT, GPT-2) lowered as remat's partitioner lowers
  // them, and the values that PyTorch's min-cut partitioner (dp knapsack) saves
  // on each at four activation_memory_budget values. Each saved set is
  // simulated here with the definition's schedule (referenceSplit) and the
  // simulator; the search (more candidates than the exhaustive limit) must find
  // a plan within that peak that is no slower. Before the knapsack-like starts
  // it was up to 2.7% slower (U-Net at 0.2: 20458.8 against 19923.8 us) and
  // this failed at 4 of the first fixtures' 12 points; on the fixtures
  // regenerated with GPT-2 (2026-12-07, other machine's calibration), 3 of 16
  // (U-Net at 0.2 by 2.2%, ResNet-18 at 0.4 and 0.6 by 0.2% and 0.5%).
  std::ifstream In(test::sourcePath("tests/data/split/pytorch-saved.json"));
  REQUIRE(In.good());
  nlohmann::json Doc = nlohmann::json::parse(In);
  unsigned Cases = 0;
  for (auto &[Name, Sets] : Doc["models"].items()) {
    auto M =
        loadModelFile(test::sourcePath("tests/data/split/" + Name + ".json"));
    REQUIRE(static_cast<bool>(M));
    const Graph &G = M->G;
    REQUIRE(splitCandidates(G).count() >
            SplitPlanOptions().ExhaustiveMaxCandidates);
    for (auto &[Budget, Set] : Sets.items()) {
      CAPTURE(Name);
      CAPTURE(Budget);
      CHECK(Set["unmapped"].empty());
      llvm::BitVector Bits(G.size());
      for (const nlohmann::json &Group : Set["saved"]) {
        auto Id = G.find(Group.get<std::string>());
        REQUIRE(Id.has_value());
        Bits.set(*Id);
      }
      SimResult Ref = simulateSaved(G, Bits);
      SplitPlanOptions SO;
      SO.BudgetBytes = Ref.PeakBytes;
      auto R = planGraphSplit(G, SO);
      REQUIRE(static_cast<bool>(R));
      REQUIRE(R->Found);
      auto S = simulateGraph(G, R->Best.Ops);
      REQUIRE(static_cast<bool>(S));
      CHECK(S->PeakBytes <= Ref.PeakBytes);
      CHECK(S->Time <= Ref.Time);
      // Without the knapsack-like starts (the search before them): never
      // faster, since the other starts are the same and the best is kept.
      SO.PrefixStarts = 0;
      auto Before = planGraphSplit(G, SO);
      REQUIRE(static_cast<bool>(Before));
      CHECK((!Before->Found || Before->Best.Time >= R->Best.Time));
      MESSAGE(Name << " at " << Budget << ": PyTorch's set " << Ref.Time
                   << " us at " << Ref.PeakBytes << " B, remat " << S->Time
                   << " us at " << S->PeakBytes << " B (" << R->Evaluations
                   << " saved sets evaluated); without the knapsack-like "
                   << "starts " << (Before->Found ? Before->Best.Time : -1.0)
                   << " us (" << Before->Evaluations << ")");
      ++Cases;
    }
  }
  CHECK(Cases == 16);
}

TEST_CASE("split: a work budget spent inside the search still gives a valid "
          "plan of the class, and says so") {
  // The U-Net's joint graph (712 nodes, 299 candidates, tests/data/split)
  // at 60% of its store-all peak, with work budgets from the floor
  // (MinOps) up. By the work count the search then stops (saved sets
  // evaluated, of 7,845 unlimited; the first two starts take 1,597, the
  // prefix sweep the next 300): at 26, 74 and 564 before any plan within
  // the budget is found, 1,097 still within the first two starts, 1,597 at
  // their end, 2,674 and 5,413 in the prefix starts. A slow
  // build may stop earlier on the safety-net clock, so those counts are
  // not asserted (the test prints them); the result is a plan of the
  // split's class within the budget or none, never a crash.
  auto M = loadModelFile(test::sourcePath("tests/data/split/unet.json"));
  REQUIRE(static_cast<bool>(M));
  const Graph &G = M->G;
  uint64_t StoreAll = 0;
  {
    auto S = simulateGraph(G, *splitScheduleOps(G, splitCandidates(G)));
    REQUIRE(static_cast<bool>(S));
    StoreAll = S->PeakBytes;
  }
  // Evaluations at the floor and unlimited (the ones between may stop on
  // the safety-net clock in a slow build, so they are not compared).
  uint64_t FloorEvaluations = 0, FullEvaluations = 0;
  for (double Seconds : {0.0, 0.01, 0.1, 0.2, 0.3, 0.5, 1.0, 100.0}) {
    CAPTURE(Seconds);
    GraphWorkBudget Work(Seconds);
    SplitPlanOptions SO;
    SO.BudgetBytes = StoreAll * 6 / 10;
    SO.Work = &Work;
    auto R = planGraphSplit(G, SO);
    REQUIRE(static_cast<bool>(R));
    CHECK(R->LimitReached == (Seconds < 100.0));
    (Seconds == 0.0 ? FloorEvaluations : FullEvaluations) = R->Evaluations;
    MESSAGE(Seconds << " s of work: " << R->Evaluations
                    << " saved sets evaluated, plan found: " << R->Found);
    if (!R->Found)
      continue;
    auto S = simulateGraph(G, R->Best.Ops);
    REQUIRE(static_cast<bool>(S));
    CHECK(S->PeakBytes <= SO.BudgetBytes);
    CHECK(R->Best.Ops == *splitScheduleOps(G, R->BestSaved));
  }
  CHECK(FloorEvaluations > 0);
  CHECK(FloorEvaluations < FullEvaluations);
}

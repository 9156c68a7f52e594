//===- planner/chain/Chen.cpp - Chen et al. 2016 on chains ----------------===//
//
// "Training Deep Nets with Sublinear Memory Cost" (Chen, Xu, Zhang, Guestrin,
// arXiv:1604.06174), Algorithm 3 and the budget search of its appendix, as
// read for chains in docs/strategies.md:
//
// - The greedy pass walks the stages, adding each stage's recorded memory
//   |x̄_{i+1}| to a running segment total; when the total exceeds b, the
//   stage's output becomes a checkpoint (a segment ends there), x grows by
//   the checkpoint's bytes, y becomes the largest segment total, and the
//   total restarts at zero.
// - The search runs the pass with b = 0 (every output a checkpoint), then
//   refines b = sqrt(x * y) from the last pass's x and y, and finally tries a
//   geometric grid around that guess. Every candidate segmentation is turned
//   into ops twice (last segment recomputed, or recorded as
//   checkpoint_sequential does) and simulated exactly.
//
//===----------------------------------------------------------------------===//

#include "planner/ChainStrategies.h"

#include "planner/Errors.h"
#include "planner/Simulator.h"

#include <cmath>
#include <set>

using namespace llvm;

namespace remat {

namespace {
/// The outcome of one greedy pass.
struct GreedyPass {
  /// Segment starts, ascending, beginning with 0.
  std::vector<unsigned> Starts;
  /// Bytes of all checkpoints (the paper's x).
  double CheckpointBytes = 0;
  /// Largest segment total (the paper's y).
  double MaxSegmentBytes = 0;
};

/// A simulated candidate plan.
struct Candidate {
  std::vector<ChainOp> Ops;
  uint64_t Peak = 0;
  double Time = 0;
};
} // namespace

/// Algorithm 3's greedy pass with per-segment budget \p B (bytes).
static GreedyPass greedyPass(const Chain &C, double B) {
  GreedyPass P;
  P.Starts.push_back(0);
  double Temp = 0;
  unsigned L = C.size();
  for (unsigned I = 0; I < L; ++I) {
    Temp += double(C.Stages[I].SavedBytes);
    if (Temp <= B || I + 1 == L)
      continue;
    P.Starts.push_back(I + 1);
    P.CheckpointBytes += double(C.Stages[I].OutputBytes);
    P.MaxSegmentBytes = std::max(P.MaxSegmentBytes, Temp);
    Temp = 0;
  }
  P.MaxSegmentBytes = std::max(P.MaxSegmentBytes, Temp);
  return P;
}

/// The per-segment budgets to try, ascending and distinct.
static std::vector<double> budgetGrid(const Chain &C) {
  std::set<double> Grid{0};
  GreedyPass P = greedyPass(C, 0);
  double Guess = 0;
  // The appendix iterates the guess b = sqrt(x * y) a few times; the grid
  // below then covers the neighbourhood the guess misses.
  for (int Round = 0; Round < 3; ++Round) {
    Guess = std::sqrt(P.CheckpointBytes * P.MaxSegmentBytes);
    Grid.insert(Guess);
    P = greedyPass(C, Guess);
  }
  double Total = 0;
  for (const Stage &S : C.Stages)
    Total += double(S.SavedBytes);
  Grid.insert(Total);
  if (Guess > 0)
    for (int J = -12; J <= 12; ++J)
      Grid.insert(std::floor(Guess * std::pow(2.0, J / 4.0)));
  return {Grid.begin(), Grid.end()};
}

/// Every distinct candidate plan of the search, simulated, in grid order.
static Expected<std::vector<Candidate>> candidates(const Chain &C) {
  std::vector<Candidate> Out;
  std::set<std::vector<unsigned>> SeenStarts;
  for (double B : budgetGrid(C)) {
    GreedyPass P = greedyPass(C, B);
    if (!SeenStarts.insert(P.Starts).second)
      continue;
    for (bool LastRecorded : {false, true}) {
      std::vector<bool> Recorded(P.Starts.size(), false);
      Recorded.back() = LastRecorded;
      SmallVector<bool, 16> R(Recorded.begin(), Recorded.end());
      Candidate Cand{segmentOps(C, P.Starts, R)};
      auto Sim = simulateChain(C, Cand.Ops);
      if (!Sim)
        return Sim.takeError();
      Cand.Peak = Sim->PeakBytes;
      Cand.Time = Sim->Time;
      Out.push_back(std::move(Cand));
    }
  }
  return Out;
}

Expected<std::vector<ChainOp>> chenOps(const Chain &C,
                                       std::optional<uint64_t> BudgetBytes) {
  if (C.size() == 0)
    return storeAllOps(C);
  auto Cands = candidates(C);
  if (!Cands)
    return Cands.takeError();
  const Candidate *Best = nullptr, *Least = nullptr;
  for (const Candidate &Cand : *Cands) {
    if (!Least || Cand.Peak < Least->Peak ||
        (Cand.Peak == Least->Peak && Cand.Time < Least->Time))
      Least = &Cand;
    if (BudgetBytes && Cand.Peak <= *BudgetBytes &&
        (!Best || Cand.Time < Best->Time ||
         (Cand.Time == Best->Time && Cand.Peak < Best->Peak)))
      Best = &Cand;
  }
  if (!BudgetBytes)
    return Least->Ops;
  if (!Best)
    return make_error<InfeasibleBudgetError>("chen", *BudgetBytes, Least->Peak);
  return Best->Ops;
}

} // namespace remat

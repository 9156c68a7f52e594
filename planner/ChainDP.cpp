//===- planner/ChainDP.cpp - Budget-optimal chain planning ----------------===//
//
// The DP itself is in planner/ChainDPTables.cpp; this file picks exact or
// discretised sizes, reports infeasibility and bounds the discretisation
// gap. See docs/optimal-chain.md for the recurrence and its class.
//
//===----------------------------------------------------------------------===//

#include "planner/ChainDP.h"

#include "planner/ChainDPTables.h"
#include "planner/Errors.h"

using namespace llvm;

namespace remat {

using namespace chaindp;

static uint64_t countRecomputations(const std::vector<ChainOp> &Ops,
                                    unsigned L) {
  uint64_t Forward = 0;
  for (const ChainOp &Op : Ops)
    Forward += Op.isForward();
  return Forward - L;
}

static Expected<ChainDPResult> planExact(const Chain &C, uint64_t Budget) {
  Tables T(exactChain(C), Budget);
  std::optional<Point> P = T.best(Budget);
  if (!P)
    return make_error<InfeasibleBudgetError>("optimal", Budget,
                                             minFeasibleChainBudget(C));
  ChainDPResult R;
  R.Ops = T.reconstruct(Budget);
  R.Time = P->Time;
  R.PeakBytes = P->Mem + C.InputBytes;
  R.ForwardRecomputations = countRecomputations(R.Ops, C.size());
  R.TableBytes = T.tableBytes();
  return R;
}

// Sizes rounded up to whole units of ceil(B / slots) make every peak term an
// upper bound, and the budget rounded down keeps the plan within B. Sizes
// rounded down with the same budget relax every constraint instead, so that
// table's optimum is a lower bound on the exact one: the difference bounds
// the gap. When the rounded-up problem has no plan, the exact DP decides.
static Expected<ChainDPResult> planSlots(const Chain &C, uint64_t Budget,
                                         unsigned Slots) {
  uint64_t Unit = (Budget + Slots - 1) / Slots;
  if (Unit <= 1)
    return planExact(C, Budget);
  uint64_t Units = Budget / Unit;
  Tables Up(roundedChain(C, Unit, true), Units);
  std::optional<Point> P = Up.best(Units);
  if (!P)
    return planExact(C, Budget);
  ChainDPResult R;
  R.Ops = Up.reconstruct(Units);
  R.Time = P->Time;
  R.PeakBytes = (P->Mem + Up.chain().A[0]) * Unit;
  R.ForwardRecomputations = countRecomputations(R.Ops, C.size());
  Tables Down(roundedChain(C, Unit, false), Units);
  std::optional<Point> Q = Down.best(Units);
  // Down relaxes Up, so it is feasible whenever Up is.
  R.GapBound = Q && Q->Time < P->Time ? P->Time - Q->Time : 0;
  R.TableBytes = std::max(Up.tableBytes(), Down.tableBytes());
  return R;
}

Expected<ChainDPResult> planOptimalChain(const Chain &C,
                                         const ChainDPOptions &Opts) {
  if (Opts.MemorySlots > 0)
    return planSlots(C, Opts.BudgetBytes, Opts.MemorySlots);
  return planExact(C, Opts.BudgetBytes);
}

uint64_t minFeasibleChainBudget(const Chain &C) {
  return minFeasibleBudget(exactChain(C));
}

std::vector<ChainFrontierPoint> optimalChainFrontier(const Chain &C) {
  Tables T(exactChain(C));
  std::vector<ChainFrontierPoint> Out;
  for (const Point &P : T.top())
    Out.push_back({P.Mem + C.InputBytes, P.Time});
  return Out;
}

} // namespace remat

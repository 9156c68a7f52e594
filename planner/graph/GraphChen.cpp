//===- planner/graph/GraphChen.cpp - Graph baselines: recompute-all, Chen -===//

#include "planner/GraphScalable.h"

#include "planner/Errors.h"

#include <algorithm>

using namespace llvm;

namespace remat {

KeepSetPlan recomputeAllPlan(const Graph &G) {
  KeepPolicy P;
  // Only tensors read by a later pass are dropped; the rest are kept, which
  // for them just means "freed after their last user".
  P.Keep = dropCandidates(G);
  P.Keep.flip();
  P.RetainRecomputed = true;
  return runKeepSet(G, P);
}

/// Chen's rule for one b: checkpoint a candidate once the candidate bytes
/// since the last checkpoint exceed b.
static KeepSetPlan chenPlan(const Graph &G, const BitVector &Candidates,
                            uint64_t B) {
  KeepPolicy P;
  P.Keep = Candidates;
  P.Keep.flip();
  P.RetainRecomputed = true;
  uint64_t Run = 0;
  for (unsigned V : Candidates.set_bits()) {
    Run += G.Nodes[V].Bytes;
    if (Run > B) {
      P.Keep.set(V);
      Run = 0;
    }
  }
  return runKeepSet(G, P);
}

std::vector<KeepSetPlan> chenPlans(const Graph &G) {
  BitVector Candidates = dropCandidates(G);
  uint64_t Total = 0, Smallest = UINT64_MAX;
  for (unsigned V : Candidates.set_bits()) {
    Total += G.Nodes[V].Bytes;
    Smallest = std::min(Smallest, G.Nodes[V].Bytes);
  }
  std::vector<KeepSetPlan> Plans;
  Plans.push_back(chenPlan(G, Candidates, 0));
  if (Total == 0)
    return Plans;
  // b on a geometric grid from the smallest tensor to all of them (ratio
  // 2^(1/4)), the search Chen describes, made deterministic.
  for (double B = double(Smallest); B <= double(Total) * 1.2; B *= 1.189207115)
    Plans.push_back(chenPlan(G, Candidates, uint64_t(B)));
  return Plans;
}

Expected<std::vector<GraphOp>>
recomputeAllOps(const Graph &G, std::optional<uint64_t> BudgetBytes) {
  KeepSetPlan P = recomputeAllPlan(G);
  if (BudgetBytes && P.PeakBytes > *BudgetBytes)
    return make_error<InfeasibleBudgetError>("recompute-all", *BudgetBytes,
                                             P.PeakBytes);
  return std::move(P.Ops);
}

Expected<std::vector<GraphOp>>
chenBaselineOps(const Graph &G, std::optional<uint64_t> BudgetBytes) {
  // Chen et al. search b: with a budget, the fastest plan that fits;
  // without one, the least peak.
  std::vector<KeepSetPlan> Plans = chenPlans(G);
  const KeepSetPlan *Best = nullptr, *Least = nullptr;
  for (const KeepSetPlan &P : Plans) {
    if (!Least || P.PeakBytes < Least->PeakBytes ||
        (P.PeakBytes == Least->PeakBytes && P.Time < Least->Time))
      Least = &P;
    if (BudgetBytes && P.PeakBytes <= *BudgetBytes &&
        (!Best || P.Time < Best->Time ||
         (P.Time == Best->Time && P.PeakBytes < Best->PeakBytes)))
      Best = &P;
  }
  if (BudgetBytes && !Best)
    return make_error<InfeasibleBudgetError>("chen", *BudgetBytes,
                                             Least->PeakBytes);
  return (Best ? Best : Least)->Ops;
}

} // namespace remat

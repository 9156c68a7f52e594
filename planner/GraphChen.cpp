//===- planner/GraphChen.cpp - Graph baselines: recompute-all, Chen -------===//

#include "planner/GraphScalable.h"

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

} // namespace remat

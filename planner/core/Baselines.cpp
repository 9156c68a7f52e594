//===- planner/core/Baselines.cpp - Store everything, in each dialect -----===//
//
// The chain baseline runs every forward stage once recording its saved
// tensors, then the loss and every backward. The graph dialect's baseline
// (spec §3b) computes every node once, in id order (a topological order, see
// graph/Graph.h), and frees it as soon as its last user has been computed.
// Nodes without users (the loss, parameter gradients, the input gradient)
// are never freed: they are the results of the step. See docs/simulator.md.
//
//===----------------------------------------------------------------------===//

#include "planner/Baselines.h"

namespace remat {

std::vector<ChainOp> storeAllOps(const Chain &C) {
  unsigned L = C.size();
  std::vector<ChainOp> Ops;
  Ops.reserve(2 * L + 1);
  for (unsigned I = 0; I < L; ++I)
    Ops.push_back({ChainOpKind::FAll, I});
  Ops.push_back({ChainOpKind::Loss, 0});
  for (unsigned I = L; I-- > 0;)
    Ops.push_back({ChainOpKind::B, I});
  return Ops;
}

std::vector<GraphOp> storeAllGraphOps(const Graph &G) {
  std::vector<GraphOp> Ops;
  Ops.reserve(2 * G.size());
  for (unsigned V = 0; V < G.size(); ++V) {
    Ops.push_back({GraphOpKind::Compute, V});
    // Users are ascending, so V is an input's last user when it is the back
    // of that input's user list.
    for (unsigned In : G.Nodes[V].Inputs)
      if (!G.Users[In].empty() && G.Users[In].back() == V)
        Ops.push_back({GraphOpKind::Free, In});
  }
  return Ops;
}

} // namespace remat

//===- planner/GraphBaselines.cpp - Store everything on a graph -----------===//
//
// The graph dialect's baseline (spec §3b): every node computed once, in id
// order (a topological order, see graph/Graph.h), and freed as soon as its
// last user has been computed. Nodes without users (the loss, parameter
// gradients, the input gradient) are never freed: they are the results of
// the step. See docs/simulator.md.
//
//===----------------------------------------------------------------------===//

#include "planner/GraphPlanner.h"

namespace remat {

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

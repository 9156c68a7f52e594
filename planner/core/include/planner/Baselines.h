//===- planner/Baselines.h - Store everything, in each dialect --*- C++ -*-===//
//
// The store-everything plans every prediction is measured against (the
// baseline of `predicted.overhead`, spec §3). They sit at the bottom of the
// planner, beside the schedule IR, so that the simulator can compute a
// prediction without depending on any planner above it.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_BASELINES_H
#define REMAT_PLANNER_BASELINES_H

#include "graph/Graph.h"
#include "planner/Schedule.h"

#include <vector>

namespace remat {

/// Store everything on a chain: F_all for every stage, loss, then B from
/// L-1 down to 0.
std::vector<ChainOp> storeAllOps(const Chain &C);

/// Store everything on a graph: compute nodes in id order, free each once
/// its last user has run.
std::vector<GraphOp> storeAllGraphOps(const Graph &G);

} // namespace remat

#endif // REMAT_PLANNER_BASELINES_H

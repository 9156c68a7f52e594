//===- planner/GraphOrders.h - Orders of first computations -----*- C++ -*-===//
//
// The MILP (Checkmate's formulation), the covering bounds and the scalable
// planner all first compute nodes in id order, the file's topological order.
// The order is part of the plan: memory-aware orders alone save memory
// (Moccasin, OLLA), so planGraphOptimal also plans the graph renumbered in a
// few other topological orders and keeps the best plan. This file makes
// those orders and moves plans between numberings.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_GRAPHORDERS_H
#define REMAT_PLANNER_GRAPHORDERS_H

#include "graph/Graph.h"
#include "planner/Schedule.h"

#include "llvm/ADT/ArrayRef.h"

#include <string>
#include <vector>

namespace remat {

/// A topological order of a graph's nodes and where it came from.
struct GraphOrder {
  /// Order[i] is the id, in the original graph, of the i-th node.
  std::vector<unsigned> Order;
  /// "file", "least resident", "depth first" or "random N".
  std::string Name;
};

/// Up to \p Count distinct topological orders of \p G, the file's order
/// first, then the greedy least-resident-bytes order, the depth-first order
/// from the sinks, and seeded random orders. Deterministic.
std::vector<GraphOrder> candidateOrders(const Graph &G, unsigned Count);

/// \p G renumbered so that node i is \p Order[i]; inputs keep their order.
Graph renumberGraph(const Graph &G, llvm::ArrayRef<unsigned> Order);

/// Ops of the renumbered graph mapped back to \p Order's original ids.
std::vector<GraphOp> opsInOriginalIds(llvm::ArrayRef<GraphOp> Ops,
                                      llvm::ArrayRef<unsigned> Order);

} // namespace remat

#endif // REMAT_PLANNER_GRAPHORDERS_H

//===- planner/graph/GraphOrders.cpp - Orders of first computations -------===//

#include "planner/GraphOrders.h"

#include "llvm/ADT/BitVector.h"

#include <algorithm>
#include <random>

namespace remat {

namespace {

/// Inputs not yet computed, per node.
std::vector<unsigned> pendingInputs(const Graph &G) {
  std::vector<unsigned> P(G.size());
  for (unsigned V = 0; V < G.size(); ++V)
    P[V] = unsigned(G.Nodes[V].Inputs.size());
  return P;
}

/// Kahn's algorithm; \p Pick chooses the index of the next node among the
/// ready ones (ascending ids) given the nodes already placed.
template <typename PickFn>
std::vector<unsigned> kahnOrder(const Graph &G, PickFn Pick) {
  std::vector<unsigned> Pending = pendingInputs(G), Ready, Out;
  for (unsigned V = 0; V < G.size(); ++V)
    if (Pending[V] == 0)
      Ready.push_back(V);
  while (!Ready.empty()) {
    size_t I = Pick(Ready, Out);
    unsigned V = Ready[I];
    Ready.erase(Ready.begin() + I);
    Out.push_back(V);
    for (unsigned U : G.Users[V])
      if (--Pending[U] == 0)
        Ready.insert(std::lower_bound(Ready.begin(), Ready.end(), U), U);
  }
  return Out;
}

/// Greedy least resident bytes: next, the ready node whose compute leaves
/// the least resident (its bytes minus the inputs it is the last user of,
/// freeing as store-everything does); ties go to the smaller id.
std::vector<unsigned> leastResidentOrder(const Graph &G) {
  std::vector<unsigned> UsersLeft(G.size());
  for (unsigned V = 0; V < G.size(); ++V)
    UsersLeft[V] = unsigned(G.Users[V].size());
  return kahnOrder(G, [&](const std::vector<unsigned> &Ready,
                          const std::vector<unsigned> &Out) {
    if (!Out.empty())
      for (unsigned In : G.Nodes[Out.back()].Inputs)
        --UsersLeft[In];
    size_t Best = 0;
    int64_t BestDelta = INT64_MAX;
    for (size_t I = 0; I < Ready.size(); ++I) {
      const Node &N = G.Nodes[Ready[I]];
      int64_t Delta = int64_t(N.Bytes);
      for (unsigned In : N.Inputs)
        if (UsersLeft[In] == 1)
          Delta -= int64_t(G.Nodes[In].Bytes);
      if (Delta < BestDelta) {
        BestDelta = Delta;
        Best = I;
      }
    }
    return Best;
  });
}

/// Depth first from the sinks, in id order: each node right after its
/// inputs (post-order over inputs), so a tensor is made as late as the
/// first node that needs it allows.
std::vector<unsigned> depthFirstOrder(const Graph &G) {
  std::vector<unsigned> Out;
  llvm::BitVector Done(G.size());
  std::vector<std::pair<unsigned, unsigned>> Stack; // node, next input
  for (unsigned S = 0; S < G.size(); ++S) {
    if (!G.Users[S].empty() || Done.test(S))
      continue;
    Stack.push_back({S, 0});
    while (!Stack.empty()) {
      auto &[V, Next] = Stack.back();
      const auto &In = G.Nodes[V].Inputs;
      if (Next < In.size()) {
        unsigned I = In[Next++];
        if (!Done.test(I))
          Stack.push_back({I, 0});
        continue;
      }
      if (!Done.test(V)) {
        Done.set(V);
        Out.push_back(V);
      }
      Stack.pop_back();
    }
  }
  return Out;
}

std::vector<unsigned> randomOrder(const Graph &G, uint64_t Seed) {
  std::mt19937_64 Rng(Seed);
  return kahnOrder(G, [&](const std::vector<unsigned> &Ready,
                          const std::vector<unsigned> &) {
    return size_t(Rng() % Ready.size());
  });
}

} // namespace

std::vector<GraphOrder> candidateOrders(const Graph &G, unsigned Count) {
  std::vector<GraphOrder> Out;
  auto Add = [&](std::vector<unsigned> Order, std::string Name) {
    if (Out.size() >= Count || Order.size() != G.size())
      return;
    for (const GraphOrder &O : Out)
      if (O.Order == Order)
        return;
    Out.push_back({std::move(Order), std::move(Name)});
  };
  std::vector<unsigned> Id(G.size());
  for (unsigned V = 0; V < G.size(); ++V)
    Id[V] = V;
  Add(std::move(Id), "file");
  Add(leastResidentOrder(G), "least resident");
  Add(depthFirstOrder(G), "depth first");
  // Random orders may repeat one another on narrow graphs; a few more tries
  // than slots, then stop.
  for (uint64_t Seed = 1; Out.size() < Count && Seed <= 2 * Count; ++Seed)
    Add(randomOrder(G, Seed), "random " + std::to_string(Seed));
  return Out;
}

Graph renumberGraph(const Graph &G, llvm::ArrayRef<unsigned> Order) {
  std::vector<unsigned> NewId(G.size());
  for (unsigned I = 0; I < Order.size(); ++I)
    NewId[Order[I]] = I;
  Graph Out;
  Out.Nodes.reserve(G.size());
  for (unsigned Old : Order) {
    Node N = G.Nodes[Old];
    for (unsigned &In : N.Inputs)
      In = NewId[In];
    Out.Nodes.push_back(std::move(N));
  }
  Out.finalize();
  return Out;
}

std::vector<GraphOp> opsInOriginalIds(llvm::ArrayRef<GraphOp> Ops,
                                      llvm::ArrayRef<unsigned> Order) {
  std::vector<GraphOp> Out(Ops.begin(), Ops.end());
  for (GraphOp &Op : Out)
    Op.Node = Order[Op.Node];
  return Out;
}

} // namespace remat

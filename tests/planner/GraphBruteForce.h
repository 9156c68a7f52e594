//===- tests/planner/GraphBruteForce.h - Every graph schedule ---*- C++ -*-===//
//
// An exhaustive reference for graph plans, written from docs/simulator.md's
// graph semantics alone and independent of every planner (it calls no MILP,
// bound, scalable or exhaustive planner code). A schedule is any sequence of
// `compute v` / `free v` ops:
//   - compute v needs every input of v resident and v not resident; its peak
//     is resident + bytes(v) + workspace(v); it adds time(v);
//   - free v needs v resident;
//   - the schedule is complete once every node was computed at least once.
// The state after any prefix is fully described by, per node, one of three
// digits: 0 never computed, 1 computed but not resident, 2 resident. So the
// search is a plain Dijkstra over the 3^n states (n <= 11: 177,147 states),
// with frees as zero-cost edges. Least time within a budget sums the edge
// costs; least peak takes their maximum (a bottleneck path). Both return a
// witness op list so that tests can replay it through the real simulator.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_TESTS_PLANNER_GRAPHBRUTEFORCE_H
#define REMAT_TESTS_PLANNER_GRAPHBRUTEFORCE_H

#include "graph/Graph.h"
#include "planner/Schedule.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <queue>
#include <utility>
#include <vector>

namespace remat::test {

/// The best complete schedule the brute force found and its figures.
struct BruteForcePlan {
  std::vector<GraphOp> Ops;
  /// Sum of compute times.
  double Time = 0;
  /// Max over ops of the op's peak (0 for an empty graph).
  uint64_t PeakBytes = 0;
};

namespace detail {

/// Base-3 state arithmetic and the Dijkstra shared by both searches.
class GraphStateSpace {
public:
  /// \p FileOrder: only schedules that first compute nodes in id order.
  GraphStateSpace(const Graph &G, bool FileOrder)
      : G(G), N(G.size()), FileOrder(FileOrder) {
    REQUIRE_MESSAGE(N <= 13, "brute force is for tiny graphs");
    Pow.assign(N + 1, 1);
    for (unsigned V = 0; V < N; ++V)
      Pow[V + 1] = Pow[V] * 3;
  }

  unsigned digit(uint32_t S, unsigned V) const { return (S / Pow[V]) % 3; }
  uint32_t numStates() const { return Pow[N]; }

  uint64_t residentBytes(uint32_t S) const {
    uint64_t B = 0;
    for (unsigned V = 0; V < N; ++V)
      if (digit(S, V) == 2)
        B += G.Nodes[V].Bytes;
    return B;
  }

  bool complete(uint32_t S) const {
    for (unsigned V = 0; V < N; ++V)
      if (digit(S, V) == 0)
        return false;
    return true;
  }

  /// Calls \p F(op, next state, op peak) for every op valid in \p S.
  template <typename Fn> void forEachOp(uint32_t S, Fn F) const {
    uint64_t Res = residentBytes(S);
    for (unsigned V = 0; V < N; ++V) {
      unsigned D = digit(S, V);
      if (D == 2) {
        F(GraphOp{GraphOpKind::Free, V}, S - Pow[V], Res);
        continue;
      }
      bool Ready = true;
      if (FileOrder && D == 0)
        for (unsigned U = 0; U < V; ++U)
          Ready = Ready && digit(S, U) != 0;
      for (unsigned I : G.Nodes[V].Inputs)
        Ready = Ready && digit(S, I) == 2;
      if (!Ready)
        continue;
      const Node &Nd = G.Nodes[V];
      F(GraphOp{GraphOpKind::Compute, V}, S + (2 - D) * Pow[V],
        Res + Nd.Bytes + Nd.Workspace);
    }
  }

  /// Dijkstra from the empty state; \p Combine(cost so far, op, op peak)
  /// gives the new cost or none when the op is not allowed. Returns the
  /// cheapest complete state's plan, or none.
  template <typename Cost, typename CombineFn>
  std::optional<BruteForcePlan> search(CombineFn Combine) const {
    constexpr Cost Inf = std::numeric_limits<Cost>::max();
    std::vector<Cost> Dist(numStates(), Inf);
    std::vector<uint32_t> Parent(numStates(), 0);
    std::vector<GraphOp> How(numStates());
    using Item = std::pair<Cost, uint32_t>;
    std::priority_queue<Item, std::vector<Item>, std::greater<Item>> Q;
    Dist[0] = Cost(0);
    Q.push({Cost(0), 0});
    while (!Q.empty()) {
      auto [D, S] = Q.top();
      Q.pop();
      if (D != Dist[S])
        continue;
      if (complete(S))
        return witness(S, Parent, How);
      forEachOp(S, [&](GraphOp Op, uint32_t T, uint64_t Peak) {
        std::optional<Cost> C = Combine(D, Op, Peak);
        if (C && *C < Dist[T]) {
          Dist[T] = *C;
          Parent[T] = S;
          How[T] = Op;
          Q.push({*C, T});
        }
      });
    }
    return std::nullopt;
  }

private:
  /// Walks the parents back to the empty state and replays the ops.
  BruteForcePlan witness(uint32_t S, const std::vector<uint32_t> &Parent,
                         const std::vector<GraphOp> &How) const {
    BruteForcePlan P;
    for (uint32_t X = S; X != 0; X = Parent[X])
      P.Ops.push_back(How[X]);
    std::reverse(P.Ops.begin(), P.Ops.end());
    uint64_t Res = 0;
    for (const GraphOp &Op : P.Ops) {
      const Node &Nd = G.Nodes[Op.Node];
      if (Op.Kind == GraphOpKind::Free) {
        Res -= Nd.Bytes;
        continue;
      }
      P.Time += Nd.Time;
      P.PeakBytes = std::max(P.PeakBytes, Res + Nd.Bytes + Nd.Workspace);
      Res += Nd.Bytes;
    }
    return P;
  }

  const Graph &G;
  unsigned N;
  bool FileOrder;
  std::vector<uint32_t> Pow;
};

} // namespace detail

/// The least-time complete schedule whose every op peak is <= \p Budget;
/// none when no schedule fits. \p FileOrder restricts the search to the
/// schedules that first compute nodes in id order (the MILP's class).
inline std::optional<BruteForcePlan>
bruteForceLeastTime(const Graph &G, uint64_t Budget, bool FileOrder = false) {
  detail::GraphStateSpace Space(G, FileOrder);
  return Space.search<double>(
      [&](double D, GraphOp Op, uint64_t Peak) -> std::optional<double> {
        if (Peak > Budget)
          return std::nullopt;
        return Op.Kind == GraphOpKind::Compute ? D + G.Nodes[Op.Node].Time : D;
      });
}

/// A complete schedule of least peak over all schedules (any time).
inline BruteForcePlan bruteForceLeastPeak(const Graph &G) {
  detail::GraphStateSpace Space(G, /*FileOrder=*/false);
  auto P = Space.search<uint64_t>(
      [](uint64_t D, GraphOp, uint64_t Peak) -> std::optional<uint64_t> {
        return std::max(D, Peak);
      });
  REQUIRE(P); // computing in id order, freeing nothing, is always complete
  return *P;
}

} // namespace remat::test

#endif // REMAT_TESTS_PLANNER_GRAPHBRUTEFORCE_H

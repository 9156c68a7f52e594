//===- tests/planner/GraphFixtures.h - Small graphs for planner tests -*- C++
//-*-===//
//
// Hand-made training graphs shared by the graph planner tests; each test
// states the arithmetic it needs next to its expectations.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_TESTS_PLANNER_GRAPHFIXTURES_H
#define REMAT_TESTS_PLANNER_GRAPHFIXTURES_H

#include "graph/Graph.h"

#include <initializer_list>

namespace remat::test {

/// Appends a node; inputs are ids of earlier nodes.
inline void addNode(Graph &G, const char *Name, Phase P, double Time,
                    uint64_t Bytes, std::initializer_list<unsigned> In) {
  Node N;
  N.Name = Name;
  N.NodePhase = P;
  N.Time = Time;
  N.Bytes = Bytes;
  N.Inputs.assign(In.begin(), In.end());
  G.Nodes.push_back(std::move(N));
}

/// The graph of tests/data/graphplan_chain3.json: A(t1) -> B(t4) -> C(t2)
/// -> L(t1), backward gC(L, C), gB(gC, B), gA(gB, A), each of time 1; sizes
/// 10, 10, 10, 1 and 1 byte per gradient. Store-all: peak 32 at gC (A, B,
/// C, L = 31, plus gC's byte); time 11.
inline Graph chain3Graph() {
  Graph G;
  addNode(G, "A", Phase::Forward, 1, 10, {});
  addNode(G, "B", Phase::Forward, 4, 10, {0});
  addNode(G, "C", Phase::Forward, 2, 10, {1});
  addNode(G, "L", Phase::Loss, 1, 1, {2});
  addNode(G, "gC", Phase::Backward, 1, 1, {3, 2});
  addNode(G, "gB", Phase::Backward, 1, 1, {4, 1});
  addNode(G, "gA", Phase::Backward, 1, 1, {5, 0});
  G.finalize();
  return G;
}

} // namespace remat::test

#endif // REMAT_TESTS_PLANNER_GRAPHFIXTURES_H

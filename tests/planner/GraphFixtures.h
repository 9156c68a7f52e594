//===- tests/planner/GraphFixtures.h - Small test graphs --------*- C++ -*-===//
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
  G.add(Name, P, Time, Bytes, In);
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

/// X feeds P (slow, time 6) and Q (fast, time 2); Y reads both; 8 bytes
/// each forward, 1 byte for L and each gradient. Store-all: peak 26 at gY
/// (P, Q, Y, L = 25, plus gY); time 14.
inline Graph diamondGraph() {
  Graph G;
  addNode(G, "X", Phase::Forward, 1, 8, {});
  addNode(G, "P", Phase::Forward, 6, 8, {0});
  addNode(G, "Q", Phase::Forward, 2, 8, {0});
  addNode(G, "Y", Phase::Forward, 1, 8, {1, 2});
  addNode(G, "L", Phase::Loss, 1, 1, {3});
  addNode(G, "gY", Phase::Backward, 1, 1, {4, 3});
  addNode(G, "gP", Phase::Backward, 1, 1, {5, 1});
  addNode(G, "gQ", Phase::Backward, 1, 1, {5, 2});
  G.finalize();
  return G;
}

/// P (slow: time 10, 1 byte) -> U (10 bytes), read by V and, after W -> W2
/// (10 bytes each), by Z; every other time is 1. Forward only: an operand
/// (P) is worth keeping for a later recomputation of its reader (U).
inline Graph keptOperandGraph() {
  Graph G;
  addNode(G, "P", Phase::Forward, 10, 1, {});
  addNode(G, "U", Phase::Forward, 1, 10, {0});
  addNode(G, "V", Phase::Forward, 1, 1, {1});
  addNode(G, "W", Phase::Forward, 1, 10, {});
  addNode(G, "W2", Phase::Forward, 1, 10, {3});
  addNode(G, "Z", Phase::Forward, 1, 1, {1, 4});
  G.finalize();
  return G;
}

} // namespace remat::test

#endif // REMAT_TESTS_PLANNER_GRAPHFIXTURES_H

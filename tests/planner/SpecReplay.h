//===- tests/planner/SpecReplay.h - Spec §3a/§3b read literally -*- C++ -*-===//
//
// A second reading of the residency rules, written from the tables of
// docs/formats.md §3a and §3b with none of planner/ChainReplay.h's or
// planner/GraphReplay.h's code: tensors are named strings in a std::set. The
// replay engines and every client built on them (simulator, runtime) are
// checked against it on seeded random op sequences. It says whether an op is
// valid, not why: the order of checks is the engine's convention, pinned by
// hand-written cases instead.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_TESTS_PLANNER_SPECREPLAY_H
#define REMAT_TESTS_PLANNER_SPECREPLAY_H

#include "graph/Graph.h"
#include "planner/Schedule.h"

#include <random>
#include <set>
#include <string>
#include <vector>

namespace remat::test {

/// Spec §3a over named tensors: "x3" (plain), "xb3" (recorded), "y3".
struct SpecChain {
  unsigned L;
  std::set<std::string> Res{"x0"};
  bool LossRan = false;

  explicit SpecChain(unsigned L) : L(L) {}

  static std::string name(const char *P, unsigned I) {
    return P + std::to_string(I);
  }
  bool has(const char *P, unsigned I) const { return Res.count(name(P, I)); }
  bool done() const { return has("y", 0); }

  /// Applies \p Op when valid; returns whether it was.
  bool apply(const ChainOp &Op) {
    if (Op.Kind == ChainOpKind::Loss) {
      // needs x_L or x̄_L; runs once; makes y_L; frees a plain x_L.
      if (LossRan || !(has("x", L) || has("xb", L)))
        return false;
      LossRan = true;
      Res.insert(name("y", L));
      Res.erase(name("x", L));
      return true;
    }
    unsigned I = Op.Layer;
    if (I >= L)
      return false;
    if (Op.Kind == ChainOpKind::B) {
      // needs y_{i+1} and x̄_{i+1}, y_i not resident; makes y_i; frees
      // y_{i+1}, x̄_{i+1} and a plain x_i.
      if (!has("y", I + 1) || !has("xb", I + 1) || has("y", I))
        return false;
      Res.insert(name("y", I));
      Res.erase(name("y", I + 1));
      Res.erase(name("xb", I + 1));
      Res.erase(name("x", I));
      return true;
    }
    // Forward ops need x_i or x̄_i, and neither x_{i+1} nor x̄_{i+1}.
    if (!has("x", I) && !has("xb", I))
      return false;
    if (has("x", I + 1) || has("xb", I + 1))
      return false;
    Res.insert(name(Op.Kind == ChainOpKind::FAll ? "xb" : "x", I + 1));
    if (Op.Kind == ChainOpKind::FN)
      Res.erase(name(has("x", I) ? "x" : "xb", I));
    return true;
  }
};

/// Every chain op on layers [0, L] (L itself is out of range), and the loss.
inline std::vector<ChainOp> allChainOps(unsigned L) {
  std::vector<ChainOp> Ops{{ChainOpKind::Loss, 0}};
  for (unsigned I = 0; I <= L; ++I)
    for (ChainOpKind K :
         {ChainOpKind::FCk, ChainOpKind::FN, ChainOpKind::FAll, ChainOpKind::B})
      Ops.push_back({K, I});
  return Ops;
}

/// A seeded random chain op sequence: each op is, with probability 7/8, one
/// that SpecChain accepts, else any op; the sequence ends after its first
/// invalid op, once y_0 is produced, or at \p MaxOps ops. About one in nine
/// ends complete, the rest on an invalid op at some position.
inline std::vector<ChainOp> randomChainOps(std::mt19937_64 &Rng, unsigned L,
                                           unsigned MaxOps = 40) {
  std::vector<ChainOp> All = allChainOps(L), Ops;
  SpecChain S(L);
  while (Ops.size() < MaxOps && !S.done()) {
    std::vector<ChainOp> Valid;
    for (const ChainOp &Op : All)
      if (SpecChain(S).apply(Op))
        Valid.push_back(Op);
    bool Any = Valid.empty() || Rng() % 8 == 0;
    const std::vector<ChainOp> &From = Any ? All : Valid;
    ChainOp Op = From[Rng() % From.size()];
    Ops.push_back(Op);
    if (!S.apply(Op))
      break;
  }
  return Ops;
}

/// Spec §3b over node ids.
struct SpecGraph {
  const Graph &G;
  std::set<unsigned> Res, Done;

  explicit SpecGraph(const Graph &G) : G(G) {}

  bool apply(const GraphOp &Op) {
    if (Op.Node >= G.size())
      return false;
    if (Op.Kind == GraphOpKind::Free)
      return Res.erase(Op.Node) == 1;
    if (Res.count(Op.Node))
      return false;
    for (unsigned In : G.Nodes[Op.Node].Inputs)
      if (!Res.count(In))
        return false;
    Res.insert(Op.Node);
    Done.insert(Op.Node);
    return true;
  }
};

/// As randomChainOps for graphs, over computes and frees of every node id
/// and of one id out of range, with any op only 1/32 of the time (a graph
/// needs more ops); a valid op is, half the time, the compute of a node not
/// yet computed. Ends after its first invalid op, once every node
/// was computed, or at \p MaxOps ops.
inline std::vector<GraphOp> randomGraphOps(std::mt19937_64 &Rng, const Graph &G,
                                           unsigned MaxOps = 60) {
  std::vector<GraphOp> All, Ops;
  for (unsigned V = 0; V <= G.size(); ++V)
    for (GraphOpKind K : {GraphOpKind::Compute, GraphOpKind::Free})
      All.push_back({K, V});
  SpecGraph S(G);
  while (Ops.size() < MaxOps && S.Done.size() < G.size()) {
    std::vector<GraphOp> Valid, Fresh;
    for (const GraphOp &Op : All)
      if (SpecGraph(S).apply(Op)) {
        Valid.push_back(Op);
        if (Op.Kind == GraphOpKind::Compute && !S.Done.count(Op.Node))
          Fresh.push_back(Op);
      }
    bool Any = Valid.empty() || Rng() % 32 == 0;
    bool New = !Fresh.empty() && Rng() % 2 == 0;
    const std::vector<GraphOp> &From = Any ? All : New ? Fresh : Valid;
    GraphOp Op = From[Rng() % From.size()];
    Ops.push_back(Op);
    if (!S.apply(Op))
      break;
  }
  return Ops;
}

} // namespace remat::test

#endif // REMAT_TESTS_PLANNER_SPECREPLAY_H

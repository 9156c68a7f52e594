//===- graph/Lowering.h - Between chains and graphs -------------*- C++ -*-===//
#ifndef REMAT_GRAPH_LOWERING_H
#define REMAT_GRAPH_LOWERING_H

#include "graph/Graph.h"

#include "llvm/Support/Error.h"

#include <optional>

namespace remat {

/// Lowers a chain to the explicit graph form (forward, loss and backward
/// nodes), by the rule documented in docs/model-format.md.
///
/// The graph is a relaxation of the chain: every chain schedule maps, op by
/// op, to a valid plan of the lowered graph with no more time and no higher
/// peak (F_all becomes "compute s, then s.saved", whose peaks are at most
/// F_all's resident + saved_bytes + workspace; a tensor both plain and
/// recorded is counted once). The converse fails: `s.saved` (time 0) can be
/// recreated from resident `p` and `s` without rerunning the stage, and `x0`
/// (time 0) can be freed and recreated, which the chain semantics cannot
/// do. So graph plans of a lowered chain bound the chain's optimum from
/// below, in time and in least feasible budget. No node times make the
/// lowering exact: F_all produces output and residuals in one step of time
/// fwd_time, F_ck the output alone in the same time, and a graph compute
/// produces one tensor; any split of fwd_time between `s` and `s.saved`
/// keeps the bound and is tight for one of the two only.
Graph lowerChain(const Chain &C);

/// Recognises a graph that is a chain (each forward node reads only the
/// previous one, with the backward mirroring it) and returns its chain view.
std::optional<Chain> recogniseChain(const Graph &G);

/// Derives the backward nodes of a forward-only graph (optionally with a
/// loss node) by the rule documented in docs/model-format.md.
llvm::Error deriveBackward(Graph &G);

} // namespace remat

#endif // REMAT_GRAPH_LOWERING_H

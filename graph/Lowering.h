//===- graph/Lowering.h - Between chains and graphs -------------*- C++ -*-===//
#ifndef REMAT_GRAPH_LOWERING_H
#define REMAT_GRAPH_LOWERING_H

#include "graph/Graph.h"

#include "llvm/Support/Error.h"

#include <optional>

namespace remat {

/// Lowers a chain to the explicit graph form (forward, loss and backward
/// nodes), by the rule documented in docs/model-format.md.
Graph lowerChain(const Chain &C);

/// Recognises a graph that is a chain (each forward node reads only the
/// previous one, with the backward mirroring it) and returns its chain view.
std::optional<Chain> recogniseChain(const Graph &G);

/// Derives the backward nodes of a forward-only graph (optionally with a
/// loss node) by the rule documented in docs/model-format.md.
llvm::Error deriveBackward(Graph &G);

} // namespace remat

#endif // REMAT_GRAPH_LOWERING_H

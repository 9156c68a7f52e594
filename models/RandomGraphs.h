//===- models/RandomGraphs.h - Seeded training graphs for tests -*- C++ -*-===//
//
// Deterministic generators of training graphs (forward, loss and backward
// nodes) that the graph planners' tests and benchmarks share: random layered
// DAGs, U-Net-like encoders/decoders with long skip connections, and
// transformer-like stacks with residual adds. The same seed always gives the
// same graph on every platform (std::mt19937_64 with hand-rolled draws, no
// std::*_distribution, whose output is implementation-defined).
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_MODELS_RANDOMGRAPHS_H
#define REMAT_MODELS_RANDOMGRAPHS_H

#include "graph/Graph.h"

#include <cstdint>

namespace remat {

/// Appends a loss node reading every forward sink and one backward node
/// "g.<v>" per forward node v, in reverse id order. g.v reads the gradients
/// of v's users (or the loss), v itself and v's inputs; it takes twice v's
/// time and produces as many bytes as v (the rule of docs/model-format.md).
/// \p Forward must hold only forward nodes; the result is finalized.
Graph addBackward(const Graph &Forward);

/// A random layered DAG of \p ForwardNodes forward nodes in layers of
/// 1..\p MaxWidth nodes, each node reading 1..3 nodes of the previous two
/// layers, then addBackward. Bytes are multiples of 1 KiB in [1, 16] KiB,
/// times integers in [1, 10] (so sums are exact), workspaces 0 or a multiple
/// of 256 bytes up to 2 KiB.
Graph randomLayeredGraph(uint64_t Seed, unsigned ForwardNodes,
                         unsigned MaxWidth);

/// A U-Net-like forward: \p Depth encoder levels whose tensors halve in size
/// per level, a bottleneck level, and \p Depth decoder levels; each level has
/// \p BlocksPerLevel nodes in a row and the first decoder node of a level
/// also reads the last encoder node of the same level (a long skip); then
/// addBackward. (2 * Depth + 1) * BlocksPerLevel forward nodes.
Graph unetLikeGraph(uint64_t Seed, unsigned Depth, unsigned BlocksPerLevel);

/// A transformer-like forward: an embedding, then \p Layers blocks of
/// ln -> qkv -> attn -> proj -> add(residual) -> ln -> mlp1 -> mlp2 ->
/// add(residual); then addBackward.
Graph transformerLikeGraph(uint64_t Seed, unsigned Layers);

/// A training graph of about \p TotalNodes nodes (forward + loss + backward)
/// of the named family: "layered", "unet" or "transformer".
Graph generateGraph(llvm::StringRef Family, uint64_t Seed, unsigned TotalNodes);

} // namespace remat

#endif // REMAT_MODELS_RANDOMGRAPHS_H

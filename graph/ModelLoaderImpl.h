//===- graph/ModelLoaderImpl.h - Parts of the model loader ------*- C++ -*-===//
//
// Internal to graph/ModelLoader*.cpp. Messages returned here carry no file
// name; parseModelText prefixes it.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_GRAPH_MODELLOADERIMPL_H
#define REMAT_GRAPH_MODELLOADERIMPL_H

#include "graph/Graph.h"
#include "graph/JsonReader.h"

#include "llvm/Support/Error.h"

namespace remat {

/// Reads the value of the top-level "graph" field: validates the nodes,
/// resolves inputs, rejects cycles, and returns the nodes in Kahn order (ties
/// by file position), finalized. Does not derive the backward.
llvm::Expected<Graph> readGraphForm(const InJson &GraphValue);

/// Reads the chain form: the "layers" list (with repeats expanded), and the
/// top-level "input_bytes" and "loss" of \p Top.
llvm::Expected<Chain> readChainForm(const ObjectReader &Top);

} // namespace remat

#endif // REMAT_GRAPH_MODELLOADERIMPL_H

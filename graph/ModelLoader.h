//===- graph/ModelLoader.h - Reading model files ----------------*- C++ -*-===//
//
// Loads a model file (spec §2, chain or graph form) into a `Model`. Strict:
// unknown fields, bad units, negative or overflowing sizes, duplicate names,
// cycles and the like are errors whose one-line message names the file, the
// JSON path or layer name, and the bad value.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_GRAPH_MODELLOADER_H
#define REMAT_GRAPH_MODELLOADER_H

#include "graph/Graph.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace remat {

/// The most stages a chain model may have after expanding repeats; guards
/// against accidental exponential nesting of repeats, and generators
/// (models/ModelGen.h) refuse to write larger files.
constexpr uint64_t MaxChainStages = 1'000'000;

/// The most that a model's node times (forward, backward, loss) may add up
/// to, in its time unit: 10^200, so that no schedule's time overflows.
constexpr double MaxTotalTime = 1e200;

/// Reads a whole input file (model or schedule) in chunks, refusing files
/// over 1 GiB and naming the path in every error:
/// "PATH: cannot read file: No such file or directory". Pipes work.
llvm::Expected<std::string> readInputFile(llvm::StringRef Path);

/// Reads and validates the model file at \p Path.
llvm::Expected<Model> loadModelFile(llvm::StringRef Path);

/// Validates model text; \p Path is used in messages and stored in the
/// result. Model::Sha256 is the hash of \p Text.
llvm::Expected<Model> parseModelText(llvm::StringRef Text,
                                     llvm::StringRef Path);

} // namespace remat

#endif // REMAT_GRAPH_MODELLOADER_H

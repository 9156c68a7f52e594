//===- fuzz/FuzzCommon.h - Shared pieces of the libFuzzer targets -*- C++ -*-===//
//
// The fuzz targets feed bytes to the loaders and the emitter and check that
// what is accepted behaves: a model that loads simulates its store-everything
// plan; nothing crashes, hangs or reads out of bounds (ASan and UBSan catch
// those). Built only with -DREMAT_FUZZ=ON and clang (docs/fuzzing.md).
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_FUZZ_FUZZCOMMON_H
#define REMAT_FUZZ_FUZZCOMMON_H

#include "graph/Graph.h"
#include "planner/ChainStrategies.h"
#include "planner/GraphPlanner.h"
#include "planner/Simulator.h"

#include "llvm/Support/Error.h"

#include <cstdio>
#include <cstdlib>

namespace remat::fuzz {

/// Ends the run with a message: libFuzzer records the input as a crash.
[[noreturn]] inline void fail(const char *What, llvm::Error E) {
  std::fprintf(stderr, "fuzz invariant broken: %s: %s\n", What,
               llvm::toString(std::move(E)).c_str());
  std::abort();
}

/// A model the loader accepted must simulate its store-everything plan.
inline void checkStoreAll(const Model &M) {
  auto Sim = M.isChain() ? simulateChain(*M.AsChain, storeAllOps(*M.AsChain))
                         : simulateGraph(M.G, storeAllGraphOps(M.G));
  if (!Sim)
    fail("store-everything plan of an accepted model", Sim.takeError());
}

} // namespace remat::fuzz

#endif // REMAT_FUZZ_FUZZCOMMON_H

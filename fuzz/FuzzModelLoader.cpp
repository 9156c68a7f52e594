//===- fuzz/FuzzModelLoader.cpp - libFuzzer target: model files -----------===//
//
// Any bytes given to the model loader must give a model or an error, never
// a crash, a sanitizer report or an unbounded allocation. A loaded model is
// also lowered and summed the way every command uses it.
//
//===----------------------------------------------------------------------===//

#include "graph/ModelLoader.h"
#include "graph/Size.h"

#include "llvm/ADT/StringRef.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size) {
  llvm::StringRef Text(reinterpret_cast<const char *>(Data), Size);
  llvm::Expected<remat::Model> M = remat::parseModelText(Text, "fuzz.json");
  if (!M) {
    std::string Msg = llvm::toString(M.takeError());
    // Errors are one line (docs/model-format.md).
    if (Msg.empty() || Msg.find('\n') != std::string::npos)
      std::abort();
    return 0;
  }
  // Loaded models satisfy the loader's bounds.
  uint64_t Total = M->Static.total();
  double Time = 0;
  for (const remat::Node &N : M->G.Nodes) {
    Total += N.Bytes + N.Workspace;
    Time += N.Time;
  }
  if (Total > remat::MaxSizeBytes || !(Time <= remat::MaxTotalTime))
    std::abort();
  return 0;
}

//===- fuzz/FuzzModel.cpp - libFuzzer target: the model loader ------------===//
//
// Input: the bytes of a model file. Seeds: data/models, tests/data.

#include "FuzzCommon.h"

#include "graph/ModelLoader.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size) {
  llvm::StringRef Text(reinterpret_cast<const char *>(Data), Size);
  auto M = remat::parseModelText(Text, "fuzz.json");
  if (!M) {
    llvm::consumeError(M.takeError());
    return 0;
  }
  remat::fuzz::checkStoreAll(*M);
  return 0;
}

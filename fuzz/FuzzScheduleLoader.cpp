//===- fuzz/FuzzScheduleLoader.cpp - libFuzzer target: schedule files -----===//
//
// Any bytes given to the schedule loader, with and without a model (the
// chain model tests/data/chain4.json and the graph model
// tests/data/diamond.json, read once), must give a schedule or a one-line
// error. A schedule that loads against a model is also simulated.
//
//===----------------------------------------------------------------------===//

#include "graph/ModelLoader.h"
#include "planner/ScheduleIO.h"
#include "planner/Simulator.h"

#include "llvm/ADT/StringRef.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>

namespace {
const remat::Model *model(const char *Rel) {
  static std::optional<remat::Model> Chain, Graph;
  std::optional<remat::Model> &Slot =
      llvm::StringRef(Rel).contains("chain4") ? Chain : Graph;
  if (!Slot) {
    auto M = remat::loadModelFile(std::string(REMAT_SOURCE_DIR) + "/" + Rel);
    if (!M)
      std::abort(); // the seed models must load
    Slot = std::move(*M);
  }
  return &*Slot;
}

void checkOne(llvm::StringRef Text, const remat::Model *M) {
  auto S = remat::parseScheduleText(Text, "fuzz.json", M);
  if (!S) {
    std::string Msg = llvm::toString(S.takeError());
    if (Msg.empty() || Msg.find('\n') != std::string::npos)
      std::abort();
    return;
  }
  if (!M)
    return;
  auto F = remat::simulate(*M, *S);
  if (!F)
    llvm::consumeError(F.takeError());
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size) {
  llvm::StringRef Text(reinterpret_cast<const char *>(Data), Size);
  checkOne(Text, nullptr);
  checkOne(Text, model("tests/data/chain4.json"));
  checkOne(Text, model("tests/data/diamond.json"));
  return 0;
}

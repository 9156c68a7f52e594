//===- fuzz/FuzzEmit.cpp - libFuzzer target: emitted trainer code ---------===//
//
// Input: a model file. When it loads, the store-everything and the
// every-second-stage plans are emitted for every target. Invariant: a stage
// or node name with a control character (newline, NUL, ESC, ...) never
// appears raw in the emitted text, where it could end a comment or a string
// and inject code. Seeds: data/models, tests/data.

#include "FuzzCommon.h"

#include "graph/ModelLoader.h"
#include "planner/Emit.h"
#include "planner/Strategy.h"

#include "llvm/ADT/SmallVector.h"

#include <cstddef>
#include <cstdint>

using namespace remat;

static bool hasControl(llvm::StringRef S) {
  for (unsigned char C : S)
    if (C < 0x20 || C == 0x7f)
      return true;
  return false;
}

/// Aborts when a name with a control character appears verbatim in \p Out.
static void checkNames(const Model &M, llvm::StringRef Out) {
  auto Check = [&](llvm::StringRef Name) {
    if (hasControl(Name) && Out.contains(Name)) {
      std::fprintf(stderr, "fuzz invariant broken: a name with a control "
                           "character is emitted raw\n");
      std::abort();
    }
  };
  if (M.isChain())
    for (const Stage &S : M.AsChain->Stages)
      Check(S.Name);
  for (const Node &N : M.G.Nodes)
    Check(N.Name);
}

static void emitAll(const Model &M, const Schedule &S) {
  std::string Targets = emitTargetList();
  llvm::SmallVector<llvm::StringRef, 8> Names;
  llvm::StringRef(Targets).split(Names, ", ");
  for (llvm::StringRef Name : Names) {
    auto T = parseEmitTarget(Name);
    if (!T)
      continue;
    auto R = emitSchedule(S, *T, &M);
    if (!R) {
      llvm::consumeError(R.takeError());
      continue;
    }
    checkNames(M, renderEmitText(*R, S, M.TimeUnit));
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size) {
  llvm::StringRef Text(reinterpret_cast<const char *>(Data), Size);
  auto M = parseModelText(Text, "fuzz.json");
  if (!M) {
    llvm::consumeError(M.takeError());
    return 0;
  }
  fuzz::checkStoreAll(*M);
  for (const char *Strategy : {"none", "every"}) {
    StrategyOptions O;
    O.Name = Strategy;
    O.K = 2;
    auto S = planStrategy(*M, O);
    if (!S) {
      llvm::consumeError(S.takeError());
      continue;
    }
    emitAll(*M, *S);
  }
  return 0;
}

//===- fuzz/FuzzEmit.cpp - libFuzzer target: model -> schedule -> code ----===//
//
// The input is a model file. When it loads (chains up to 64 stages, graphs
// up to 64 nodes, to keep each run short), it is planned with `none` and
// `sqrt` (chains) or `none` and `recompute-all` (graphs) and emitted for
// every target that accepts it. Emitted code must hold no byte that could
// end a comment or a line early (control bytes other than the newline,
// U+0085, U+2028, U+2029: names are escaped, issue 17), and the PyTorch and
// JAX snippets, whose lines follow the plan's segments only, must have the
// same number of lines as for the same schedule with plain names: a name
// cannot add a line. (Whether the code parses as Python is checked by
// tests/emit/EmitTest.cpp with python3, and by fuzz/check-emitted.py on
// a corpus; see docs/fuzzing.md.)
//
//===----------------------------------------------------------------------===//

#include "emit/Emit.h"
#include "emit/Trainer.h"
#include "graph/ModelLoader.h"
#include "planner/Strategy.h"

#include "llvm/ADT/StringRef.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

using namespace remat;

namespace {
void checkChars(llvm::StringRef Code) {
  for (size_t I = 0; I < Code.size(); ++I) {
    unsigned char C = Code[I];
    if ((C < 0x20 && C != '\n') || C == 0x7f)
      std::abort();
    llvm::StringRef Rest = Code.drop_front(I);
    if (Rest.starts_with("\xC2\x85") || Rest.starts_with("\xE2\x80\xA8") ||
        Rest.starts_with("\xE2\x80\xA9"))
      std::abort();
  }
}

std::vector<std::string> codes(const EmitResult &R) {
  std::vector<std::string> Out{R.Plan.Snippet};
  if (R.Nearest)
    Out.push_back(R.Nearest->Plan.Snippet);
  if (R.TorchPlan.is_object()) {
    const auto &TC = R.TorchPlan["torch_checkpoint"];
    if (TC.is_object() && TC["code"].is_string())
      Out.push_back(TC["code"].get<std::string>());
    const auto &SA = R.TorchPlan["selective_ac"];
    if (SA.is_object() && SA["code"].is_string())
      Out.push_back(SA["code"].get<std::string>());
  }
  return Out;
}

void emitAll(const Model &M, const Schedule &S) {
  Schedule Plain = S;
  for (size_t I = 0; I < Plain.Names.size(); ++I)
    Plain.Names[I] = "n" + std::to_string(I);
  for (const Trainer *T : allTrainers()) {
    auto R = emitSchedule(S, *T, &M);
    if (!R) {
      llvm::consumeError(R.takeError());
      continue;
    }
    for (const std::string &C : codes(*R))
      checkChars(C);
    // The Python snippets of PyTorch and JAX hold one name per line.
    if (T->name() != "pytorch" && T->name() != "jax")
      continue;
    auto P = emitSchedule(Plain, *T, &M);
    if (!P)
      std::abort(); // names alone decided whether it could be emitted
    auto Lines = [](const std::string &X) {
      return std::count(X.begin(), X.end(), '\n');
    };
    if (Lines(R->Plan.Snippet) != Lines(P->Plan.Snippet))
      std::abort();
  }
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size) {
  llvm::StringRef Text(reinterpret_cast<const char *>(Data), Size);
  llvm::Expected<Model> M = parseModelText(Text, "fuzz.json");
  if (!M) {
    llvm::consumeError(M.takeError());
    return 0;
  }
  bool Chain = M->isChain();
  if ((Chain && M->AsChain->size() > 64) || (!Chain && M->G.size() > 64))
    return 0;
  for (const char *Name : {"none", Chain ? "sqrt" : "recompute-all"}) {
    StrategyOptions O;
    O.Name = Name;
    auto S = planStrategy(*M, O);
    if (!S) {
      llvm::consumeError(S.takeError());
      continue;
    }
    emitAll(*M, *S);
  }
  return 0;
}

//===- cli/ProfileCommand.cpp - remat profile -----------------------------===//
//
// Measures the real-mode layers and writes a model file (spec §2) with their
// measured times and exact bytes, so that plan and validate can run on
// measured costs.
//
//===----------------------------------------------------------------------===//

#include "cli/Commands.h"
#include "cli/Common.h"
#include "graph/Errors.h"

#include "graph/ModelLoader.h"
#include "runtime/Profile.h"
#include "runtime/RealModel.h"

#include <fmt/format.h>

using namespace llvm;

namespace remat::cli {

namespace {

ArgParser makeParser() {
  ArgParser P(
      "profile",
      "profile --device cpu [--preset NAME | --like MODEL] [options] -o FILE",
      "Measures small real float32 layers (the layers of 'remat validate "
      "--mode\nreal') and writes a model file describing them: forward and "
      "backward times\nare medians of repeated runs (milliseconds), output "
      "and saved bytes are what\nthe layers really keep (x̄ = input copy + "
      "intermediates + output),\nworkspaces are their scratch. The result "
      "closes the loop profile -> plan\n-> validate on measured costs.");
  P.option("device", "cpu|cuda",
           "where to measure: cpu, or cuda (the same layers as GPU kernels "
           "and cuBLAS, timed with CUDA events; exit 2 without a GPU)",
           "cpu");
  P.option("preset", "NAME",
           std::string("network to build: ") + real::PresetNames +
               " (tiny-gpt: embedding, blocks x (norm, attention, norm, "
               "mlp), head)",
           "tiny-gpt");
  P.option("blocks", "N", "preset size in blocks", "2");
  P.option("like", "MODEL",
           "instead of a preset, one real layer per stage of this chain "
           "model, typed by its kind (attention, mlp, norm, linear, ...; see "
           "docs/runtime.md)");
  P.option("batch", "N", "sequences per batch", "2");
  P.option("seq", "N", "tokens per sequence", "16");
  P.option("hidden", "N", "hidden size", "32");
  P.option("heads", "N", "attention heads", "4");
  P.option("dropout", "P", "dropout probability", "0.1");
  P.option("seed", "N", "seed of weights, data and dropout", "1");
  P.option("repeat", "N", "timed runs per layer and pass (median)", "5");
  P.option("name", "TEXT", "the model's name", "<preset>-profiled");
  P.option("output", "FILE", "where to write the model file ('-': stdout)");
  P.epilog("example:\n  remat profile --device cpu --preset tiny-gpt -o "
           "tiny.json\n  remat plan tiny.json --strategy sqrt -o plan.json\n"
           "  remat validate tiny.json plan.json --device cpu --mode real "
           "--check-time\n  remat profile --device cuda --preset tiny-gpt -o "
           "tiny-gpu.json  # "
           "on a GPU");
  return P;
}

Error readShape(const ArgParser &P, ProfileOptions &O) {
  unsigned *Fields[] = {&O.Shape.Batch, &O.Shape.Seq, &O.Shape.Hidden,
                        &O.Shape.Heads, &O.Blocks,    &O.Repeats};
  const char *Names[] = {"batch", "seq", "hidden", "heads", "blocks", "repeat"};
  for (size_t I = 0; I < 6; ++I) {
    auto V = P.getUnsigned(Names[I]);
    if (!V)
      return V.takeError();
    if (*V)
      *Fields[I] = **V;
  }
  auto Seed = P.getUnsigned("seed");
  if (!Seed)
    return Seed.takeError();
  if (*Seed)
    O.Shape.Seed = **Seed;
  auto Drop = P.getDouble("dropout");
  if (!Drop)
    return Drop.takeError();
  if (*Drop)
    O.Shape.Dropout = float(**Drop);
  return Error::success();
}

} // namespace

int runProfile(ArrayRef<std::string> Args, raw_ostream &Out, raw_ostream &Err) {
  ArgParser P = makeParser();
  if (std::optional<int> Done = parseArgs(P, Args, 0, 0, Out, Err))
    return *Done;
  ProfileOptions O;
  O.Device = P.get("device").value_or("cpu");
  if (O.Device != "cpu" && O.Device != "cuda")
    return reportError(
        badInput("--device must be cpu or cuda, not '{}'", O.Device), Err);
  O.Preset = P.get("preset").value_or("tiny-gpt");
  O.Name = P.get("name").value_or("");
  if (Error E = readShape(P, O))
    return reportError(std::move(E), Err);
  if (!P.has("output"))
    return reportError(badInput("remat profile: give -o FILE (or -o - for "
                                "stdout)"),
                       Err);
  if (P.has("like") && P.has("preset"))
    return reportError(badInput("give either --preset or --like, not both"),
                       Err);
  std::optional<Model> Like;
  if (auto Path = P.get("like")) {
    auto M = loadModelFile(*Path);
    if (!M)
      return reportError(M.takeError(), Err);
    if (!M->isChain())
      return reportError(
          badInput("--like {}: real layers follow chain models only", *Path),
          Err);
    Like = std::move(*M);
    O.Like = &*Like->AsChain;
    if (O.Name.empty())
      O.Name = Like->Name + "-real";
  }
  auto R = profileRealLayers(O);
  if (!R)
    return reportError(R.takeError(), Err);
  std::string Path = *P.get("output");
  std::vector<std::string> Inputs;
  if (auto LikePath = P.get("like"))
    Inputs.push_back(*LikePath);
  if (Error E = writeOutput(Path, R->Json, Out, Inputs))
    return reportError(std::move(E), Err);
  if (Path != "-")
    Err << fmt::format("remat: wrote {}: {} ({} stages, {} bytes per "
                       "activation)\n",
                       Path, R->Name, R->Stages.size(), R->InputBytes);
  return ExitOk;
}

} // namespace remat::cli

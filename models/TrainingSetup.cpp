//===- models/TrainingSetup.cpp - Static bytes of a training set-up -------===//

#include "models/TrainingSetup.h"
#include "graph/Errors.h"

#include "graph/Size.h"
#include "models/ModelGen.h"

#include <fmt/format.h>

using namespace llvm;

namespace remat {

namespace {
/// Bytes per parameter of one set-up, before sharding.
struct PerParam {
  unsigned Weight = 0;    // every parameter
  unsigned Grad = 0;      // trainable ones
  unsigned Optimizer = 0; // trainable ones: states plus any master copy
};
} // namespace

TrainingSetup defaultTrainingSetup(StringRef Kind) {
  TrainingSetup S;
  if (Kind == "resnet") {
    S.Optimizer = "sgd-momentum";
    S.Precision = "fp32";
  }
  return S;
}

static Expected<PerParam> perParam(const TrainingSetup &S) {
  PerParam P;
  if (S.Precision == "mixed" || S.Precision == "bf16")
    P.Weight = P.Grad = 2;
  else if (S.Precision == "fp32")
    P.Weight = P.Grad = 4;
  else
    return badInput("--precision '{}' is not one of mixed, bf16, fp32",
                    S.Precision);
  // The fp32 master copy of mixed precision belongs to the optimizer step.
  unsigned Master = S.Precision == "mixed" ? 4 : 0;
  if (S.Optimizer == "adamw")
    P.Optimizer = Master + 8;
  else if (S.Optimizer == "adamw-8bit")
    P.Optimizer = Master + 2;
  else if (S.Optimizer == "sgd-momentum")
    P.Optimizer = Master + 4;
  else if (S.Optimizer == "sgd")
    P.Optimizer = Master;
  else if (S.Optimizer == "none")
    P.Grad = P.Optimizer = 0;
  else
    return badInput(
        "{}", "--optimizer '" + S.Optimizer +
                  "' is not one of adamw, adamw-8bit, sgd-momentum, sgd, none");
  return P;
}

/// ceil(Count * Bytes / Shards), or an error past the format's limit.
static Expected<uint64_t> shardBytes(uint64_t Count, unsigned Bytes,
                                     unsigned Shards) {
  unsigned __int128 V = (unsigned __int128)Count * Bytes;
  V = (V + Shards - 1) / Shards;
  if (V > MaxSizeBytes)
    return badInput("the static bytes exceed the format's limit of 2^62 bytes");
  return uint64_t(V);
}

Expected<StaticBytes> trainingStaticBytes(uint64_t Parameters,
                                          const TrainingSetup &S) {
  auto P = perParam(S);
  if (!P)
    return P.takeError();
  if (S.ZeroStage > 3)
    return badInput("--zero {} is not a ZeRO stage (0, 1, 2 or 3)",
                    S.ZeroStage);
  if (S.Devices == 0)
    return badInput("--devices must be at least 1, got 0");
  uint64_t Trainable = S.TrainableParams.value_or(Parameters);
  if (S.Optimizer == "none" && S.TrainableParams && Trainable > 0)
    return badInput("--trainable-params: optimizer 'none' trains nothing");
  if (S.Optimizer == "none")
    Trainable = 0;
  if (Trainable > Parameters)
    return badInput("--trainable-params {} exceeds the model's {} "
                    "parameters",
                    Trainable, Parameters);
  auto Shards = [&](unsigned Stage) {
    return S.ZeroStage >= Stage ? S.Devices : 1u;
  };
  StaticBytes Out;
  for (auto [Field, Count, Bytes, Stage] :
       {std::tuple{&Out.Parameters, Parameters, P->Weight, 3u},
        {&Out.Gradients, Trainable, P->Grad, 2u},
        {&Out.Optimizer, Trainable, P->Optimizer, 1u}}) {
    auto V = shardBytes(Count, Bytes, Shards(Stage));
    if (!V)
      return V.takeError();
    *Field = *V;
  }
  return Out;
}

std::string describeTrainingSetup(const TrainingSetup &S, uint64_t Parameters) {
  std::string Opt =
      S.Optimizer == "none" ? "frozen weights (no optimizer)" : S.Optimizer;
  std::string Text =
      fmt::format("static bytes for {} in {} precision", Opt, S.Precision);
  if (S.TrainableParams && S.Optimizer != "none")
    Text += fmt::format(", {} of {} params trainable", *S.TrainableParams,
                        Parameters);
  else
    Text += fmt::format(" ({} params)", Parameters);
  if (S.ZeroStage > 0)
    Text += fmt::format(", ZeRO-{} over {} devices (per device)", S.ZeroStage,
                        S.Devices);
  return Text;
}

Error applyTrainingSetup(GeneratedModel &M, const TrainingSetup &S) {
  auto Static = trainingStaticBytes(M.Parameters, S);
  if (!Static)
    return Static.takeError();
  M.Static = *Static;
  // Every generator writes its assumption as "static bytes for ... (...)".
  size_t Begin = M.Description.find("static bytes for ");
  size_t End =
      Begin == std::string::npos ? Begin : M.Description.find(')', Begin);
  std::string Phrase = describeTrainingSetup(S, M.Parameters);
  if (End == std::string::npos)
    M.Description += "; " + Phrase;
  else
    M.Description.replace(Begin, End + 1 - Begin, Phrase);
  return Error::success();
}

} // namespace remat

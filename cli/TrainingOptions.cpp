//===- cli/TrainingOptions.cpp - Training set-up options ------------------===//

#include "cli/TrainingOptions.h"

#include "graph/Errors.h"

using namespace llvm;

namespace remat::cli {

void addTrainingOptions(ArgParser &P, const TrainingSetup &D) {
  P.option("optimizer", "NAME",
           "adamw, adamw-8bit, sgd-momentum, sgd, or none (frozen weights)",
           D.Optimizer);
  P.option("precision", "NAME",
           "mixed (16-bit weights and gradients, fp32 master copy), bf16 "
           "(pure 16-bit) or fp32",
           D.Precision);
  P.option("trainable-params", "N",
           "parameters that train (e.g. LoRA adapters); the rest are frozen "
           "(default: all)");
  P.option("zero", "STAGE",
           "ZeRO stage: 1 shards optimizer states, 2 also gradients, 3 also "
           "weights, over --devices",
           "0");
  P.option("devices", "N", "data-parallel ranks that ZeRO shards over", "1");
}

Expected<std::optional<TrainingSetup>>
readTrainingOptions(const ArgParser &P, const TrainingSetup &Defaults) {
  if (!P.has("optimizer") && !P.has("precision") &&
      !P.has("trainable-params") && !P.has("zero") && !P.has("devices"))
    return std::nullopt;
  TrainingSetup S = Defaults;
  S.Optimizer = P.get("optimizer").value_or(S.Optimizer);
  S.Precision = P.get("precision").value_or(S.Precision);
  if (auto T = P.get("trainable-params")) {
    uint64_t N = 0;
    if (StringRef(*T).getAsInteger(10, N))
      return badInput("--trainable-params: '{}' is not a whole "
                      "number of parameters",
                      T->c_str());
    S.TrainableParams = N;
  }
  for (auto [Name, Field] :
       {std::pair{"zero", &S.ZeroStage}, std::pair{"devices", &S.Devices}}) {
    auto V = P.getUnsigned(Name);
    if (!V)
      return V.takeError();
    if (*V)
      *Field = **V;
  }
  return S;
}

} // namespace remat::cli

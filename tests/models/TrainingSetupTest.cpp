//===- tests/models/TrainingSetupTest.cpp - Static bytes of set-ups -------===//

#include "models/TrainingSetup.h"
#include "models/ModelGen.h"

#include <doctest/doctest.h>

using namespace remat;

namespace {
StaticBytes ok(uint64_t P, const TrainingSetup &S) {
  auto R = trainingStaticBytes(P, S);
  REQUIRE_MESSAGE(bool(R), (R ? "" : llvm::toString(R.takeError())));
  return *R;
}
std::string err(uint64_t P, const TrainingSetup &S) {
  auto R = trainingStaticBytes(P, S);
  REQUIRE_FALSE(bool(R));
  return llvm::toString(R.takeError());
}
} // namespace

TEST_CASE("training set-up: the generators' own set-ups") {
  // AdamW in mixed precision: 2 (weights) + 2 (grads) + 4 (fp32 master) +
  // 8 (moments) = 16 B per parameter, as Rajbhandari et al. 2020 count.
  StaticBytes A = ok(1000, defaultTrainingSetup("llama"));
  CHECK(A.Parameters == 2000);
  CHECK(A.Gradients == 2000);
  CHECK(A.Optimizer == 12000);
  // SGD with momentum in fp32: 4 + 4 + 4.
  StaticBytes S = ok(1000, defaultTrainingSetup("resnet"));
  CHECK(S.Parameters == 4000);
  CHECK(S.Gradients == 4000);
  CHECK(S.Optimizer == 4000);
}

TEST_CASE("training set-up: optimizers, precisions, adapters, ZeRO") {
  TrainingSetup T;
  T.Optimizer = "adamw-8bit"; // 4 master + 2 states
  CHECK(ok(1000, T).Optimizer == 6000);
  T.Precision = "bf16"; // no master copy
  CHECK(ok(1000, T).Optimizer == 2000);
  T = TrainingSetup();
  T.Optimizer = "none"; // frozen: weights only
  StaticBytes F = ok(1000, T);
  CHECK(F.Parameters == 2000);
  CHECK(F.Gradients + F.Optimizer == 0);
  // LoRA-like: 10 of 1000 parameters train, AdamW mixed.
  T = TrainingSetup();
  T.TrainableParams = 10;
  StaticBytes L = ok(1000, T);
  CHECK(L.Parameters == 2000);
  CHECK(L.Gradients == 20);
  CHECK(L.Optimizer == 120);
  // ZeRO over 3 devices, rounded up per device: stage 1 shards 12000 to
  // 4000; stage 2 also 2000 -> 667; stage 3 also the weights 2000 -> 667.
  T = TrainingSetup();
  T.Devices = 3;
  T.ZeroStage = 1;
  StaticBytes Z1 = ok(1000, T);
  CHECK(Z1.Optimizer == 4000);
  CHECK(Z1.Gradients == 2000);
  T.ZeroStage = 2;
  CHECK(ok(1000, T).Gradients == 667);
  CHECK(ok(1000, T).Parameters == 2000);
  T.ZeroStage = 3;
  CHECK(ok(1000, T).Parameters == 667);
}

TEST_CASE("training set-up: bad set-ups name the option") {
  TrainingSetup T;
  T.Optimizer = "lion";
  CHECK(err(10, T) == "--optimizer 'lion' is not one of adamw, adamw-8bit, "
                      "sgd-momentum, sgd, none");
  T = TrainingSetup();
  T.Precision = "fp8";
  CHECK(err(10, T) == "--precision 'fp8' is not one of mixed, bf16, fp32");
  T = TrainingSetup();
  T.TrainableParams = 11;
  CHECK(err(10, T) == "--trainable-params 11 exceeds the model's 10 "
                      "parameters");
  T = TrainingSetup();
  T.ZeroStage = 4;
  CHECK(err(10, T) == "--zero 4 is not a ZeRO stage (0, 1, 2 or 3)");
  T = TrainingSetup();
  T.Devices = 0;
  CHECK(err(10, T) == "--devices must be at least 1, got 0");
  T = TrainingSetup();
  T.Optimizer = "none";
  T.TrainableParams = 5;
  CHECK(err(10, T) == "--trainable-params: optimizer 'none' trains nothing");
}

TEST_CASE("training set-up: applied to a generated model and its text") {
  for (bool Unet : {false, true}) {
    CAPTURE(Unet);
    auto M = Unet ? generateUNet(UNetOptions()) : generateLlama(LlamaOptions());
    REQUIRE(bool(M));
    TrainingSetup T;
    T.Optimizer = "none";
    T.Precision = "bf16";
    REQUIRE_FALSE(bool(applyTrainingSetup(*M, T)));
    CHECK(M->Static.total() == 2 * M->Parameters);
    // The generator's own phrase is replaced, not contradicted.
    CHECK(M->Description.find("Adam mixed") == std::string::npos);
    CHECK(M->Description.find("static bytes for frozen weights (no "
                              "optimizer) in bf16 precision") !=
          std::string::npos);
  }
}

//===- tests/runtime/RealModelTest.cpp - Real steps under schedules -------===//
//
// A training step of a tiny real network (dropout on) under any chain
// schedule must give parameter gradients and an input gradient that are
// bit-identical to the store-everything step's, and a measured peak equal
// to the simulator's on the net's own byte sizes.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"

#include "planner/Baselines.h"
#include "planner/Simulator.h"
#include "planner/Strategy.h"
#include "runtime/RealModel.h"

#include <doctest/doctest.h>

#include <random>

using namespace remat;
using namespace remat::real;
using namespace remat::test;

namespace {
struct Step {
  std::vector<float> Grads, InputGrad;
  RunResult Run;
};

Step trainStep(RealNet &Net, const std::vector<ChainOp> &Ops) {
  auto Dev = createCpuBackend();
  RealWorkload W(Net);
  Net.zeroGrads();
  auto R = runChain(W, Ops, *Dev);
  REQUIRE_MESSAGE(bool(R), (R ? "" : llvm::toString(R.takeError())));
  return {Net.gradients(), W.inputGradient(), *R};
}

RealShape tinyShape() {
  RealShape S;
  S.Batch = 2;
  S.Seq = 8;
  S.Hidden = 16;
  S.Heads = 2;
  S.Dropout = 0.2f;
  S.Seed = 42;
  return S;
}
} // namespace

TEST_CASE("real: gradients are bit-identical under hand-built schedules") {
  auto Net = RealNet::fromPreset("tiny-gpt", 2, tinyShape());
  REQUIRE(bool(Net));
  unsigned L = Net->size();
  REQUIRE(L == 10); // embed + 2 x (ln, attn, ln, mlp) + head
  Chain C = Net->chain();
  Step Ref = trainStep(*Net, storeAllOps(C));
  // The step really trains: gradients are not all zero.
  bool AnyNonZero = false;
  for (float G : Ref.Grads)
    AnyNonZero |= G != 0;
  CHECK(AnyNonZero);

  std::vector<std::vector<ChainOp>> Schedules = {
      segmentSchedule(L, {0, 3, 6}), segmentSchedule(L, {0, 1, 2, 5, 9}),
      recomputeAllSchedule(L)};
  for (const auto &Ops : Schedules) {
    Step S = trainStep(*Net, Ops);
    CHECK(bitIdentical(Ref.Grads, S.Grads));
    CHECK(bitIdentical(Ref.InputGrad, S.InputGrad));
    auto Sim = simulateChain(C, Ops);
    REQUIRE(bool(Sim));
    CHECK(S.Run.PeakBytes == Sim->PeakBytes);
    CHECK(S.Run.ForwardRecomputations == Sim->ForwardRecomputations);
  }
}

TEST_CASE("real: gradients are bit-identical under planned schedules") {
  auto Net = RealNet::fromPreset("tiny-gpt", 1, tinyShape());
  REQUIRE(bool(Net));
  Model M;
  M.Name = "tiny-gpt";
  M.AsChain = Net->chain();
  Step Ref = trainStep(*Net, storeAllOps(*M.AsChain));
  auto Base = simulateChain(*M.AsChain, storeAllOps(*M.AsChain));
  REQUIRE(bool(Base));
  StrategyOptions Opts[4];
  Opts[0].Name = "sqrt";
  Opts[1].Name = "revolve";
  Opts[1].Slots = 2;
  Opts[2].Name = "selective";
  Opts[2].Kinds = {"attention", "mlp"};
  Opts[3].Name = "optimal";
  Opts[3].BudgetBytes = Base->PeakBytes * 8 / 10;
  for (const StrategyOptions &O : Opts) {
    auto S = planStrategy(M, O);
    if (!S) {
      MESSAGE("strategy " << O.Name << " unavailable here: "
                          << llvm::toString(S.takeError()));
      continue;
    }
    INFO("strategy " << O.Name);
    Step Got = trainStep(*Net, S->chainOps());
    CHECK(bitIdentical(Ref.Grads, Got.Grads));
    CHECK(bitIdentical(Ref.InputGrad, Got.InputGrad));
    CHECK(Got.Run.PeakBytes == S->Predicted.PeakBytes);
    CHECK(Got.Run.ForwardRecomputations == S->Predicted.ForwardRecomputations);
  }
}

TEST_CASE("real: dropout is on and depends on the seed") {
  // Same net shape, different seed for everything: gradients differ; same
  // seed twice: identical. Guards against a comparison that cannot fail.
  RealShape A = tinyShape(), B = tinyShape();
  B.Seed = 43;
  auto NA = RealNet::fromPreset("tiny-mlp", 2, A);
  auto NA2 = RealNet::fromPreset("tiny-mlp", 2, A);
  auto NB = RealNet::fromPreset("tiny-mlp", 2, B);
  REQUIRE((NA && NA2 && NB));
  auto Ops = storeAllOps(NA->chain());
  Step SA = trainStep(*NA, Ops), SA2 = trainStep(*NA2, Ops),
       SB = trainStep(*NB, Ops);
  CHECK(bitIdentical(SA.Grads, SA2.Grads));
  CHECK_FALSE(bitIdentical(SA.Grads, SB.Grads));
}

TEST_CASE("real: chain sizes follow the layer layouts") {
  // Batch 2 x seq 8 x hidden 16 = 256 floats = 1024 bytes per activation.
  // LayerNorm keeps mean and rstd per row: 2 * 16 floats, so x̄ = input
  // copy + 32 floats + output = (256 + 32 + 256) * 4 = 2176 bytes.
  auto Net = RealNet::fromPreset("tiny-gpt", 1, tinyShape());
  REQUIRE(bool(Net));
  Chain C = Net->chain();
  CHECK(C.InputBytes == 1024);
  CHECK(C.Stages[1].Kind == "norm");
  CHECK(C.Stages[1].SavedBytes == 2176);
  CHECK(C.Stages[1].FwdWorkspace == 128);
  // Attention: Q, K, V, O (4 x 256) + P (2 batch x 2 heads x 8 x 8 = 256)
  // = 1280 intermediates; x̄ = (256 + 1280 + 256) * 4 = 7168 bytes;
  // backward scratch dO, dQ, dK, dV + one row of 8 = 1032 floats.
  CHECK(C.Stages[2].SavedBytes == 7168);
  CHECK(C.Stages[2].BwdWorkspace == 4128);
}

TEST_CASE("real: bad shapes and presets are errors naming the field") {
  RealShape S = tinyShape();
  S.Heads = 3;
  auto N = RealNet::fromPreset("tiny-gpt", 1, S);
  REQUIRE_FALSE(bool(N));
  CHECK(llvm::toString(N.takeError()) ==
        "real mode: --hidden 16 is not divisible by --heads 3");
  auto P = RealNet::fromPreset("huge-gpt", 1, tinyShape());
  REQUIRE_FALSE(bool(P));
  CHECK(llvm::toString(P.takeError()) ==
        "unknown preset 'huge-gpt' (choose from tiny-gpt, tiny-mlp)");
  CHECK(layerTypeForKind("Attention") == LayerType::Attention);
  CHECK(layerTypeForKind("conv") == LayerType::LinearGelu);
}

TEST_CASE("real model: the memory estimate bounds the net's own sizes") {
  // The estimate must cover what the built net reports: parameters and
  // their gradients (2 * parameterBytes) plus every stage's saved bytes and
  // the largest backward workspace, for every layer type and random shapes.
  std::mt19937_64 Rng(4242);
  auto U = [&](unsigned Lo, unsigned Hi) {
    return std::uniform_int_distribution<unsigned>(Lo, Hi)(Rng);
  };
  const char *Kinds[] = {"embed", "linear", "norm", "mlp", "attention"};
  for (int Trial = 0; Trial < 30; ++Trial) {
    RealShape S;
    S.Heads = U(1, 4);
    S.Hidden = S.Heads * U(1, 8);
    S.Batch = U(1, 3);
    S.Seq = U(1, 9);
    S.MlpRatio = U(1, 4);
    Chain C;
    for (unsigned I = 0, N = U(1, 8); I < N; ++I) {
      Stage St;
      St.Name = "s" + std::to_string(I);
      St.Kind = Kinds[U(0, 4)];
      C.Stages.push_back(St);
    }
    auto Net = RealNet::fromChain(C, S);
    REQUIRE(bool(Net));
    Chain Sizes = Net->chain();
    double Held = 2.0 * Net->parameterBytes() + Sizes.InputBytes;
    uint64_t Ws = 0;
    for (const Stage &St : Sizes.Stages) {
      Held += St.SavedBytes;
      Ws = std::max(Ws, St.BwdWorkspace);
    }
    CHECK(RealNet::estimateBytes(C, S) >= Held + Ws);
  }
}

TEST_CASE("real model: shapes over 4 GiB are refused before allocating") {
  Chain C;
  Stage St;
  St.Name = "a";
  St.Kind = "linear";
  C.Stages.push_back(St);
  RealShape S;
  // One linear layer with GELU ("linear"): 2 (H^2 + H) parameters and
  // gradients, 3 IO saved, IO backward workspace and 4 IO, IO = 32 H.
  // H = 23170: 2 * (536848900 + 23170) + 8 * 741440 = 1079675660 floats
  // = 4318702640 B, over 2^32 = 4294967296. H = 23000: 2 * (529000000 +
  // 23000) + 8 * 736000 = 1063934000 floats = 4255736000 B, under it.
  S.Heads = 1;
  S.Hidden = 23170;
  CHECK(RealNet::estimateBytes(C, S) == 4318702640.0);
  auto Big = RealNet::fromChain(C, S);
  REQUIRE_FALSE(bool(Big));
  CHECK(llvm::toString(Big.takeError()).find("over the limit of 4.00 GiB") !=
        std::string::npos);
  S.Hidden = 23000;
  CHECK(RealNet::estimateBytes(C, S) == 4255736000.0);
}

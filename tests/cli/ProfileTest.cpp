//===- tests/cli/ProfileTest.cpp - remat profile --------------------------===//

#include "TestUtil.h"

#include "graph/ModelLoader.h"
#include "planner/Strategy.h"
#include "runtime/RealModel.h"

#include <doctest/doctest.h>

using namespace remat;
using namespace remat::test;

TEST_CASE("cli profile: the model file loads, matches the layers and plans") {
  TempFile Out("profiled.json");
  CliResult R =
      runCli({"profile", "--device", "cpu", "--preset", "tiny-gpt", "--blocks",
              "1", "--batch", "1", "--seq", "8", "--hidden", "16", "--heads",
              "2", "--repeat", "1", "-o", Out.path()});
  REQUIRE_MESSAGE(R.Code == 0, R.Err);
  CHECK(R.Out.empty());
  auto M = loadModelFile(Out.path());
  REQUIRE_MESSAGE(bool(M), (M ? "" : llvm::toString(M.takeError())));
  REQUIRE(M->isChain());
  CHECK(M->TimeUnit == "ms");
  const Chain &C = *M->AsChain;
  REQUIRE(C.size() == 6); // embed, ln1, attn, ln2, mlp, head
  // Bytes are the real layers' own: 1 x 8 x 16 floats = 512 bytes per
  // activation; the MLP keeps h1 and a1 (2 x 8 x 64 floats) between the
  // input copy and the output: (128 + 1024 + 128) * 4 = 5120 bytes.
  CHECK(C.InputBytes == 512);
  CHECK(C.Stages[4].Kind == "mlp");
  CHECK(C.Stages[4].SavedBytes == 5120);
  for (const Stage &S : C.Stages) {
    CHECK(S.FwdTime > 0);
    CHECK(S.BwdTime > 0);
  }
  real::RealShape Shape;
  Shape.Batch = 1;
  Shape.Seq = 8;
  Shape.Hidden = 16;
  Shape.Heads = 2;
  auto Net = real::RealNet::fromPreset("tiny-gpt", 1, Shape);
  REQUIRE(bool(Net));
  CHECK(M->Static.Parameters == Net->parameterBytes());
  StrategyOptions O;
  O.Name = "sqrt";
  auto S = planStrategy(*M, O);
  CHECK_MESSAGE(bool(S), (S ? "" : llvm::toString(S.takeError())));
}

TEST_CASE("cli profile: --like keeps the model's stage names and kinds") {
  TempFile Out("like.json");
  CliResult R =
      runCli({"profile", "--like", sourcePath("data/models/gpt2-small.json"),
              "--hidden", "8", "--heads", "2", "--seq", "4", "--batch", "1",
              "--repeat", "1", "-o", Out.path()});
  REQUIRE_MESSAGE(R.Code == 0, R.Err);
  auto Orig = loadModelFile(sourcePath("data/models/gpt2-small.json"));
  auto M = loadModelFile(Out.path());
  REQUIRE((Orig && M));
  REQUIRE(M->AsChain->size() == Orig->AsChain->size());
  for (unsigned I = 0; I < M->AsChain->size(); ++I) {
    CHECK(M->AsChain->Stages[I].Name == Orig->AsChain->Stages[I].Name);
    CHECK(M->AsChain->Stages[I].Kind == Orig->AsChain->Stages[I].Kind);
  }
  CHECK(M->Name == "gpt2-small-real");
}

TEST_CASE("cli profile: bad input exits 2 and writes nothing") {
  TempFile Out("bad.json");
  CliResult NoOut = runCli({"profile"});
  CHECK(NoOut.Code == 2);
  CliResult Heads =
      runCli({"profile", "--hidden", "10", "--heads", "4", "-o", Out.path()});
  CHECK(Heads.Code == 2);
  CHECK(Heads.Err ==
        "remat: error: real mode: --hidden 10 is not divisible by --heads 4\n");
  CHECK(Out.read().empty());
  CliResult Preset = runCli({"profile", "--preset", "big", "-o", Out.path()});
  CHECK(Preset.Code == 2);
  // --device cuda profiles the real layers on a GPU; without one (or
  // without the CUDA build) it is exit 2 naming the reason.
  CliResult Cuda = runCli({"profile", "--device", "cuda", "-o", Out.path()});
  if (Cuda.Code == 0) {
    MESSAGE("a GPU is present: profile --device cuda ran");
  } else {
    CHECK(Cuda.Code == 2);
    CHECK(Cuda.Err.find("remat: error: --device cuda") == 0);
    CHECK(Out.read().empty());
  }
  CliResult Tpu = runCli({"profile", "--device", "tpu", "-o", Out.path()});
  CHECK(Tpu.Code == 2);
  CHECK(runCli({"profile", "--help"}).Code == 0);
}

TEST_CASE("cli profile: shapes over the real-mode cap are refused") {
  // Before the cap: --hidden 100000 and --seq 10000000 threw bad_alloc;
  // --blocks 10000000 printed "LLVM ERROR: out of memory".
  TempFile Out("big.json");
  // tiny-gpt with 2 blocks is 10 layers: 2 linear (embed, head), 4 norms,
  // 2 attention, 2 mlp. With batch 2, seq 16 (R = 32 rows), hidden H = 10^5,
  // F = 4H, IO = R H: linear 2(H^2 + H) + 2 IO, norm 4H + 2 IO + 2R,
  // attention 8 H^2 + 6 IO + 2*4*16*16, mlp 2(2HF + F + H) + 2 IO + 2RF;
  // plus the largest backward workspace RF and 4 IO: 520170404368 floats
  // = 2080681617472 B = 1.89 TiB (Python, by hand).
  CliResult Hidden = runCli(
      {"profile", "--device", "cpu", "--hidden", "100000", "-o", Out.path()});
  CHECK(Hidden.Code == 2);
  CHECK(Hidden.Err ==
        "remat: error: real mode: --batch 2 --seq 16 --hidden 100000 --heads "
        "4 on 10 layers needs an estimated 1.89 TiB (parameters, gradients, "
        "saved tensors), over the limit of 4.00 GiB; lower --hidden, --seq, "
        "--batch or the number of layers (see docs/limits.md)\n");
  // The same sum with seq 10^7, hidden 32: 6400133800218112 B = 5.68 PiB
  // (the attention probabilities, 2*4*10^14 floats, dominate).
  CliResult Seq = runCli(
      {"profile", "--device", "cpu", "--seq", "10000000", "-o", Out.path()});
  CHECK(Seq.Code == 2);
  CHECK(Seq.Err.find("needs an estimated 5.68 PiB") != std::string::npos);
  // 4 * 10^7 + 2 stages, over the 10^6 stages of a model.
  CliResult Blocks = runCli(
      {"profile", "--device", "cpu", "--blocks", "10000000", "-o", Out.path()});
  CHECK(Blocks.Code == 2);
  CHECK(Blocks.Err == "remat: error: real mode: --blocks 10000000 gives "
                      "40000002 stages; a model holds at most 1000000\n");
  CHECK(Out.read().empty());
  // validate --mode real builds the net through the same entry point.
  std::string Chain4 = sourcePath("tests/data/chain4.json");
  TempFile Plan("plan.json");
  REQUIRE(
      runCli({"plan", Chain4, "--strategy", "sqrt", "-o", Plan.path()}).Code ==
      0);
  CliResult Val = runCli({"validate", Chain4, Plan.path(), "--device", "cpu",
                          "--mode", "real", "--hidden", "20000"});
  CHECK(Val.Code == 2);
  CHECK(Val.Err.find("real mode: --batch 2 --seq 16 --hidden 20000 --heads 4 "
                     "on 4 layers needs an estimated ") != std::string::npos);
}

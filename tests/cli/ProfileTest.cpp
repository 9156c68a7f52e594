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
  CliResult Cuda = runCli({"profile", "--device", "cuda", "-o", Out.path()});
  CHECK(Cuda.Code == 2);
  CHECK(Cuda.Err.find("the real layers run on the cpu device only") !=
        std::string::npos);
  CHECK(runCli({"profile", "--help"}).Code == 0);
}

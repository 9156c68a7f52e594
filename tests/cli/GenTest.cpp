//===- tests/cli/GenTest.cpp - remat gen ----------------------------------===//

#include "graph/ModelLoader.h"
#include "models/ModelGen.h"

#include "TestUtil.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace remat;
using remat::test::runCli;

TEST_CASE("gen: bad parameters exit 2 with one exact line") {
  struct Case {
    std::vector<std::string> Args;
    std::string Message;
  } Cases[] = {
      {{"gen", "gpt", "--hidden", "770"},
       "gen gpt: --hidden 770 is not divisible by --heads 12"},
      {{"gen", "gpt", "--layers", "0"},
       "gen gpt: --layers must be between 1 and 16777216, got 0"},
      // The loader refuses an empty name: gen wrote such a model.
      {{"gen", "gpt", "--name", ""}, "--name must not be empty"},
      {{"gen", "resnet", "--name", ""}, "--name must not be empty"},
      {{"gen", "gpt", "--layers", "x"},
       "remat gen gpt: --layers expects a non-negative integer, got 'x' (see "
       "'remat gen gpt --help')"},
      // 2 * 500000 + 2 stages (embedding, attention and MLP per layer,
      // head): one more than the loader reads.
      {{"gen", "gpt", "--layers", "500000"},
       "gen gpt: --layers 500000 gives 1000002 stages; a model file holds at "
       "most 1000000"},
      // 2999999 = 9 * 333333 + 2: stem, 3 * 333333 blocks, head.
      {{"gen", "resnet", "--depth", "2999999"},
       "gen resnet: --depth 2999999 gives 1000001 stages; a model file holds "
       "at most 1000000"},
      {{"gen", "llama", "--kv-heads", "3"},
       "gen llama: --heads 32 is not divisible by --kv-heads 3"},
      {{"gen", "resnet", "--depth", "1000"},
       "gen resnet: --depth 1000 is not 9n+2 with n >= 1 bottleneck blocks "
       "per stage (e.g. 164 or 1001)"},
      {{"gen", "resnet", "--image", "100"},
       "gen resnet: --image 100 is not a multiple of 16 (the network "
       "downsamples 16x)"},
      {{"gen", "unet", "--tflops", "0"},
       "gen unet: --tflops must be at least 1e-06, got 0"},
      {{"gen", "vit", "--kv-heads", "2"},
       "remat gen vit: unknown option '--kv-heads' (see 'remat gen vit "
       "--help')"},
      {{"gen", "gpt", "--activation-precision", "fp8"},
       "gen gpt: --activation-precision: unknown value 'fp8'; expected "
       "16-bit, bf16, fp16 or fp32"},
      // The convolutional generators' formulas are 16-bit only.
      {{"gen", "resnet", "--activation-precision", "fp32"},
       "remat gen resnet: unknown option '--activation-precision' (see "
       "'remat gen resnet --help')"},
      {{"gen", "bundled"}, "gen bundled: --out DIR is required"},
      {{"gen", "bert"},
       "gen: unknown kind 'bert' (expected gpt, llama, vit, resnet, unet or "
       "bundled; see 'remat gen --help')"},
  };
  for (const Case &C : Cases) {
    auto R = runCli(C.Args);
    CHECK(R.Code == 2);
    CHECK(R.Out.empty());
    CHECK(R.Err == "remat: error: " + C.Message + "\n");
  }
}

TEST_CASE("gen: -o writes the model file and nothing to stdout") {
  test::TempFile F("gpt.json");
  auto R =
      runCli({"gen", "gpt", "--layers", "2", "--seq", "128", "--batch", "2",
              "--tflops", "100", "--name", "tiny-gpt", "-o", F.path()});
  REQUIRE(R.Code == 0);
  CHECK(R.Out.empty());
  CHECK(R.Err.empty());
  GptOptions O;
  O.Layers = 2;
  O.Seq = 128;
  O.Batch = 2;
  O.Tflops = 100;
  O.Name = "tiny-gpt";
  auto M = generateGpt(O);
  REQUIRE(bool(M));
  CHECK(F.read() == renderModel(*M));
  auto Loaded = loadModelFile(F.path());
  REQUIRE_MESSAGE(bool(Loaded),
                  (Loaded ? "" : llvm::toString(Loaded.takeError())));
  CHECK(Loaded->Name == "tiny-gpt");
  CHECK(Loaded->BatchSize == 2);
  // embed, 2 x (attn, mlp), head.
  CHECK(Loaded->AsChain->size() == 6);
}

TEST_CASE("gen: without -o the model goes to stdout") {
  auto R = runCli({"gen", "resnet", "--depth", "11", "--batch", "2"});
  REQUIRE(R.Code == 0);
  CHECK(R.Err.empty());
  // depth 11 = 9 * 1 + 2: stem, 3 bottleneck blocks, head.
  auto M = parseModelText(R.Out, "<stdout>");
  REQUIRE_MESSAGE(bool(M), (M ? "" : llvm::toString(M.takeError())));
  CHECK(M->AsChain->size() == 5);
}

TEST_CASE("gen: bundled regenerates the committed files") {
  test::TempFile Marker("marker");
  std::string Dir = llvm::sys::path::parent_path(Marker.path()).str();
  auto R = runCli({"gen", "bundled", "--out", Dir});
  REQUIRE(R.Code == 0);
  for (const char *Name :
       {"gpt2-small.json", "llama2-7b.json", "vit-l16.json", "resnet-1001.json",
        "transformer-50.json", "sd21-unet.json", "sdxl-unet.json"}) {
    std::string Got = Dir + "/" + Name;
    CHECK(R.Out.find("wrote " + Got + "\n") != std::string::npos);
    auto A = llvm::MemoryBuffer::getFile(Got);
    auto B = llvm::MemoryBuffer::getFile(
        test::sourcePath(std::string("data/models/") + Name));
    REQUIRE(bool(A));
    REQUIRE(bool(B));
    CHECK_MESSAGE((*A)->getBuffer() == (*B)->getBuffer(), Name);
    llvm::sys::fs::remove(Got);
  }
}

TEST_CASE("gen: --help teaches with examples") {
  auto Top = runCli({"gen", "--help"});
  CHECK(Top.Code == 0);
  CHECK(Top.Out.find("remat gen bundled --out data/models") !=
        std::string::npos);
  auto Gpt = runCli({"gen", "gpt", "--help"});
  CHECK(Gpt.Code == 0);
  CHECK(Gpt.Out.find("--heads N") != std::string::npos);
  CHECK(Gpt.Out.find("(default: 768)") != std::string::npos);
  CHECK(Gpt.Out.find("example:") != std::string::npos);
  auto None = runCli({"gen"});
  CHECK(None.Code == 2);
  CHECK(None.Err.find("usage: remat gen KIND") != std::string::npos);
}

TEST_CASE("gen: training set-up options change only the static bytes") {
  auto Plain = runCli({"gen", "llama", "--layers", "2"});
  auto Lora = runCli({"gen", "llama", "--layers", "2", "--trainable-params",
                      "1000", "--zero", "2", "--devices", "4"});
  REQUIRE_MESSAGE(Plain.Code == 0, Plain.Err);
  REQUIRE_MESSAGE(Lora.Code == 0, Lora.Err);
  auto P = nlohmann::json::parse(Plain.Out);
  auto L = nlohmann::json::parse(Lora.Out);
  CHECK(P["layers"] == L["layers"]);
  // 1000 trainable: 2 B gradients and 12 B optimizer each, over 4 ranks.
  CHECK(L["static_bytes"]["gradients"] == 500);
  CHECK(L["static_bytes"]["optimizer"] == 3000);
  CHECK(L["static_bytes"]["parameters"] == P["static_bytes"]["parameters"]);
  auto Bad = runCli({"gen", "resnet", "--optimizer", "lion"});
  CHECK(Bad.Code == 2);
  CHECK(Bad.Err.find("--optimizer 'lion'") != std::string::npos);
}

TEST_CASE("gen: --activation-precision fp32 doubles the 16-bit tensors") {
  auto Half = runCli({"gen", "vit", "--layers", "1"});
  auto Full =
      runCli({"gen", "vit", "--layers", "1", "--activation-precision", "fp32"});
  auto Bf16 =
      runCli({"gen", "vit", "--layers", "1", "--activation-precision", "bf16"});
  REQUIRE_MESSAGE(Full.Code == 0, Full.Err);
  CHECK(Bf16.Out == Half.Out); // bf16 is the default's 16 bits
  auto H = nlohmann::json::parse(Half.Out), F = nlohmann::json::parse(Full.Out);
  // Outputs are activations only: exactly twice as large. ViT-L/16: s = 197
  // tokens, b = 32, h = 1024: 2 * 197 * 32 * 1024 = 12,910,592 in 16 bits.
  CHECK(H["layers"][1]["output_bytes"] == 12'910'592);
  CHECK(F["layers"][1]["output_bytes"] == 2 * 12'910'592);
  // Static bytes do not depend on activation precision.
  CHECK(H["static_bytes"] == F["static_bytes"]);
}

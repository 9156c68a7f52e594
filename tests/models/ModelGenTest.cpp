//===- tests/models/ModelGenTest.cpp - Analytic model generators ----------===//
//
// The committed data/models/ files must equal the generators' output byte
// for byte. Every other check recomputes a published number or a formula
// of docs/models.md by hand, with the arithmetic in a comment.
//
//===----------------------------------------------------------------------===//

#include "models/ModelGen.h"
#include "graph/ModelLoader.h"

#include "TestUtil.h"

#include "llvm/Support/MemoryBuffer.h"

#include <doctest/doctest.h>

#include <cmath>

using namespace remat;

namespace {

GeneratedModel ok(llvm::Expected<GeneratedModel> M) {
  REQUIRE_MESSAGE(bool(M), (M ? "" : llvm::toString(M.takeError())));
  return std::move(*M);
}

std::string err(llvm::Expected<GeneratedModel> M) {
  REQUIRE_FALSE(bool(M));
  return llvm::toString(M.takeError());
}

const Stage &stage(const GeneratedModel &M, const std::string &Name) {
  for (const Stage &S : M.AsChain->Stages)
    if (S.Name == Name)
      return S;
  FAIL("no stage " << Name);
  return M.AsChain->Stages.front();
}

double flops(const GeneratedModel &M, const std::string &Name) {
  for (unsigned I = 0; I < M.AsChain->size(); ++I)
    if (M.AsChain->Stages[I].Name == Name)
      return M.FwdFlops[I];
  FAIL("no stage " << Name);
  return 0;
}

} // namespace

TEST_CASE("modelgen: committed data/models files equal the generator output") {
  auto Models = bundledModels();
  REQUIRE(bool(Models));
  CHECK(Models->size() == 7);
  for (const BundledModel &B : *Models) {
    std::string Path = test::sourcePath("data/models/" + B.FileName);
    auto Buf = llvm::MemoryBuffer::getFile(Path);
    REQUIRE_MESSAGE(bool(Buf), "missing " << Path);
    // On a mismatch, regenerate with scripts/gen-models.sh and review.
    CHECK_MESSAGE((*Buf)->getBuffer() == renderModel(B.Model),
                  B.FileName << " is stale: run scripts/gen-models.sh");
  }
}

TEST_CASE("modelgen: every bundled model loads") {
  auto Models = bundledModels();
  REQUIRE(bool(Models));
  for (const BundledModel &B : *Models) {
    auto M = loadModelFile(test::sourcePath("data/models/" + B.FileName));
    REQUIRE_MESSAGE(bool(M), (M ? "" : llvm::toString(M.takeError())));
    CHECK(M->Name == B.Model.Name);
    CHECK(M->BatchSize == B.Model.BatchSize);
    CHECK(M->Static.total() == B.Model.Static.total());
    if (B.Model.AsChain) {
      REQUIRE(M->isChain());
      CHECK(M->AsChain->size() == B.Model.AsChain->size());
    } else {
      // The loader adds one backward node per forward node.
      CHECK(M->G.size() > B.Model.Forward.size());
    }
  }
}

TEST_CASE("modelgen: GPT layer stores sbh(34 + 5as/h) bytes") {
  GeneratedModel M = ok(generateGpt(GptOptions()));
  // GPT-2 small, s = 1024, b = 8, h = 768, a = 12:
  // sbh = 1024 * 8 * 768 = 6,291,456; 5as/h = 5 * 12 * 1024 / 768 = 80;
  // sbh * (34 + 80) = 717,225,984 bytes per layer.
  for (unsigned L = 0; L < 12; ++L) {
    const Stage &A = stage(M, "h." + std::to_string(L) + ".attn");
    const Stage &F = stage(M, "h." + std::to_string(L) + ".mlp");
    CHECK(A.SavedBytes + F.SavedBytes == 717'225'984ull);
    // Attention 11sbh + 5as^2b + LN 2sbh = 13 * 6,291,456 + 5 * 12 * 1024^2
    // * 8 = 81,788,928 + 503,316,480; MLP 19sbh + 2sbh = 21 * 6,291,456.
    CHECK(A.SavedBytes == 585'105'408ull);
    CHECK(F.SavedBytes == 132'120'576ull);
    CHECK(A.OutputBytes == 2 * 6'291'456ull);
    CHECK(A.Kind == "attention");
    CHECK(F.Kind == "mlp");
  }
  // A second shape: s = 2048, b = 2, h = 1024, a = 16: sbh = 4,194,304;
  // 5as/h = 5 * 16 * 2048 / 1024 = 160; 4,194,304 * 194 = 813,694,976.
  GptOptions O;
  O.Layers = 3;
  O.Hidden = 1024;
  O.Heads = 16;
  O.Seq = 2048;
  O.Batch = 2;
  GeneratedModel N = ok(generateGpt(O));
  CHECK(N.AsChain->size() == 2 * 3 + 2);
  CHECK(stage(N, "h.2.attn").SavedBytes + stage(N, "h.2.mlp").SavedBytes ==
        813'694'976ull);
}

TEST_CASE("modelgen: fp32 activations store sbh(66 + 9as/h) per GPT layer") {
  GptOptions O;
  O.ActivationBytes = 4;
  GeneratedModel M = ok(generateGpt(O));
  // Korthikanti's 34sbh holds 2sbh of 1-byte dropout masks and 32sbh of
  // 16-bit tensors; in fp32 those double: 2 + 64 = 66. Of 5as^2b, as^2b is a
  // mask: 1 + 2 * 4 = 9. GPT-2 small, s = 1024, b = 8, h = 768, a = 12:
  // sbh = 6,291,456; 9as/h = 9 * 12 * 1024 / 768 = 144;
  // 6,291,456 * (66 + 144) = 1,321,205,760 bytes per layer.
  const Stage &A = stage(M, "h.5.attn"), &F = stage(M, "h.5.mlp");
  CHECK(A.SavedBytes + F.SavedBytes == 1'321'205'760ull);
  CHECK(A.OutputBytes == 4 * 6'291'456ull);
  // The LM head keeps fp32 logits either way and has no 16-bit cast:
  // s*b*V = 1024 * 8 * 50257 = 411,705,344; forward workspace 0, backward
  // the fp32 logit gradient 4sbV = 1,646,821,376.
  const Stage &H = stage(M, "head");
  CHECK(H.FwdWorkspace == 0);
  CHECK(H.BwdWorkspace == 1'646'821'376ull);
  CHECK(M.Description.find("(fp32, sbh(66+9as/h) per layer") !=
        std::string::npos);
}

TEST_CASE("modelgen: fp32 Llama layer tensors") {
  LlamaOptions O;
  O.ActivationBytes = 4;
  GeneratedModel M = ok(generateLlama(O));
  // s = 4096, b = 1, h = hk = 4096, f = 11008 as above, 4 bytes each:
  // attention rstd 16,384 + norm output, Q, O 3 * 67,108,864 + K, V
  // 2 * 67,108,864 + lse 524,288 + output 67,108,864 = 403,193,856.
  CHECK(stage(M, "layers.0.attn").SavedBytes == 403'193'856ull);
  // MLP: rstd 16,384 + norm output 67,108,864 + four f-wide tensors
  // 4 * 180,355,072 + output 67,108,864 = 855,654,400.
  CHECK(stage(M, "layers.0.mlp").SavedBytes == 855'654'400ull);
  CHECK(M.Description.find("fp32 activations") != std::string::npos);
  // Only 2 and 4 bytes per element are modelled.
  O.ActivationBytes = 1;
  auto Bad = generateLlama(O);
  REQUIRE(!Bad);
  CHECK(llvm::toString(Bad.takeError()).find("--activation-precision") !=
        std::string::npos);
}

TEST_CASE("modelgen: GPT forward FLOPs per layer are 24bsh^2 + 4bs^2h") {
  GeneratedModel M = ok(generateGpt(GptOptions()));
  // 24 * 8 * 1024 * 768^2 = 115,964,116,992; 4 * 8 * 1024^2 * 768 =
  // 25,769,803,776; sum 141,733,920,768.
  CHECK(flops(M, "h.3.attn") + flops(M, "h.3.mlp") == 141'733'920'768.0);
  // At 300 TFLOP/s: 141,733,920,768 / 3e14 s = 0.472446 ms; backward 2x.
  const Stage &A = stage(M, "h.3.attn"), &F = stage(M, "h.3.mlp");
  CHECK(A.FwdTime + F.FwdTime == doctest::Approx(0.472446).epsilon(1e-5));
  CHECK(A.BwdTime + F.BwdTime == doctest::Approx(0.944893).epsilon(1e-5));
  // Head: 2bshV = 2 * 8 * 1024 * 768 * 50257 = 12,582,912 * 50,257
  // = 629,145,600,000 + 3,233,808,384 = 632,379,408,384.
  CHECK(flops(M, "head") == 632'379'408'384.0);
}

TEST_CASE("modelgen: published parameter counts") {
  // GPT-2 small: 124,439,808 (Radford et al. 2019; the HF checkpoint).
  // 50257*768 + 1024*768 + 12*(12*768^2 + 13*768) + 2*768.
  GeneratedModel G = ok(generateGpt(GptOptions()));
  CHECK(G.Parameters == 124'439'808ull);
  // Mixed-precision Adam: 2 + 2 + 12 bytes per parameter.
  CHECK(G.Static.Parameters == 2 * 124'439'808ull);
  CHECK(G.Static.Optimizer == 12 * 124'439'808ull);
  // Llama 2 7B: 6,738,415,616 (the Meta checkpoint).
  CHECK(ok(generateLlama(LlamaOptions())).Parameters == 6'738'415'616ull);
  // ViT-L/16 with a 1000-class head: 304,326,632 (timm vit_large_patch16_224).
  CHECK(ok(generateVit(VitOptions())).Parameters == 304'326'632ull);
  // SD 2.1 U-Net: 865,910,724 (diffusers UNet2DConditionModel).
  CHECK(ok(generateUNet(UNetOptions())).Parameters == 865'910'724ull);
  // SDXL base U-Net: 2,567,463,684 (the published count of
  // stable-diffusion-xl-base-1.0's unet).
  UNetOptions Xl;
  Xl.Preset = "sdxl";
  CHECK(ok(generateUNet(Xl)).Parameters == 2'567'463'684ull);
}

TEST_CASE("modelgen: Llama layer tensors with flash attention") {
  GeneratedModel M = ok(generateLlama(LlamaOptions()));
  // s = 4096, b = 1, h = 4096, a = 32, kv = 32 (hk = 4096), f = 11008.
  // sb = 4096, sbh = 16,777,216, sbf = 45,088,768.
  // Attention: rstd 4sb 16,384 + norm output 2sbh 33,554,432 + Q 33,554,432
  // + K 33,554,432 + V 33,554,432 + O 33,554,432 + lse 4asb 524,288 + output
  // 33,554,432 = 201,867,264.
  CHECK(stage(M, "layers.0.attn").SavedBytes == 201'867'264ull);
  // MLP: rstd 16,384 + norm output 33,554,432 + gate, up, SiLU(gate),
  // product 4 * 90,177,536 + output 33,554,432 = 427,835,392.
  CHECK(stage(M, "layers.0.mlp").SavedBytes == 427'835'392ull);
  // No s^2 term: doubling s doubles the attention stage's bytes exactly.
  LlamaOptions Long;
  Long.Seq = 8192;
  CHECK(stage(ok(generateLlama(Long)), "layers.0.attn").SavedBytes ==
        2 * 201'867'264ull);
  // GQA with 8 kv heads: K and V shrink from 2sbh each to 2sb*1024 each,
  // saving 2 * (33,554,432 - 8,388,608) = 50,331,648 bytes.
  LlamaOptions Gqa;
  Gqa.KvHeads = 8;
  CHECK(stage(ok(generateLlama(Gqa)), "layers.0.attn").SavedBytes ==
        201'867'264ull - 50'331'648ull);
}

TEST_CASE("modelgen: Llama with transformers' eager RMSNorm") {
  LlamaOptions O;
  O.RmsNorm = "eager";
  GeneratedModel M = ok(generateLlama(O));
  // Each norm also keeps its fp32 upcast 4sbh = 67,108,864 and the bf16
  // normalised tensor 2sbh = 33,554,432: +100,663,296 on the fused
  // figures 201,867,264 (attention) and 427,835,392 (MLP).
  CHECK(stage(M, "layers.0.attn").SavedBytes == 302'530'560ull);
  CHECK(stage(M, "layers.0.mlp").SavedBytes == 528'498'688ull);
  // The layer, 302,530,560 + 528,498,688 = 831,012,864, is the meta export
  // of the Hugging Face model (26sbh + 8sbf + 8sb + 4asb = 797,474,816,
  // docs/models.md) plus the 2sbh = 33,554,432 mid-layer residual that the
  // two-stage chain keeps.
  //
  // fp32 activations: the upcast is the input itself; only the fp32
  // normalised tensor is added, 4sbh = 67,108,864 per norm.
  LlamaOptions F = O, Ff;
  F.ActivationBytes = Ff.ActivationBytes = 4;
  CHECK(stage(ok(generateLlama(F)), "layers.0.mlp").SavedBytes ==
        stage(ok(generateLlama(Ff)), "layers.0.mlp").SavedBytes +
            67'108'864ull);
  O.RmsNorm = "apex";
  CHECK(err(generateLlama(O)) == "gen llama: --rmsnorm: unknown value "
                                 "'apex'; expected fused or eager");
}

TEST_CASE("modelgen: ViT-L/16 has 197 tokens") {
  GeneratedModel M = ok(generateVit(VitOptions()));
  // 24 layers x (attention, mlp) + patch embedding + head.
  CHECK(M.AsChain->size() == 50);
  // s = 197, b = 32, h = 1024, a = 16: sbh = 197 * 32 * 1024 = 6,455,296;
  // 34sbh = 219,480,064; 5as^2b = 5 * 16 * 197^2 * 32 = 99,351,040; the sum
  // is 318,831,104 (= sbh * (34 + 5as/h) with 5as/h = 15.390625).
  CHECK(stage(M, "blocks.0.attn").SavedBytes +
            stage(M, "blocks.0.mlp").SavedBytes ==
        318'831'104ull);
  // x_0: 32 fp32 images of 3 x 224 x 224 = 19,267,584 bytes.
  CHECK(M.AsChain->InputBytes == 19'267'584ull);
}

TEST_CASE("modelgen: ResNet-1001 has 333 bottleneck stages") {
  GeneratedModel M = ok(generateResNet(ResNetOptions()));
  const Chain &C = *M.AsChain;
  REQUIRE(C.size() == 335);
  CHECK(C.Stages.front().Kind == "stem");
  CHECK(C.Stages.back().Kind == "head");
  unsigned Bottlenecks = 0;
  for (const Stage &S : C.Stages)
    Bottlenecks += S.Kind == "bottleneck";
  CHECK(Bottlenecks == 333);
  // stage1.block1: 256 -> 64 -> 64 -> 256 at 56 x 56, batch 32. Saved
  // elements per image: r1 256 + c1 64 + r2 64 + c2 64 + r3 64 + output 256
  // = 768 channels x 3136 = 2,408,448; x 32 images x 2 bytes = 154,140,672;
  // BN statistics 8 * (256 + 64 + 64) = 3,072.
  CHECK(stage(M, "stage1.block1").SavedBytes == 154'143'744ull);
  // MACs per pixel 256*64 + 9*64*64 + 64*256 = 69,632; FLOPs 2 * 32 * 3136 *
  // 69,632 = 13,975,420,928.
  CHECK(flops(M, "stage1.block1") == 13'975'420'928.0);
  // Stage outputs: 256 x 56^2, 512 x 28^2, 1024 x 14^2 (x 32 x 2 bytes).
  CHECK(stage(M, "stage1.block110").OutputBytes == 51'380'224ull);
  CHECK(stage(M, "stage2.block0").OutputBytes == 25'690'112ull);
  CHECK(stage(M, "stage3.block110").OutputBytes == 12'845'056ull);
}

TEST_CASE("modelgen: SD 2.1 U-Net graph is acyclic with long skips") {
  GeneratedModel M = ok(generateUNet(UNetOptions()));
  REQUIRE_FALSE(M.AsChain.has_value());
  const Graph &G = M.Forward;
  // time_embed, conv_in, 17 down, 3 mid, 4 + 7 + 7 + 6 up, conv_out, loss.
  CHECK(G.size() == 48);
  unsigned Losses = 0, Skips = 0;
  for (unsigned V = 0; V < G.size(); ++V) {
    const Node &N = G.Nodes[V];
    Losses += N.NodePhase == Phase::Loss;
    // Listed in a topological order: every input comes earlier.
    for (unsigned In : N.Inputs)
      CHECK(In < V);
    // An up-path ResNet reads its predecessor, a skip and the time
    // embedding; a skip edge spans more than the previous node.
    if (N.Kind == "resnet" && N.Inputs.size() == 3) {
      ++Skips;
      CHECK(N.Inputs[1] + 1 < N.Inputs[0]);
    }
  }
  CHECK(Losses == 1);
  CHECK(Skips == 12); // 3 ResNet blocks in each of the 4 up levels
  // conv_in output: 4 latents x 320 x 64 x 64 x 2 bytes = 10,485,760.
  CHECK(G.Nodes[*G.find("conv_in")].Bytes == 10'485'760ull);
  // up3.resnet2 reads conv_in's output as its skip.
  const Node &Last = G.Nodes[*G.find("up3.resnet2")];
  CHECK(Last.Inputs[1] == *G.find("conv_in"));
}

TEST_CASE("modelgen: SD 2.1 up path keeps no output that only a "
          "concatenation or an upsampler reads") {
  const Graph &G = ok(generateUNet(UNetOptions())).Forward;
  auto Bytes = [&](const char *Name) { return G.Nodes[*G.find(Name)].Bytes; };
  // up0.resnet0 at 8x8 (area 64), batch 4, 2560 -> 1280 channels: GN1 and
  // SiLU1 outputs 2 x 2560 x 64, conv1, GN2, SiLU2 outputs 3 x 1280 x 64,
  // SiLU(temb) 1280, all 2 bytes x 4 images: 8 x (327,680 + 245,760 +
  // 1280) = 4,597,760; two fp32 GN statistics 2 x 8 x 32 x 4 = 2048; the
  // concatenation it norms 8 x 2560 x 64 = 1,310,720. Sum 5,910,528: its
  // output (8 x 1280 x 64) goes to up0.resnet1's concatenation only.
  CHECK(Bytes("up0.resnet0") == 5'910'528ull);
  // mid.resnet1's output is read by up0.resnet0's concatenation only:
  // 8 x (2 x 1280 x 64 + 3 x 1280 x 64 + 1280) + 2048 = 3,289,088.
  CHECK(Bytes("mid.resnet1") == 3'289'088ull);
  // An upsampler keeps the nearest-upsampled conv input, not its output:
  // up0.upsample at 16x16, 1280 channels: 8 x 1280 x 256 = 2,621,440.
  CHECK(Bytes("up0.upsample") == 2'621'440ull);
  // In up3 (64x64, 320 channels) attn1 feeds a concatenation and attn2
  // conv_out's GroupNorm, which keeps it; the two blocks have the same
  // shape, so they differ by the output alone: 8 x 320 x 4096 = 10,485,760.
  CHECK(Bytes("up3.attn2") - Bytes("up3.attn1") == 10'485'760ull);
}

TEST_CASE("modelgen: SDXL U-Net has three levels and deep transformers") {
  UNetOptions O;
  O.Preset = "sdxl";
  O.Batch = 1;
  GeneratedModel M = ok(generateUNet(O));
  const Graph &G = M.Forward;
  // time_embed, conv_in; down 3 + 5 + 4 (level 0 has no attention, the last
  // level no downsampler); mid 3; up 7 + 7 + 3; conv_out, loss.
  CHECK(G.size() == 2 + 12 + 3 + 17 + 2);
  unsigned Skips = 0;
  for (const Node &N : G.Nodes)
    Skips += N.Kind == "resnet" && N.Inputs.size() == 3;
  CHECK(Skips == 9); // 3 ResNet blocks in each of the 3 up levels
  CHECK_FALSE(G.find("down0.attn0").has_value());
  CHECK_FALSE(G.find("up2.attn0").has_value());
  // conv_in output at 128 x 128 latents: 1 x 320 x 128 x 128 x 2 bytes.
  CHECK(G.Nodes[*G.find("conv_in")].Bytes == 320ull * 128 * 128 * 2);
  // mid.attn: 10 transformer blocks at 1280 channels on 32 x 32 = 1024
  // tokens (20 heads): 2 (3 + 280) c n + 10 * 2 * 2 * 77 c (cross K, V)
  // + 10 * 2 * 4 * 20 n (logsumexps) + 8 * 32 (GN) + 10 * 3 * 8 n (LN).
  uint64_t C = 1280, N = 1024;
  CHECK(G.Nodes[*G.find("mid.attn")].Bytes ==
        2 * (283 * C * N + 10 * 2 * C * 77) + 10 * 2 * 4 * 20 * N + 8 * 32 +
            10 * 3 * 8 * N);
}

TEST_CASE("modelgen: bad parameters are errors naming the option") {
  GptOptions G;
  G.Heads = 5;
  CHECK(err(generateGpt(G)) ==
        "gen gpt: --hidden 768 is not divisible by --heads 5");
  G = GptOptions();
  G.Layers = 0;
  CHECK(err(generateGpt(G)) ==
        "gen gpt: --layers must be between 1 and 16777216, got 0");
  G = GptOptions();
  G.Tflops = 0;
  CHECK(err(generateGpt(G)) ==
        "gen gpt: --tflops must be at least 1e-06, got 0");
  LlamaOptions L;
  L.KvHeads = 5;
  CHECK(err(generateLlama(L)) ==
        "gen llama: --heads 32 is not divisible by --kv-heads 5");
  VitOptions V;
  V.Image = 200;
  CHECK(err(generateVit(V)) ==
        "gen vit: --image 200 is not divisible by --patch 16");
  ResNetOptions R;
  R.Depth = 1000;
  CHECK(err(generateResNet(R)) ==
        "gen resnet: --depth 1000 is not 9n+2 with n >= 1 bottleneck blocks "
        "per stage (e.g. 164 or 1001)");
  UNetOptions U;
  U.Latent = 60;
  CHECK(err(generateUNet(U)) ==
        "gen unet: --latent 60 is not a multiple of 8 (the sd21 U-Net "
        "downsamples 8x)");
  U.Preset = "sdxl";
  U.Latent = 62;
  CHECK(err(generateUNet(U)) ==
        "gen unet: --latent 62 is not a multiple of 4 (the sdxl U-Net "
        "downsamples 4x)");
  U.Preset = "sd3";
  CHECK(err(generateUNet(U)) ==
        "gen unet: unknown --preset 'sd3' (choose from sd21, sdxl)");
  // 5as^2b with s = b = 2^24 and a = 16 far exceeds 2^62 bytes.
  G = GptOptions();
  G.Hidden = 1024;
  G.Heads = 16;
  G.Seq = 1u << 24;
  G.Batch = 1u << 24;
  CHECK(err(generateGpt(G)) ==
        "gpt: layer h.0.attn: the size exceeds the format's limit of 2^62 "
        "bytes; choose smaller parameters");
}

TEST_CASE("modelgen: output is deterministic and well formed") {
  GptOptions O;
  O.Layers = 2;
  std::string A = renderModel(ok(generateGpt(O)));
  CHECK(A == renderModel(ok(generateGpt(O))));
  CHECK(A.back() == '\n');
  CHECK(A.rfind("{\n  \"format\": \"remat-model\",\n  \"version\": 1,", 0) ==
        0);
  auto M = parseModelText(A, "gpt.json");
  REQUIRE_MESSAGE(bool(M), (M ? "" : llvm::toString(M.takeError())));
  CHECK(M->AsChain->size() == 6);
}

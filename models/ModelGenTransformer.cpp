//===- models/ModelGenTransformer.cpp - GPT, Llama and ViT chains ---------===//
//
// One chain stage per attention block and per MLP block, each with its
// pre-norm, plus an embedding stage and a head stage. The activation counts
// follow Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large
// Transformer Models", arXiv:2205.05198, §4.1) for GPT and ViT, and a
// derivation from the saved tensors for Llama; docs/models.md has the
// arithmetic. A stage's saved bytes exclude its input x_i, which the chain
// semantics keep resident until the stage's backward.
//
//===----------------------------------------------------------------------===//

#include "graph/Errors.h"
#include "models/ModelGen.h"
#include "models/ModelGenInternal.h"

#include <fmt/format.h>

using namespace llvm;

namespace remat {

using gen::StageCost;
using gen::U128;

namespace {
/// The shape of one transformer layer; every field in elements or tokens.
struct Shape {
  U128 S = 0; // tokens per sequence
  U128 B = 0; // sequences (or images) per batch
  U128 H = 0; // hidden size
  U128 A = 0; // query heads
  U128 F = 0; // MLP width
  U128 E = 2; // bytes per activation element: 2 (16-bit) or 4 (fp32)
  /// Bytes of a 16-bit cast of an fp32 tensor's element: none in fp32.
  U128 cast() const { return E < 4 ? E : 0; }
};
} // namespace

/// Korthikanti attention block: LayerNorm, QKV, softmax(QK^T) with dropout,
/// times V, output projection, dropout, residual add. Activations of X.E
/// bytes per element (e = 2 in the paper), 1-byte dropout masks.
static StageCost korthikantiAttention(const Shape &X, std::string Name) {
  U128 SBH = X.S * X.B * X.H, AS2B = X.A * X.S * X.S * X.B, E = X.E;
  StageCost C{std::move(Name), "attention"};
  C.Output = E * SBH;
  // LN output e + Q,K 2e + V e + projection input e + dropout mask 1 =
  // (5e + 1)sbh, 11sbh at e = 2; softmax output e*as^2b + its dropout mask
  // as^2b + dropout output e*as^2b = (2e + 1)as^2b, 5as^2b at e = 2.
  C.Saved = (5 * E + 1) * SBH + (2 * E + 1) * AS2B + C.Output;
  C.FwdWorkspace = E * AS2B;     // raw scores, dropped after the softmax
  C.BwdWorkspace = 2 * E * AS2B; // gradients of the probabilities and scores
  double S = double(X.S), B = double(X.B), H = double(X.H);
  C.FwdFlops = 8 * B * S * H * H + 4 * B * S * S * H;
  C.BwdFlops = 2 * C.FwdFlops;
  return C;
}

/// Korthikanti MLP block of width f (4h in the paper): LayerNorm, linear,
/// GeLU, linear, dropout, residual add.
static StageCost korthikantiMlp(const Shape &X, std::string Name) {
  U128 SBH = X.S * X.B * X.H, SBF = X.S * X.B * X.F, E = X.E;
  StageCost C{std::move(Name), "mlp"};
  C.Output = E * SBH;
  // LN output e*sbh, GeLU input e*sbf, GeLU output e*sbf, dropout mask sbh
  // (3sbh + 4sbf at e = 2).
  C.Saved = (E + 1) * SBH + 2 * E * SBF + C.Output;
  C.BwdWorkspace = 2 * E * SBF; // gradients of the GeLU output and input
  C.FwdFlops = 4 * double(X.B) * double(X.S) * double(X.H) * double(X.F);
  C.BwdFlops = 2 * C.FwdFlops;
  return C;
}

/// LM head and loss: final norm, logits s*b*V, fp32 cross entropy. The
/// output is the fp32 scalar loss. \p NormSaved is what the norm saves
/// beyond its input.
static StageCost lmHead(const Shape &X, U128 Vocab, U128 NormSaved) {
  U128 SBV = X.S * X.B * Vocab;
  StageCost C{"head", "head"};
  C.Output = 4;
  C.Saved = NormSaved + 4 * SBV + C.Output; // fp32 logits for the softmax
  // 16-bit logits before the cast to fp32 (none in fp32); the fp32 logit
  // gradient and its 16-bit cast.
  C.FwdWorkspace = X.cast() * SBV;
  C.BwdWorkspace = (4 + X.cast()) * SBV;
  C.FwdFlops = 2 * double(X.B) * double(X.S) * double(X.H) * double(Vocab);
  C.BwdFlops = 2 * C.FwdFlops;
  return C;
}

static Error checkShape(StringRef Gen,
                        ArrayRef<std::pair<StringRef, unsigned>> Options) {
  for (auto [Name, Value] : Options)
    if (Error E = gen::checkRange(Gen, Name, Value))
      return E;
  return Error::success();
}

static Error divisible(StringRef Gen, StringRef What, unsigned N,
                       StringRef ByWhat, unsigned D) {
  if (N % D == 0)
    return Error::success();
  return badInput("gen {}: --{} {} is not divisible by --{} {}", Gen.str(),
                  What.str(), N, ByWhat.str(), D);
}

Expected<GeneratedModel> generateGpt(const GptOptions &O) {
  if (Error E = checkShape("gpt", {{"layers", O.Layers},
                                   {"hidden", O.Hidden},
                                   {"heads", O.Heads},
                                   {"seq", O.Seq},
                                   {"batch", O.Batch},
                                   {"vocab", O.Vocab}}))
    return E;
  if (Error E = divisible("gpt", "hidden", O.Hidden, "heads", O.Heads))
    return E;
  // An embedding stage, attention and MLP per layer, a head.
  if (Error E = gen::checkStages("gpt", "layers", O.Layers,
                                 2 * uint64_t(O.Layers) + 2))
    return E;
  if (Error E = gen::checkTflops("gpt", O.Tflops))
    return E;
  if (Error E = gen::checkActivationBytes("gpt", O.ActivationBytes))
    return E;
  Shape X{
      O.Seq, O.Batch, O.Hidden, O.Heads, U128(4) * O.Hidden, O.ActivationBytes};
  U128 SBH = X.S * X.B * X.H, H = X.H;
  gen::ChainCost C;
  C.Name = O.Name;
  C.Batch = O.Batch;
  C.Rule = gen::AdamMixed;
  C.Tflops = O.Tflops;
  C.Input = 8 * X.S * X.B; // int64 token ids
  // Token and position tables (the LM head is tied), 12h^2 + 13h per layer,
  // final LayerNorm.
  C.Parameters = U128(O.Vocab) * H + X.S * H +
                 U128(O.Layers) * (12 * H * H + 13 * H) + 2 * H;
  StageCost Embed{"embed", "embedding"};
  Embed.Output = X.E * SBH;
  Embed.Saved = SBH + Embed.Output; // dropout mask + output
  Embed.FwdFlops = double(SBH);     // the position add
  Embed.BwdFlops = 2 * Embed.FwdFlops;
  C.Stages.push_back(Embed);
  for (unsigned I = 0; I < O.Layers; ++I) {
    C.Stages.push_back(korthikantiAttention(X, fmt::format("h.{}.attn", I)));
    C.Stages.push_back(korthikantiMlp(X, fmt::format("h.{}.mlp", I)));
  }
  C.Stages.push_back(lmHead(X, O.Vocab, X.E * SBH));
  C.Description = fmt::format(
      "GPT-style transformer: {} layers, hidden {}, {} heads, seq {}, "
      "micro-batch {}, vocab {}; activations per Korthikanti et al. 2022 "
      "({}, {} per layer, fp32 logits); times at {} effective "
      "TFLOP/s; static bytes for Adam mixed precision (2+2+12 B x {} "
      "params). Generated by 'remat gen gpt'; see docs/models.md.",
      O.Layers, O.Hidden, O.Heads, O.Seq, O.Batch, O.Vocab,
      gen::activationPhrase(X.E), X.E == 2 ? "sbh(34+5as/h)" : "sbh(66+9as/h)",
      gen::shortNumber(O.Tflops), uint64_t(C.Parameters));
  return gen::finishChain(C);
}

/// Bytes an eager RMSNorm (transformers' LlamaRMSNorm) saves beyond a fused
/// one: the fp32 upcast of its input (4sbh; at e = 4 the upcast is the
/// input itself, already counted) and the normalised tensor before the
/// weight multiply (e*sbh).
static U128 eagerNormExtra(const Shape &X) {
  U128 SBH = X.S * X.B * X.H;
  return (X.E == 4 ? 0 : 4 * SBH) + X.E * SBH;
}

/// Llama attention block with flash attention: RMSNorm (saves fp32 rstd),
/// Q/K/V projections with RoPE, flash attention (saves Q, K, V, O and the
/// fp32 logsumexp), output projection, residual add. \p HK is the K/V width.
static StageCost flashAttention(const Shape &X, U128 HK, std::string Name) {
  U128 SB = X.S * X.B, SBH = SB * X.H, E = X.E;
  StageCost C{std::move(Name), "attention"};
  C.Output = E * SBH;
  // rstd 4sb, norm output e*sbh, Q e*sbh, K and V 2e*sb*hk, O e*sbh, lse
  // 4asb (6sbh + 4sb*hk at e = 2).
  C.Saved = 4 * SB + 3 * E * SBH + 2 * E * SB * HK + 4 * X.A * SB + C.Output;
  C.BwdWorkspace = 2 * E * SBH + 2 * E * SB * HK; // dO, dQ, dK, dV
  double S = double(X.S), B = double(X.B), H = double(X.H);
  double Proj = 4 * B * S * H * H + 4 * B * S * H * double(HK);
  double Core = 4 * B * S * S * H;
  C.FwdFlops = Proj + Core;
  // Flash attention's backward recomputes QK^T: 5 matmuls against 2.
  C.BwdFlops = 2 * Proj + 2.5 * Core;
  return C;
}

/// Llama MLP block: RMSNorm, gate and up projections to f, SiLU(gate) * up,
/// down projection, residual add.
static StageCost swigluMlp(const Shape &X, std::string Name) {
  U128 SB = X.S * X.B, SBH = SB * X.H, SBF = SB * X.F, E = X.E;
  StageCost C{std::move(Name), "mlp"};
  C.Output = E * SBH;
  // rstd 4sb, norm output e*sbh; gate G, up U, SiLU(G), product: e*sbf each.
  C.Saved = 4 * SB + E * SBH + 4 * E * SBF + C.Output;
  C.BwdWorkspace = 4 * E * SBF; // gradients of the four f-wide tensors
  C.FwdFlops = 6 * double(X.B) * double(X.S) * double(X.H) * double(X.F);
  C.BwdFlops = 2 * C.FwdFlops;
  return C;
}

Expected<GeneratedModel> generateLlama(const LlamaOptions &O) {
  if (Error E = checkShape("llama", {{"layers", O.Layers},
                                     {"hidden", O.Hidden},
                                     {"heads", O.Heads},
                                     {"kv-heads", O.KvHeads},
                                     {"ffn", O.Ffn},
                                     {"seq", O.Seq},
                                     {"batch", O.Batch},
                                     {"vocab", O.Vocab}}))
    return E;
  if (Error E = divisible("llama", "hidden", O.Hidden, "heads", O.Heads))
    return E;
  // An embedding stage, attention and MLP per layer, a head.
  if (Error E = gen::checkStages("llama", "layers", O.Layers,
                                 2 * uint64_t(O.Layers) + 2))
    return E;
  if (Error E = divisible("llama", "heads", O.Heads, "kv-heads", O.KvHeads))
    return E;
  if (Error E = gen::checkTflops("llama", O.Tflops))
    return E;
  if (Error E = gen::checkActivationBytes("llama", O.ActivationBytes))
    return E;
  if (O.RmsNorm != "fused" && O.RmsNorm != "eager")
    return badInput("gen llama: --rmsnorm: unknown value '{}'; expected "
                    "fused or eager",
                    O.RmsNorm);
  Shape X{O.Seq, O.Batch, O.Hidden, O.Heads, O.Ffn, O.ActivationBytes};
  U128 Norm = O.RmsNorm == "eager" ? eagerNormExtra(X) : 0;
  U128 H = X.H, HK = U128(O.Hidden / O.Heads) * O.KvHeads;
  U128 SB = X.S * X.B;
  gen::ChainCost C;
  C.Name = O.Name;
  C.Batch = O.Batch;
  C.Rule = gen::AdamMixed;
  C.Tflops = O.Tflops;
  C.Input = 8 * SB;
  // Untied embedding and LM head; per layer Q and O h^2 each, K and V h*hk
  // each, three h*f MLP matrices, two RMSNorm weights; final RMSNorm.
  C.Parameters =
      2 * U128(O.Vocab) * H +
      U128(O.Layers) * (2 * H * H + 2 * H * HK + 3 * H * X.F + 2 * H) + H;
  StageCost Embed{"embed", "embedding"};
  Embed.Output = X.E * SB * H;
  Embed.Saved = Embed.Output; // a lookup: the backward needs only the ids
  C.Stages.push_back(Embed);
  for (unsigned I = 0; I < O.Layers; ++I) {
    C.Stages.push_back(flashAttention(X, HK, fmt::format("layers.{}.attn", I)));
    C.Stages.back().Saved += Norm;
    C.Stages.push_back(swigluMlp(X, fmt::format("layers.{}.mlp", I)));
    C.Stages.back().Saved += Norm;
  }
  C.Stages.push_back(lmHead(X, O.Vocab, 4 * SB + X.E * SB * H + Norm));
  C.Description = fmt::format(
      "Llama-style transformer: {} layers, hidden {}, {} heads, {} kv heads, "
      "ffn {}, seq {}, micro-batch {}, vocab {}; {}RMSNorm, SwiGLU, flash "
      "attention, {} activations, fp32 logits; times at {} effective "
      "TFLOP/s; static bytes for Adam mixed precision (2+2+12 B x {} "
      "params). Generated by 'remat gen llama'; see docs/models.md.",
      O.Layers, O.Hidden, O.Heads, O.KvHeads, O.Ffn, O.Seq, O.Batch, O.Vocab,
      Norm ? "eager (transformers) " : "", gen::activationPhrase(X.E),
      gen::shortNumber(O.Tflops), uint64_t(C.Parameters));
  return gen::finishChain(C);
}

/// ViT patch embedding: the 16-bit cast of the fp32 image (the conv's saved
/// input; in fp32 the conv saves the stage input itself, which the chain
/// keeps anyway), a stride-p convolution, class token and positions, dropout.
static StageCost patchEmbed(const VitOptions &O, const Shape &X) {
  U128 Pixels = U128(3) * O.Image * O.Image * X.B;
  U128 Patches = X.S - 1, STH = X.S * X.B * X.H;
  StageCost C{"patch_embed", "embedding"};
  C.Output = X.E * STH;
  // Cast image, dropout mask, output.
  C.Saved = X.cast() * Pixels + STH + C.Output;
  C.FwdWorkspace = X.E * Patches * X.B * X.H; // conv output before the concat
  C.FwdFlops =
      2 * double(X.B) * double(Patches) * 3.0 * O.Patch * O.Patch * double(X.H);
  C.BwdFlops = 2 * C.FwdFlops;
  return C;
}

/// ViT head: final LayerNorm, the class token's features, linear classifier,
/// fp32 cross entropy.
static StageCost vitHead(const VitOptions &O, const Shape &X) {
  U128 BH = X.B * X.H, BC = X.B * O.Classes, STH = X.S * X.B * X.H;
  StageCost C{"head", "head"};
  C.Output = 4;
  // Class features, fp32 logits, loss.
  C.Saved = X.E * BH + 4 * BC + C.Output;
  C.FwdWorkspace = X.E * STH; // LayerNorm output of every token
  // Its gradient; the fp32 logit gradient and its 16-bit cast.
  C.BwdWorkspace = X.E * STH + (4 + X.cast()) * BC;
  C.FwdFlops = 2 * double(X.B) * double(X.H) * O.Classes;
  C.BwdFlops = 2 * C.FwdFlops;
  return C;
}

Expected<GeneratedModel> generateVit(const VitOptions &O) {
  if (Error E = checkShape("vit", {{"layers", O.Layers},
                                   {"hidden", O.Hidden},
                                   {"heads", O.Heads},
                                   {"mlp", O.Mlp},
                                   {"image", O.Image},
                                   {"patch", O.Patch},
                                   {"batch", O.Batch},
                                   {"classes", O.Classes}}))
    return E;
  if (Error E = divisible("vit", "hidden", O.Hidden, "heads", O.Heads))
    return E;
  // An embedding stage, attention and MLP per layer, a head.
  if (Error E = gen::checkStages("vit", "layers", O.Layers,
                                 2 * uint64_t(O.Layers) + 2))
    return E;
  if (Error E = divisible("vit", "image", O.Image, "patch", O.Patch))
    return E;
  if (Error E = gen::checkTflops("vit", O.Tflops))
    return E;
  if (Error E = gen::checkActivationBytes("vit", O.ActivationBytes))
    return E;
  U128 Side = O.Image / O.Patch, Tokens = Side * Side + 1;
  Shape X{Tokens, O.Batch, O.Hidden, O.Heads, O.Mlp, O.ActivationBytes};
  U128 H = X.H, F = X.F;
  gen::ChainCost C;
  C.Name = O.Name;
  C.Batch = O.Batch;
  C.Rule = gen::AdamMixed;
  C.Tflops = O.Tflops;
  C.Input = 4 * U128(3) * O.Image * O.Image * X.B; // fp32 images
  // Patch conv, class token, positions; per layer attention 4h^2 + 4h, MLP
  // 2hf + f + h, two LayerNorms 4h; final LayerNorm; classifier.
  C.Parameters =
      U128(3) * O.Patch * O.Patch * H + H + H + Tokens * H +
      U128(O.Layers) * (4 * H * H + 4 * H + 2 * H * F + F + H + 4 * H) + 2 * H +
      H * O.Classes + O.Classes;
  C.Stages.push_back(patchEmbed(O, X));
  for (unsigned I = 0; I < O.Layers; ++I) {
    C.Stages.push_back(
        korthikantiAttention(X, fmt::format("blocks.{}.attn", I)));
    C.Stages.push_back(korthikantiMlp(X, fmt::format("blocks.{}.mlp", I)));
  }
  C.Stages.push_back(vitHead(O, X));
  C.Description = fmt::format(
      "Vision Transformer: {} layers, hidden {}, {} heads, mlp {}, {}x{} "
      "images in {}x{} patches ({} tokens with the class token), batch {}, "
      "{} classes; activations per Korthikanti et al. 2022 ({}); times "
      "at {} effective TFLOP/s; static bytes for Adam mixed precision "
      "(2+2+12 B x {} params). Generated by 'remat gen vit'; see "
      "docs/models.md.",
      O.Layers, O.Hidden, O.Heads, O.Mlp, O.Image, O.Image, O.Patch, O.Patch,
      uint64_t(Tokens), O.Batch, O.Classes, gen::activationPhrase(X.E),
      gen::shortNumber(O.Tflops), uint64_t(C.Parameters));
  return gen::finishChain(C);
}

} // namespace remat

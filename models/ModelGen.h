//===- models/ModelGen.h - Analytic model generators ------------*- C++ -*-===//
//
// Generates model files (spec §2) for well-known networks from their shapes
// alone: a GPT-style transformer (Korthikanti et al. 2022), a Llama-style
// transformer (RMSNorm, SwiGLU, GQA, flash attention), ViT, a pre-activation
// bottleneck ResNet (He et al. 2016) and the Stable Diffusion 2.1 U-Net as a
// forward-only graph. Every constant and formula is derived in docs/models.md.
// Sizes are exact integer bytes; times are FLOPs divided by a stated device
// throughput.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_MODELS_MODELGEN_H
#define REMAT_MODELS_MODELGEN_H

#include "graph/Graph.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace remat {

/// The largest value any integer generator option may take (2^24). Keeps
/// every intermediate product exact in 128-bit arithmetic.
constexpr unsigned MaxGenParameter = 1u << 24;

/// A GPT-style transformer: learned positions, LayerNorm, GeLU MLP of width
/// 4h, dropout, explicit (non-flash) attention, LM head tied to the token
/// embedding.
struct GptOptions {
  /// Number of transformer layers.
  unsigned Layers = 12;
  /// Hidden size h, in elements.
  unsigned Hidden = 768;
  /// Attention heads a; must divide Hidden.
  unsigned Heads = 12;
  /// Sequence length s, in tokens.
  unsigned Seq = 1024;
  /// Micro-batch b, in sequences.
  unsigned Batch = 8;
  /// Vocabulary size V, in tokens.
  unsigned Vocab = 50257;
  /// Bytes per activation element: 2 (16-bit: bf16/fp16 autocast, the
  /// default) or 4 (fp32). Dropout masks stay 1 byte and logits fp32.
  unsigned ActivationBytes = 2;
  /// Effective device throughput, in TFLOP/s (10^12 FLOP per second).
  double Tflops = 300;
  /// The model's "name" field.
  std::string Name = "gpt";
};

/// A Llama-style transformer: RMSNorm, SwiGLU MLP, grouped-query attention
/// with flash attention, rotary positions, no dropout, untied LM head.
struct LlamaOptions {
  /// Number of transformer layers.
  unsigned Layers = 32;
  /// Hidden size h, in elements.
  unsigned Hidden = 4096;
  /// Query heads a; must divide Hidden.
  unsigned Heads = 32;
  /// Key/value heads; must divide Heads.
  unsigned KvHeads = 32;
  /// SwiGLU intermediate size, in elements.
  unsigned Ffn = 11008;
  /// Sequence length s, in tokens.
  unsigned Seq = 4096;
  /// Micro-batch b, in sequences.
  unsigned Batch = 1;
  /// Vocabulary size V, in tokens.
  unsigned Vocab = 32000;
  /// Bytes per activation element: 2 (16-bit: bf16/fp16 autocast, the
  /// default) or 4 (fp32). Dropout masks stay 1 byte and logits fp32.
  unsigned ActivationBytes = 2;
  /// RMSNorm kernel: "fused" (saves 1/rms and its output; the default) or
  /// "eager" (transformers' LlamaRMSNorm in eager PyTorch, which also saves
  /// the fp32 upcast of its input and the normalised tensor before the
  /// weight multiply).
  std::string RmsNorm = "fused";
  /// Effective device throughput, in TFLOP/s.
  double Tflops = 300;
  /// The model's "name" field.
  std::string Name = "llama";
};

/// A Vision Transformer (Dosovitskiy et al. 2021): patch embedding, class
/// token, pre-LN encoder layers as in GptOptions without a causal mask, and a
/// linear classifier on the class token. Defaults are ViT-L/16.
struct VitOptions {
  /// Number of encoder layers.
  unsigned Layers = 24;
  /// Hidden size h, in elements.
  unsigned Hidden = 1024;
  /// Attention heads; must divide Hidden.
  unsigned Heads = 16;
  /// MLP width, in elements.
  unsigned Mlp = 4096;
  /// Image side, in pixels; must be a multiple of Patch.
  unsigned Image = 224;
  /// Patch side, in pixels.
  unsigned Patch = 16;
  /// Batch, in images.
  unsigned Batch = 32;
  /// Number of classes of the classifier.
  unsigned Classes = 1000;
  /// Bytes per activation element: 2 (16-bit: bf16/fp16 autocast, the
  /// default) or 4 (fp32). Dropout masks stay 1 byte and logits fp32.
  unsigned ActivationBytes = 2;
  /// Effective device throughput, in TFLOP/s.
  double Tflops = 300;
  /// The model's "name" field.
  std::string Name = "vit";
};

/// A pre-activation bottleneck ResNet (He et al. 2016, "Identity Mappings in
/// Deep Residual Networks"): ImageNet stem, then three stages of n bottleneck
/// blocks with depth = 9n + 2, widths 64/128/256 (outputs 4x), at 1/4, 1/8
/// and 1/16 of the image side.
struct ResNetOptions {
  /// Depth; must be 9n + 2 with n >= 1 (1001 gives n = 111).
  unsigned Depth = 1001;
  /// Batch, in images.
  unsigned Batch = 32;
  /// Image side, in pixels; must be a multiple of 16.
  unsigned Image = 224;
  /// Number of classes of the classifier.
  unsigned Classes = 1000;
  /// Effective device throughput, in TFLOP/s.
  double Tflops = 300;
  /// The model's "name" field.
  std::string Name = "resnet";
};

/// A Stable Diffusion U-Net at block granularity, as a forward-only graph
/// with a loss node: SD 2.1 (channels 320/640/1280/1280, cross attention on
/// a 77 x 1024 text context) or SDXL base (320/640/1280, 0/2/10 transformer
/// blocks per level, 77 x 2048 context); flash attention.
struct UNetOptions {
  /// "sd21" or "sdxl".
  std::string Preset = "sd21";
  /// Batch, in latents.
  unsigned Batch = 4;
  /// Latent side, in elements; 0 takes the preset's (64 for sd21, 128 for
  /// sdxl). Must be a multiple of the U-Net's downsampling (8 for sd21, 4
  /// for sdxl).
  unsigned Latent = 0;
  /// Effective device throughput, in TFLOP/s.
  double Tflops = 300;
  /// The model's "name" field.
  std::string Name = "unet";
};

/// A generated model, ready to render as a model file.
struct GeneratedModel {
  std::string Name;
  std::string Description;
  /// The batch the costs describe (the "batch_size" field).
  uint64_t BatchSize = 0;
  /// Parameter count, from which Static is derived.
  uint64_t Parameters = 0;
  StaticBytes Static;
  /// Set for chain models (every generator but the U-Net).
  std::optional<Chain> AsChain;
  /// The forward-only graph (forward nodes and one loss node) when AsChain
  /// is empty.
  Graph Forward;
  /// Forward FLOPs of each stage (chain) or node (graph), in file order.
  std::vector<double> FwdFlops;
};

/// A chain of an embedding stage, an attention and an MLP stage per layer
/// (sbh(34 + 5as/h) bytes together, Korthikanti et al. 2022) and an LM head
/// + loss stage. Fails when an option is out of range, Hidden is not a
/// multiple of Heads, or a size exceeds the format's 2^62-byte limit.
llvm::Expected<GeneratedModel> generateGpt(const GptOptions &O);
/// As generateGpt with flash attention (no s^2 term), RMSNorm and SwiGLU;
/// also fails when Heads is not a multiple of KvHeads.
llvm::Expected<GeneratedModel> generateLlama(const LlamaOptions &O);
/// Patch embedding, the GPT attention/MLP stages over (Image/Patch)^2 + 1
/// tokens, and a classifier head; fails when Image % Patch != 0.
llvm::Expected<GeneratedModel> generateVit(const VitOptions &O);
/// Stem, 3n bottleneck stages and a head; fails unless Depth = 9n + 2 and
/// Image is a multiple of 16.
llvm::Expected<GeneratedModel> generateResNet(const ResNetOptions &O);
/// The 48-node forward graph with a loss node; fails unless Latent is a
/// multiple of 8.
llvm::Expected<GeneratedModel> generateUNet(const UNetOptions &O);

/// Renders \p M as a model file: 2-space indented JSON in the key order of
/// spec §2, sizes as integer bytes, times in ms, ending in a newline.
std::string renderModel(const GeneratedModel &M);

/// One model file shipped in data/models/.
struct BundledModel {
  /// File name inside data/models/, e.g. "gpt2-small.json".
  std::string FileName;
  GeneratedModel Model;
};

/// Every bundled model, generated with the options docs/models.md lists.
llvm::Expected<std::vector<BundledModel>> bundledModels();

namespace gen {

/// Time in ms of \p Flops at \p Tflops, rounded to 1e-6 ms so that files
/// stay short and reproducible.
double flopsToMs(double Flops, double Tflops);

/// Checks that a generator option is in [1, MaxGenParameter]; the message
/// names the generator and the option.
llvm::Error checkRange(llvm::StringRef Gen, llvm::StringRef Option,
                       unsigned Value);

/// Checks that option \p Option = \p Value gives at most MaxChainStages
/// stages (\p Stages), the most the loader reads back; the message names
/// the generator, the option and the stage count.
llvm::Error checkStages(llvm::StringRef Gen, llvm::StringRef Option,
                        unsigned Value, uint64_t Stages);

/// Narrows an exact 128-bit byte count to the 62-bit limit of the model
/// format, or fails naming \p What.
llvm::Expected<uint64_t> narrowBytes(unsigned __int128 Value,
                                     llvm::StringRef What);

} // namespace gen

} // namespace remat

#endif // REMAT_MODELS_MODELGEN_H

//===- models/ModelGenUNet.cpp - Stable Diffusion U-Net graphs ------------===//
//
// The SD 2.1 and SDXL denoising U-Nets (Rombach et al. 2022, Podell et al.
// 2023; diffusers' UNet2DConditionModel configurations) at block
// granularity: one node per ResNet block, transformer (a stack of one or
// more transformer blocks), down/up-sampler and conv in/out, plus the time
// embedding and an MSE loss node. Up-path ResNet blocks read the long
// skip connections of the down path. The graph is forward-only; the loader
// derives the backward (graph/Lowering.h). A node's bytes are everything
// the block's backward needs, its output included (docs/models.md).
//
//===----------------------------------------------------------------------===//

#include "graph/Errors.h"
#include "models/ModelGen.h"
#include "models/ModelGenInternal.h"

#include <fmt/format.h>

using namespace llvm;

namespace remat {

using gen::U128;

namespace {

/// Constants both presets share: time-embedding width, text context
/// length, GroupNorm groups, attention head width.
constexpr unsigned TimeDim = 1280, ContextLen = 77;
constexpr unsigned Groups = 32, HeadDim = 64;

/// What differs between the presets (diffusers' config names in comments).
struct Arch {
  /// block_out_channels, one per resolution level.
  SmallVector<unsigned, 4> Widths;
  /// transformer_layers_per_block per down level; 0: no attention there
  /// (a DownBlock2D / UpBlock2D).
  SmallVector<unsigned, 4> Depth;
  /// Transformer blocks in the mid block.
  unsigned MidDepth = 1;
  /// cross_attention_dim.
  unsigned ContextDim = 1024;
  /// Width of SDXL's added conditioning (pooled text 1280 + six 256-wide
  /// time-id embeddings); 0 for SD 2.1, which has none.
  unsigned AddEmbedIn = 0;
  unsigned levels() const { return unsigned(Widths.size()); }
};

const Arch SD21 = {{320, 640, 1280, 1280}, {1, 1, 1, 0}, 1, 1024, 0};
const Arch SDXL = {{320, 640, 1280}, {0, 2, 10}, 10, 2048, 1280 + 6 * 256};

struct RawNode {
  std::string Name, Kind;
  double Flops = 0;
  U128 Bytes = 0, Workspace = 0;
  SmallVector<unsigned, 4> Inputs = {};
  Phase NodePhase = Phase::Forward;
};

/// Accumulates nodes and parameters in file order.
class Builder {
public:
  Builder(const Arch &A, unsigned Batch) : A(A), B(Batch) {}

  unsigned timeEmbed();
  unsigned convIn(U128 Side);
  unsigned resnet(std::string Name, unsigned In, std::optional<unsigned> Skip,
                  U128 CIn, U128 COut, U128 Side);
  unsigned attention(std::string Name, unsigned In, U128 C, U128 Side,
                     unsigned Depth);
  unsigned resample(std::string Name, unsigned In, U128 C, U128 SideOut,
                    bool Up);
  unsigned convOut(unsigned In, U128 Side);
  unsigned loss(unsigned In, U128 Side);
  /// Node V's C-wide output at Side x Side is read only by a concatenation
  /// or a nearest upsampling, which keep nothing of their input: it leaves
  /// the node's bytes (it lives only until its reader has run).
  void dropOutput(unsigned V, U128 C, U128 Side) {
    Nodes[V].Bytes -= 2 * B * C * Side * Side;
  }

  const Arch &A;
  std::vector<RawNode> Nodes;
  U128 Parameters = 0;
  unsigned TimeNode = 0;

private:
  unsigned add(RawNode N) {
    Nodes.push_back(std::move(N));
    return unsigned(Nodes.size() - 1);
  }
  /// fp32 mean and inverse std per group and image of one GroupNorm.
  U128 gnStats() const { return 8 * U128(Groups) * B; }
  U128 B;
};

} // namespace

unsigned Builder::timeEmbed() {
  // Sinusoidal features (linear1 input), linear1 output (SiLU input), SiLU
  // output (linear2 input), output.
  // SDXL's added conditioning has the same shape of MLP from its own input
  // width, and its output is summed into the time embedding.
  RawNode N{"time_embed", "embedding"};
  U128 T = TimeDim;
  for (U128 In : {U128(320), U128(A.AddEmbedIn)}) {
    if (!In)
      continue;
    N.Bytes += 2 * B * (In + 3 * T);
    N.Flops += 2 * double(B) * (double(In) * double(T) + double(T * T));
    Parameters += In * T + T + T * T + T;
  }
  return TimeNode = add(std::move(N));
}

unsigned Builder::convIn(U128 Side) {
  U128 Area = Side * Side, C = A.Widths[0];
  RawNode N{"conv_in", "conv"};
  N.Bytes = 2 * B * C * Area;
  N.Flops = 2 * double(B) * double(Area) * 9 * 4 * double(C);
  Parameters += 9 * 4 * C + C;
  return add(std::move(N));
}

unsigned Builder::resnet(std::string Name, unsigned In,
                         std::optional<unsigned> Skip, U128 CIn, U128 COut,
                         U128 Side) {
  U128 Area = Side * Side;
  RawNode N{std::move(Name), "resnet"};
  // GN1 output and SiLU1 output (cin each), conv1 + time output (GN2
  // input), GN2 output, SiLU2 output, output (cout each), SiLU(temb), GN
  // statistics; an up-path block also keeps the concatenation it norms.
  N.Bytes = 2 * B * (2 * CIn * Area + 4 * COut * Area + TimeDim) +
            2 * gnStats() + (Skip ? 2 * B * CIn * Area : 0);
  // conv2's output and the shortcut's output exist until the residual add.
  N.Workspace = 2 * B * COut * Area * (CIn != COut ? 2 : 1);
  double Bd = double(B), A = double(Area), I = double(CIn), O = double(COut);
  N.Flops = 2 * Bd * A * 9 * I * O + 2 * Bd * A * 9 * O * O +
            2 * Bd * TimeDim * O + (CIn != COut ? 2 * Bd * A * I * O : 0);
  N.Inputs.push_back(In);
  if (Skip)
    N.Inputs.push_back(*Skip);
  N.Inputs.push_back(TimeNode);
  Parameters += 2 * CIn + 9 * CIn * COut + COut + U128(TimeDim) * COut + COut +
                2 * COut + 9 * COut * COut + COut +
                (CIn != COut ? CIn * COut + COut : 0);
  return add(std::move(N));
}

unsigned Builder::attention(std::string Name, unsigned In, U128 C, U128 Side,
                            unsigned Depth) {
  U128 Tok = Side * Side, Heads = C / HeadDim, D = Depth, Cx = A.ContextDim;
  RawNode N{std::move(Name), "attention"};
  // GN output, proj_in output and the output (3 c-wide tensors per token),
  // then per transformer block 28 more (docs/models.md), cross-attention K
  // and V over the context, two fp32 logsumexps and three LayerNorm
  // statistics; GN statistics once.
  N.Bytes = 2 * B * ((3 + 28 * D) * C * Tok + D * 2 * C * ContextLen) +
            D * 2 * 4 * Heads * Tok * B + gnStats() + D * 3 * 8 * Tok * B;
  double Bd = double(B), T = double(Tok), Cd = double(C);
  N.Flops =
      Bd * (4 * T * Cd * Cd + double(D) * (36 * T * Cd * Cd + 4 * T * T * Cd +
                                           4.0 * ContextLen * T * Cd +
                                           4.0 * ContextLen * double(Cx) * Cd));
  N.Inputs.push_back(In);
  // GN, proj_in and proj_out once; per block self-attention,
  // cross-attention, GEGLU feed-forward and 3 LayerNorms.
  Parameters += 2 * C + 2 * (C * C + C) +
                D * ((4 * C * C + C) + (2 * C * C + 2 * Cx * C + C) +
                     (8 * C * C + 8 * C + 4 * C * C + C) + 6 * C);
  return add(std::move(N));
}

unsigned Builder::resample(std::string Name, unsigned In, U128 C, U128 SideOut,
                           bool Up) {
  U128 Area = SideOut * SideOut;
  RawNode N{std::move(Name), Up ? "upsample" : "downsample"};
  // Output; an upsampler also keeps the nearest-upsampled conv input.
  N.Bytes = 2 * B * C * Area * (Up ? 2 : 1);
  N.Flops = 2 * double(B) * double(Area) * 9 * double(C) * double(C);
  N.Inputs.push_back(In);
  Parameters += 9 * C * C + C;
  return add(std::move(N));
}

unsigned Builder::convOut(unsigned In, U128 Side) {
  U128 Area = Side * Side, C = A.Widths[0];
  RawNode N{"conv_out", "conv"};
  N.Bytes = 2 * B * (2 * C * Area + 4 * Area) + gnStats();
  N.Flops = 2 * double(B) * double(Area) * 9 * double(C) * 4;
  N.Inputs.push_back(In);
  Parameters += 2 * C + 9 * C * 4 + 4;
  return add(std::move(N));
}

unsigned Builder::loss(unsigned In, U128 Side) {
  RawNode N{"loss", "loss"};
  N.Bytes = 4; // fp32 scalar; MSE against the external noise target
  N.Flops = 3 * double(B) * 4 * double(Side * Side);
  N.Inputs.push_back(In);
  N.NodePhase = Phase::Loss;
  return add(std::move(N));
}

/// Down path: pushes every skip in order. Returns the last node.
static unsigned downPath(Builder &G, U128 Side, std::vector<unsigned> &Skips) {
  const Arch &A = G.A;
  unsigned H = G.convIn(Side);
  Skips.push_back(H);
  U128 C = A.Widths[0];
  for (unsigned D = 0; D < A.levels(); ++D) {
    U128 Out = A.Widths[D];
    for (unsigned J = 0; J < 2; ++J) {
      H = G.resnet(fmt::format("down{}.resnet{}", D, J), H, std::nullopt, C,
                   Out, Side);
      C = Out;
      if (A.Depth[D])
        H = G.attention(fmt::format("down{}.attn{}", D, J), H, C, Side,
                        A.Depth[D]);
      Skips.push_back(H);
    }
    if (D + 1 < A.levels()) {
      Side /= 2;
      H = G.resample(fmt::format("down{}.downsample", D), H, C, Side, false);
      Skips.push_back(H);
    }
  }
  return H;
}

/// Up path: three ResNet blocks per level, each concatenating one skip
/// (popped in reverse order); attention where the mirrored down level has
/// it, with the same depth. An output read only by the next block's
/// concatenation or the upsampler is not kept (dropOutput); a ResNet block
/// followed by attention, and the last node (conv_out's GroupNorm input),
/// keep theirs. The upsampler's output, read by a concatenation, neither.
static unsigned upPath(Builder &G, unsigned H, U128 Side,
                       std::vector<unsigned> &Skips) {
  const Arch &A = G.A;
  unsigned Last = A.levels() - 1;
  U128 C = A.Widths[Last];
  for (unsigned U = 0; U <= Last; ++U) {
    U128 Out = A.Widths[Last - U];
    bool Attn = A.Depth[Last - U] != 0;
    for (unsigned J = 0; J < 3; ++J) {
      unsigned Skip = Skips.back();
      Skips.pop_back();
      bool Final = U == Last && J == 2;
      // Skip widths: the level's output width, except the last block's,
      // which comes from the next level down the resolution ladder.
      U128 SkipC = J == 2 ? U128(A.Widths[U == Last ? 0 : Last - 1 - U]) : Out;
      H = G.resnet(fmt::format("up{}.resnet{}", U, J), H, Skip, C + SkipC, Out,
                   Side);
      C = Out;
      if (!Attn && !Final)
        G.dropOutput(H, Out, Side);
      if (Attn) {
        H = G.attention(fmt::format("up{}.attn{}", U, J), H, C, Side,
                        A.Depth[Last - U]);
        if (!Final)
          G.dropOutput(H, C, Side);
      }
    }
    if (U < Last) {
      Side *= 2;
      H = G.resample(fmt::format("up{}.upsample", U), H, C, Side, true);
      G.dropOutput(H, C, Side);
    }
  }
  return H;
}

static Expected<GeneratedModel> finishGraph(const Builder &G,
                                            const UNetOptions &O) {
  GeneratedModel M;
  M.Name = O.Name;
  M.BatchSize = O.Batch;
  auto Params = gen::narrowBytes(G.Parameters, O.Name + ": parameter count");
  if (!Params)
    return Params.takeError();
  M.Parameters = *Params;
  auto Static = gen::staticBytes(G.Parameters, gen::AdamMixed, O.Name);
  if (!Static)
    return Static.takeError();
  M.Static = *Static;
  for (const RawNode &R : G.Nodes) {
    Node N;
    N.Name = R.Name;
    N.Kind = R.Kind;
    N.Time = gen::flopsToMs(R.Flops, O.Tflops);
    std::string Where = O.Name + ": node " + R.Name;
    auto Bytes = gen::narrowBytes(R.Bytes, Where);
    if (!Bytes)
      return Bytes.takeError();
    auto Ws = gen::narrowBytes(R.Workspace, Where);
    if (!Ws)
      return Ws.takeError();
    N.Bytes = *Bytes;
    N.Workspace = *Ws;
    N.NodePhase = R.NodePhase;
    N.Inputs = R.Inputs;
    M.Forward.Nodes.push_back(std::move(N));
    M.FwdFlops.push_back(R.Flops);
  }
  M.Forward.finalize();
  return M;
}

static std::string describe(const UNetOptions &O, const GeneratedModel &M,
                            unsigned Latent) {
  std::string Net =
      O.Preset == "sdxl"
          ? "SDXL base U-Net (channels 320/640/1280, 0/2/10 transformer "
            "blocks per level and 10 in the mid block, cross attention on a "
            "77x2048 text context, added text and size conditioning"
          : "Stable Diffusion 2.1 U-Net (channels 320/640/1280/1280, cross "
            "attention on a 77x1024 text context";
  return fmt::format(
      "{}, flash attention) at {}x{} latents, batch {}; block-granularity "
      "forward graph with a loss node, backward derived by the loader; "
      "16-bit activations; times at {} effective TFLOP/s; static bytes for "
      "Adam mixed precision (2+2+12 B x {} params). Generated by 'remat gen "
      "unet'; see docs/models.md.",
      Net, Latent, Latent, O.Batch, gen::shortNumber(O.Tflops), M.Parameters);
}

Expected<GeneratedModel> generateUNet(const UNetOptions &O) {
  if (O.Preset != "sd21" && O.Preset != "sdxl")
    return badInput("gen unet: unknown --preset '{}' (choose from "
                    "sd21, sdxl)",
                    O.Preset);
  const Arch &A = O.Preset == "sdxl" ? SDXL : SD21;
  unsigned Latent = O.Latent ? O.Latent : (O.Preset == "sdxl" ? 128 : 64);
  unsigned Down = 1u << (A.levels() - 1);
  if (Error E = gen::checkRange("unet", "batch", O.Batch))
    return E;
  if (Error E = gen::checkRange("unet", "latent", Latent))
    return E;
  if (Latent % Down != 0)
    return badInput("gen unet: --latent {} is not a multiple of {} "
                    "(the {} U-Net downsamples {}x)",
                    Latent, Down, O.Preset, Down);
  if (Error E = gen::checkTflops("unet", O.Tflops))
    return E;
  Builder G(A, O.Batch);
  G.timeEmbed();
  std::vector<unsigned> Skips;
  unsigned H = downPath(G, Latent, Skips);
  U128 Low = Latent / Down, C = A.Widths.back();
  H = G.resnet("mid.resnet0", H, std::nullopt, C, C, Low);
  H = G.attention("mid.attn", H, C, Low, A.MidDepth);
  H = G.resnet("mid.resnet1", H, std::nullopt, C, C, Low);
  G.dropOutput(H, C, Low); // read by up0.resnet0's concatenation only
  H = upPath(G, H, Low, Skips);
  H = G.convOut(H, Latent);
  G.loss(H, Latent);
  auto M = finishGraph(G, O);
  if (!M)
    return M.takeError();
  M->Description = describe(O, *M, Latent);
  return M;
}

} // namespace remat

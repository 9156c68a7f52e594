//===- graph/ModelGenUNet.cpp - Stable Diffusion 2.1 U-Net graph ----------===//
//
// The SD 2.1 denoising U-Net (Rombach et al. 2022; the diffusers
// UNet2DConditionModel configuration) at block granularity: one node per
// ResNet block, transformer block, down/up-sampler and conv in/out, plus the
// time embedding and an MSE loss node. Up-path ResNet blocks read the long
// skip connections of the down path. The graph is forward-only; the loader
// derives the backward (graph/Lowering.h). A node's bytes are everything
// the block's backward needs, its output included (docs/models.md).
//
//===----------------------------------------------------------------------===//

#include "graph/ModelGen.h"
#include "graph/ModelGenInternal.h"

#include <fmt/format.h>

#include <array>

using namespace llvm;

namespace remat {

using gen::U128;

namespace {

/// SD 2.1 constants: time-embedding width, text context length and width,
/// GroupNorm groups, attention head width.
constexpr unsigned TimeDim = 1280, ContextLen = 77, ContextDim = 1024;
constexpr unsigned Groups = 32, HeadDim = 64;
constexpr std::array<unsigned, 4> Widths = {320, 640, 1280, 1280};

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
  explicit Builder(unsigned Batch) : B(Batch) {}

  unsigned timeEmbed();
  unsigned convIn(U128 Side);
  unsigned resnet(std::string Name, unsigned In, std::optional<unsigned> Skip,
                  U128 CIn, U128 COut, U128 Side);
  unsigned attention(std::string Name, unsigned In, U128 C, U128 Side);
  unsigned resample(std::string Name, unsigned In, U128 C, U128 SideOut,
                    bool Up);
  unsigned convOut(unsigned In, U128 Side);
  unsigned loss(unsigned In, U128 Side);

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
  RawNode N{"time_embed", "embedding"};
  N.Bytes = 2 * B * (320 + 3 * U128(TimeDim));
  N.Flops = 2 * double(B) * (320.0 * TimeDim + double(TimeDim) * TimeDim);
  Parameters += 320 * TimeDim + TimeDim + U128(TimeDim) * TimeDim + TimeDim;
  return TimeNode = add(std::move(N));
}

unsigned Builder::convIn(U128 Side) {
  U128 Area = Side * Side, C = Widths[0];
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

unsigned Builder::attention(std::string Name, unsigned In, U128 C, U128 Side) {
  U128 Tok = Side * Side, Heads = C / HeadDim;
  RawNode N{std::move(Name), "attention"};
  // 31 c-wide tensors per token (docs/models.md), cross-attention K and V
  // over the context, two fp32 logsumexps, GN and 3 LayerNorm statistics.
  N.Bytes = 2 * B * (31 * C * Tok + 2 * C * ContextLen) +
            2 * 4 * Heads * Tok * B + gnStats() + 3 * 8 * Tok * B;
  double Bd = double(B), T = double(Tok), Cd = double(C);
  N.Flops =
      Bd * (40 * T * Cd * Cd + 4 * T * T * Cd + 4.0 * ContextLen * T * Cd +
            4.0 * ContextLen * ContextDim * Cd);
  N.Inputs.push_back(In);
  // GN, proj_in, self-attention, cross-attention, GEGLU, 3 LN, proj_out.
  Parameters += 2 * C + (C * C + C) + (4 * C * C + C) +
                (2 * C * C + 2 * U128(ContextDim) * C + C) +
                (8 * C * C + 8 * C + 4 * C * C + C) + 6 * C + (C * C + C);
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
  U128 Area = Side * Side, C = Widths[0];
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
  unsigned H = G.convIn(Side);
  Skips.push_back(H);
  U128 C = Widths[0];
  for (unsigned D = 0; D < 4; ++D) {
    U128 Out = Widths[D];
    for (unsigned J = 0; J < 2; ++J) {
      H = G.resnet(fmt::format("down{}.resnet{}", D, J), H, std::nullopt, C,
                   Out, Side);
      C = Out;
      if (D < 3)
        H = G.attention(fmt::format("down{}.attn{}", D, J), H, C, Side);
      Skips.push_back(H);
    }
    if (D < 3) {
      Side /= 2;
      H = G.resample(fmt::format("down{}.downsample", D), H, C, Side, false);
      Skips.push_back(H);
    }
  }
  return H;
}

/// Up path: three ResNet blocks per level, each concatenating one skip
/// (popped in reverse order); attention at all but the lowest level.
static unsigned upPath(Builder &G, unsigned H, U128 Side,
                       std::vector<unsigned> &Skips) {
  U128 C = Widths[3];
  for (unsigned U = 0; U < 4; ++U) {
    U128 Out = Widths[3 - U];
    for (unsigned J = 0; J < 3; ++J) {
      unsigned Skip = Skips.back();
      Skips.pop_back();
      // Skip widths: the level's output width, except the last block's,
      // which comes from the next level down the resolution ladder.
      U128 SkipC = J == 2 ? U128(Widths[U == 3 ? 0 : 2 - U]) : Out;
      H = G.resnet(fmt::format("up{}.resnet{}", U, J), H, Skip, C + SkipC, Out,
                   Side);
      C = Out;
      if (U > 0)
        H = G.attention(fmt::format("up{}.attn{}", U, J), H, C, Side);
    }
    if (U < 3) {
      Side *= 2;
      H = G.resample(fmt::format("up{}.upsample", U), H, C, Side, true);
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

Expected<GeneratedModel> generateUNet(const UNetOptions &O) {
  if (Error E = gen::checkRange("unet", "batch", O.Batch))
    return E;
  if (Error E = gen::checkRange("unet", "latent", O.Latent))
    return E;
  if (O.Latent % 8 != 0)
    return createStringError(inconvertibleErrorCode(),
                             "gen unet: --latent %u is not a multiple of 8 "
                             "(the U-Net downsamples 8x)",
                             O.Latent);
  if (Error E = gen::checkTflops("unet", O.Tflops))
    return E;
  Builder G(O.Batch);
  G.timeEmbed();
  std::vector<unsigned> Skips;
  unsigned H = downPath(G, O.Latent, Skips);
  U128 Low = O.Latent / 8, C = Widths[3];
  H = G.resnet("mid.resnet0", H, std::nullopt, C, C, Low);
  H = G.attention("mid.attn", H, C, Low);
  H = G.resnet("mid.resnet1", H, std::nullopt, C, C, Low);
  H = upPath(G, H, Low, Skips);
  H = G.convOut(H, O.Latent);
  G.loss(H, O.Latent);
  auto M = finishGraph(G, O);
  if (!M)
    return M.takeError();
  M->Description = fmt::format(
      "Stable Diffusion 2.1 U-Net (channels 320/640/1280/1280, cross "
      "attention on a 77x1024 text context, flash attention) at {}x{} "
      "latents, batch {}; block-granularity forward graph with a loss node, "
      "backward derived by the loader; 16-bit activations; times at {} "
      "effective TFLOP/s; static bytes for Adam mixed precision (2+2+12 B x "
      "{} params). Generated by 'remat gen unet'; see docs/models.md.",
      O.Latent, O.Latent, O.Batch, gen::shortNumber(O.Tflops), M->Parameters);
  return M;
}

} // namespace remat

//===- models/ModelGenConv.cpp - Pre-activation bottleneck ResNet ---------===//
//
// He et al. 2016, "Identity Mappings in Deep Residual Networks": each block
// is BN-ReLU-conv1x1, BN-ReLU-conv3x3 (carrying the stride), BN-ReLU-
// conv1x1 (4x expansion), plus the identity or a 1x1 projection of the
// pre-activated input. Depth = 9n + 2: three stages of n blocks of three
// convolutions, the stem convolution and the classifier. Activations are
// 16-bit (torch.cuda.amp), BatchNorm keeps fp32 per-channel statistics,
// max-pool indices are int64. docs/models.md lists every saved tensor.
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
/// One bottleneck block's shape.
struct Block {
  U128 B = 0;    // images
  U128 In = 0;   // input channels
  U128 Mid = 0;  // bottleneck width m; the output has 4m channels
  U128 RIn = 0;  // input side
  U128 ROut = 0; // output side (RIn / stride)
  bool Projection = false;
};
} // namespace

/// Bytes of the two fp32 statistics (mean, inverse std) BatchNorm saves per
/// channel.
static U128 bnStats(U128 Channels) { return 8 * Channels; }

static StageCost stem(const ResNetOptions &O) {
  U128 B = O.Batch, R2 = O.Image / 2, R4 = O.Image / 4, C = 64;
  StageCost S{"stem", "stem"};
  S.Output = 2 * B * C * R4 * R4;
  // 16-bit cast of the image (the conv's input), conv output (BN input),
  // ReLU output (max-pool input), int64 max-pool indices, output.
  S.Saved = 2 * B * 3 * U128(O.Image) * O.Image + 2 * B * C * R2 * R2 +
            bnStats(C) + 2 * B * C * R2 * R2 + 8 * B * C * R4 * R4 + S.Output;
  S.BwdWorkspace = 4 * B * C * R2 * R2; // gradients of conv and ReLU output
  S.FwdFlops = 2 * double(B) * double(R2 * R2) * 49 * 3 * double(C);
  S.BwdFlops = 2 * S.FwdFlops;
  return S;
}

static StageCost bottleneck(const Block &K, std::string Name) {
  U128 AreaIn = K.RIn * K.RIn, Area = K.ROut * K.ROut, Out = 4 * K.Mid;
  StageCost S{std::move(Name), "bottleneck"};
  S.Output = 2 * K.B * Out * Area;
  // r1 = ReLU(BN1(x)) feeds conv1 and the projection; c1 and r2 at the input
  // side; c2 and r3 after the strided 3x3; BN statistics.
  S.Saved = 2 * K.B * (K.In * AreaIn + 2 * K.Mid * AreaIn + 2 * K.Mid * Area) +
            bnStats(K.In + 2 * K.Mid) + S.Output;
  // conv3 output and the projection output exist until the residual add.
  S.FwdWorkspace = 2 * K.B * Out * Area * (K.Projection ? 2 : 1);
  // Gradients of r1, c1 and r2 live together at the end of the backward.
  S.BwdWorkspace = 2 * K.B * (K.In + 2 * K.Mid) * AreaIn;
  double B = double(K.B), M = double(K.Mid), In = double(K.In);
  double AIn = double(AreaIn), A = double(Area);
  S.FwdFlops = 2 * B * (AIn * In * M + A * 9 * M * M + A * M * 4 * M);
  if (K.Projection)
    S.FwdFlops += 2 * B * A * In * 4 * M;
  S.BwdFlops = 2 * S.FwdFlops;
  return S;
}

static StageCost head(const ResNetOptions &O, U128 Channels, U128 Side) {
  U128 B = O.Batch, BC = B * O.Classes;
  StageCost S{"head", "head"};
  S.Output = 4;
  // ReLU output (pool input), BN statistics, pooled features (fc input),
  // fp32 logits, loss.
  S.Saved = 2 * B * Channels * Side * Side + bnStats(Channels) +
            2 * B * Channels + 4 * BC + S.Output;
  S.FwdWorkspace = 2 * BC; // 16-bit logits
  S.BwdWorkspace = 4 * B * Channels * Side * Side + 6 * BC;
  S.FwdFlops = 2 * double(B) * double(Channels) * O.Classes;
  S.BwdFlops = 2 * S.FwdFlops;
  return S;
}

/// Parameters of one block: BN1, conv1, BN2, conv2, BN3, conv3, projection.
static U128 blockParams(const Block &K) {
  U128 M = K.Mid;
  return 2 * K.In + K.In * M + 2 * M + 9 * M * M + 2 * M + 4 * M * M +
         (K.Projection ? K.In * 4 * M : 0);
}

static Error checkResNet(const ResNetOptions &O) {
  for (auto [Name, Value] : {std::pair<StringRef, unsigned>{"depth", O.Depth},
                             {"batch", O.Batch},
                             {"image", O.Image},
                             {"classes", O.Classes}})
    if (Error E = gen::checkRange("resnet", Name, Value))
      return E;
  if (O.Depth < 11 || (O.Depth - 2) % 9 != 0)
    return badInput(
        "gen resnet: --depth {} is not 9n+2 with n >= 1 bottleneck blocks "
        "per stage (e.g. 164 or 1001)",
        O.Depth);
  // The stem, three stages of n blocks, the head.
  if (Error E = gen::checkStages("resnet", "depth", O.Depth,
                                 3 * uint64_t((O.Depth - 2) / 9) + 2))
    return E;
  if (O.Image % 16 != 0)
    return badInput("gen resnet: --image {} is not a multiple of 16 "
                    "(the network downsamples 16x)",
                    O.Image);
  return gen::checkTflops("resnet", O.Tflops);
}

Expected<GeneratedModel> generateResNet(const ResNetOptions &O) {
  if (Error E = checkResNet(O))
    return E;
  unsigned N = (O.Depth - 2) / 9;
  gen::ChainCost C;
  C.Name = O.Name;
  C.Batch = O.Batch;
  C.Rule = gen::SgdAmp;
  C.Tflops = O.Tflops;
  C.Input = 4 * U128(O.Batch) * 3 * O.Image * O.Image; // fp32 images
  C.Parameters = 3 * 49 * 64 + 2 * 64;
  C.Stages.push_back(stem(O));
  U128 In = 64, Side = O.Image / 4;
  for (unsigned Stage = 0; Stage < 3; ++Stage) {
    U128 Mid = U128(64) << Stage;
    for (unsigned J = 0; J < N; ++J) {
      Block K;
      K.B = O.Batch;
      K.In = In;
      K.Mid = Mid;
      K.RIn = Side;
      K.ROut = (J == 0 && Stage > 0) ? Side / 2 : Side;
      K.Projection = J == 0;
      C.Parameters += blockParams(K);
      C.Stages.push_back(
          bottleneck(K, fmt::format("stage{}.block{}", Stage + 1, J)));
      In = 4 * Mid;
      Side = K.ROut;
    }
  }
  C.Parameters += 2 * In + In * O.Classes + O.Classes;
  C.Stages.push_back(head(O, In, Side));
  C.Description = fmt::format(
      "Pre-activation bottleneck ResNet-{} (He et al. 2016): ImageNet stem "
      "(7x7/2 conv, 3x3/2 max-pool), 3 stages of {} blocks of widths "
      "64/128/256 (outputs 256/512/1024) at {}/{}/{} pixels, batch {} of "
      "{}x{} images, {} classes; 16-bit activations (AMP); times from conv "
      "MACs at {} effective TFLOP/s; static bytes for SGD with momentum "
      "under AMP (4+4+4 B x {} params). Generated by 'remat gen resnet'; "
      "see docs/models.md.",
      O.Depth, N, O.Image / 4, O.Image / 8, O.Image / 16, O.Batch, O.Image,
      O.Image, O.Classes, gen::shortNumber(O.Tflops), uint64_t(C.Parameters));
  return gen::finishChain(C);
}

} // namespace remat

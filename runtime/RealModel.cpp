//===- runtime/RealModel.cpp - Small real networks for real mode ----------===//

#include "runtime/RealModel.h"
#include "graph/Errors.h"

#include "graph/ModelLoader.h"
#include "graph/Size.h"
#include "runtime/RealMath.h"

#include "llvm/ADT/StringSwitch.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

using namespace llvm;

namespace remat::real {

LayerType layerTypeForKind(StringRef Kind) {
  std::string K = Kind.lower();
  return StringSwitch<LayerType>(K)
      .Cases("attention", "attn", "self-attention", LayerType::Attention)
      .Cases("mlp", "ffn", "feedforward", LayerType::Mlp)
      .Cases("norm", "layernorm", "ln", "rmsnorm", LayerType::LayerNorm)
      .Cases("embedding", "embed", "head", "lm_head", "linear-noact",
             LayerType::Linear)
      .Default(LayerType::LinearGelu);
}

Error RealNet::checkShape(const RealShape &S) {
  if (S.Batch == 0 || S.Seq == 0 || S.Hidden == 0 || S.Heads == 0 ||
      S.MlpRatio == 0)
    return badInput("real mode: batch, seq, hidden, heads and mlp "
                    "ratio must be positive (got {}, {}, {}, {}, {})",
                    S.Batch, S.Seq, S.Hidden, S.Heads, S.MlpRatio);
  if (S.Hidden % S.Heads)
    return badInput("real mode: --hidden {} is not divisible by "
                    "--heads {}",
                    S.Hidden, S.Heads);
  if (!(S.Dropout >= 0 && S.Dropout < 1))
    return badInput("real mode: --dropout {} is outside [0, 1)", S.Dropout);
  return Error::success();
}

Expected<RealNet> RealNet::fromPreset(StringRef Name, unsigned Blocks,
                                      const RealShape &S) {
  if (Error E = checkShape(S))
    return E;
  if (Blocks == 0)
    return badInput("real mode: --blocks must be at least 1");
  // tiny-gpt has 4 stages a block and 2 more, tiny-mlp 2 a block.
  uint64_t Stages =
      Name == "tiny-mlp" ? 2 * uint64_t(Blocks) : 4 * uint64_t(Blocks) + 2;
  if (Stages > MaxChainStages)
    return badInput("real mode: --blocks {} gives {} stages; a model "
                    "holds at most {}",
                    Blocks, Stages, MaxChainStages);
  std::vector<std::pair<std::string, std::string>> Spec; // (name, kind)
  if (Name == "tiny-gpt") {
    Spec.push_back({"embed", "embedding"});
    for (unsigned B = 0; B < Blocks; ++B) {
      Spec.push_back({fmt::format("h.{}.ln1", B), "norm"});
      Spec.push_back({fmt::format("h.{}.attn", B), "attention"});
      Spec.push_back({fmt::format("h.{}.ln2", B), "norm"});
      Spec.push_back({fmt::format("h.{}.mlp", B), "mlp"});
    }
    Spec.push_back({"head", "head"});
  } else if (Name == "tiny-mlp") {
    for (unsigned B = 0; B < Blocks; ++B) {
      Spec.push_back({fmt::format("b.{}.fc", B), "linear"});
      Spec.push_back({fmt::format("b.{}.mlp", B), "mlp"});
    }
  } else {
    return badInput("unknown preset '{}' (choose from {})", Name.str(),
                    PresetNames);
  }
  Chain C;
  for (auto &[N, K] : Spec) {
    Stage St;
    St.Name = N;
    St.Kind = K;
    C.Stages.push_back(St);
  }
  return fromChain(C, S);
}

/// Floats of parameters, saved tensors and backward workspace of one layer
/// of type \p T, as RealLayers.cpp and RealAttention.cpp allocate them, in
/// double (the products overflow 64 bits for absurd shapes).
namespace {
struct LayerFloats {
  double Params, Saved, BwdWs;
};
} // namespace

static LayerFloats layerFloats(LayerType T, const RealShape &S) {
  double H = S.Hidden, F = H * S.MlpRatio, R = double(S.Batch) * S.Seq;
  double IO = R * H;
  double Probs = double(S.Batch) * S.Heads * double(S.Seq) * S.Seq;
  switch (T) {
  case LayerType::Linear:
    return {H * H + H, 2 * IO, 0};
  case LayerType::LinearGelu:
    return {H * H + H, 3 * IO, IO};
  case LayerType::LayerNorm:
    return {2 * H, 2 * IO + 2 * R, 0};
  case LayerType::Mlp:
    return {2 * H * F + F + H, 2 * IO + 2 * R * F, R * F};
  case LayerType::Attention:
    return {4 * H * H, 6 * IO + Probs, 4 * IO + S.Seq};
  }
  return {0, 0, 0};
}

double RealNet::estimateBytes(const Chain &C, const RealShape &S) {
  double Floats = 0, Ws = 0;
  for (const Stage &St : C.Stages) {
    LayerFloats F = layerFloats(layerTypeForKind(St.Kind), S);
    Floats += 2 * F.Params + F.Saved; // parameters and their gradients
    Ws = std::max(Ws, F.BwdWs);
  }
  // x_0, the target, the gradient in and out of the running stage.
  double IO = double(S.Batch) * S.Seq * S.Hidden;
  return (Floats + Ws + 4 * IO) * sizeof(float);
}

Expected<RealNet> RealNet::fromChain(const Chain &C, const RealShape &S) {
  if (Error E = checkShape(S))
    return E;
  double Need = estimateBytes(C, S);
  if (Need > double(MaxRealModelBytes))
    return badInput(
        "real mode: --batch {} --seq {} --hidden {} --heads {} on {} layers "
        "needs an estimated {} (parameters, gradients, saved tensors), over "
        "the limit of {}; lower --hidden, --seq, --batch or the number of "
        "layers (see docs/limits.md)",
        S.Batch, S.Seq, S.Hidden, S.Heads, C.size(),
        Need >= 0x1p62 ? std::string("more than 4 EiB")
                       : formatSize(uint64_t(Need)),
        formatSize(MaxRealModelBytes));
  RealNet Net;
  Net.Shape = S;
  for (unsigned I = 0; I < C.size(); ++I) {
    Net.Layers.push_back(makeLayer(layerTypeForKind(C.Stages[I].Kind), I, S));
    Net.Names.push_back(C.Stages[I].Name);
    Net.Kinds.push_back(C.Stages[I].Kind);
  }
  return Net;
}

Chain RealNet::chain() const {
  Chain C;
  uint64_t IO = Shape.ioFloats() * sizeof(float);
  C.InputBytes = IO;
  for (unsigned I = 0; I < size(); ++I) {
    const RealLayer &L = *Layers[I];
    Stage St;
    St.Name = Names[I];
    St.Kind = Kinds[I];
    St.OutputBytes = IO;
    St.SavedBytes = L.savedFloats() * sizeof(float);
    St.FwdWorkspace = L.interFloats() * sizeof(float);
    St.BwdWorkspace = L.bwdWsFloats() * sizeof(float);
    C.Stages.push_back(St);
  }
  return C;
}

uint64_t RealNet::parameterBytes() const {
  uint64_t N = 0;
  for (const auto &L : Layers)
    N += L->Params.size();
  return N * sizeof(float);
}

void RealNet::zeroGrads() {
  for (auto &L : Layers)
    std::fill(L->Grads.begin(), L->Grads.end(), 0.0f);
}

std::vector<float> RealNet::gradients() const {
  std::vector<float> G;
  for (const auto &L : Layers)
    G.insert(G.end(), L->Grads.begin(), L->Grads.end());
  return G;
}

// Streams of the input and the target, beyond any layer's streams.
static uint64_t inputStream() { return ~uint64_t(0); }
static uint64_t targetStream() { return ~uint64_t(0) - 1; }

void RealWorkload::initInput(Buffer X0) {
  const RealShape &S = Net.shape();
  float *X = X0.floats();
  for (size_t I = 0; I < S.ioFloats(); ++I)
    X[I] = 2 * uniform01(S.Seed, inputStream(), I) - 1;
}

const float *RealWorkload::outputOf(unsigned I, const Buffer &Saved) const {
  const RealLayer &L = Net.layer(I);
  return Saved.floats() + Net.shape().ioFloats() + L.interFloats();
}

void RealWorkload::forward(unsigned I, TensorRef In, Buffer Out, bool Record,
                           Buffer Ws) {
  const RealLayer &L = Net.layer(I);
  size_t N = Net.shape().ioFloats();
  const float *X = activation(I, In);
  if (!Record) {
    L.forward(X, Ws.floats(), Out.floats());
    return;
  }
  float *Saved = Out.floats();
  std::copy(X, X + N, Saved);
  L.forward(Saved, Saved + N, Saved + N + L.interFloats());
}

void RealWorkload::loss(TensorRef XL, Buffer YL, Buffer) {
  const RealShape &S = Net.shape();
  const float *X = activation(Net.size(), XL);
  float *Y = YL.floats();
  for (size_t I = 0; I < S.ioFloats(); ++I)
    Y[I] = X[I] - (2 * uniform01(S.Seed, targetStream(), I) - 1);
}

void RealWorkload::backward(unsigned I, Buffer Saved, Buffer DY, Buffer DX,
                            Buffer Ws) {
  RealLayer &L = Net.layer(I);
  size_t N = Net.shape().ioFloats();
  const float *S = Saved.floats();
  L.backward(S, S + N, DY.floats(), DX.floats(), Ws.floats());
}

void RealWorkload::finish(Buffer Y0) {
  const float *Y = Y0.floats();
  InputGrad.assign(Y, Y + Net.shape().ioFloats());
}

bool bitIdentical(ArrayRef<float> A, ArrayRef<float> B) {
  return A.size() == B.size() &&
         (A.empty() || std::memcmp(A.data(), B.data(), A.size() * 4) == 0);
}

} // namespace remat::real

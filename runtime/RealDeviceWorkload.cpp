//===- runtime/RealDeviceWorkload.cpp - The device real-mode workload -----===//
//
// The CPU real mode's layers (RealLayers.cpp, RealAttention.cpp) as
// sequences of device operations (RealDeviceOps): the same matmuls, in the
// same order, and element kernels that call the shared element math. On a
// GPU the operations are cuBLAS and CUDA kernels (runtime/cuda/CudaReal.cpp);
// on the host they are loops (HostOps, below), which is how the tests check
// this file against the CPU layers bit for bit without a GPU.
//
//===----------------------------------------------------------------------===//

#include "runtime/RealDevice.h"
#include "runtime/RealMath.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace llvm;

namespace remat::real {

namespace {
// Hash streams of the input and the target (RealModel.cpp), and of a
// layer's dropout (RealLayer::stream(1): MLP and attention).
constexpr uint64_t InputStream = ~uint64_t(0);
constexpr uint64_t TargetStream = ~uint64_t(0) - 1;

class OpsRealWorkload final : public DeviceRealWorkload {
public:
  OpsRealWorkload(RealNet &Net, std::unique_ptr<RealDeviceOps> Ops,
                  bool RecordLoss)
      : Net(Net), C(Net.chain()), Ops(std::move(Ops)), RecordLoss(RecordLoss) {}
  ~OpsRealWorkload() override {
    consumeError(Ops->takeError());
    for (float *P : Params)
      Ops->freeStatic(P);
    for (float *G : Grads)
      Ops->freeStatic(G);
  }
  Error init();

  const Chain &chain() const override { return C; }
  void initInput(Buffer X0) override {
    Ops->uniformFill(X0.floats(), nullptr, Net.shape().ioFloats(),
                     Net.shape().Seed, InputStream);
  }
  void forward(unsigned I, TensorRef In, Buffer Out, bool Record,
               Buffer Ws) override;
  void loss(TensorRef XL, Buffer YL, Buffer Ws) override;
  void backward(unsigned I, Buffer Saved, Buffer DY, Buffer DX,
                Buffer Ws) override {
    const float *S = Saved.floats();
    backwardRaw(I, S, S + Net.shape().ioFloats(), DY.floats(), DX.floats(),
                Ws.floats());
  }
  void finish(Buffer Y0) override {
    InputGrad.assign(Net.shape().ioFloats(), 0.0f);
    Ops->download(InputGrad.data(), Y0.floats(), InputGrad.size());
  }

  Error zeroGrads() override;
  Expected<std::vector<float>> gradients() override;
  const std::vector<float> &inputGradient() const override { return InputGrad; }
  double lastLoss() const override { return Loss; }
  void forwardRaw(unsigned I, const float *X, float *Inter, float *Y) override;
  void backwardRaw(unsigned I, const float *X, const float *Inter,
                   const float *DY, float *DX, float *Ws) override;
  Error upload(float *Dst, ArrayRef<float> Host) override {
    Ops->upload(Dst, Host);
    return Ops->takeError();
  }
  Error takeError() override { return Ops->takeError(); }

private:
  const float *activation(unsigned I, const TensorRef &Ref) const;
  void mlpForward(unsigned I, const float *X, float *Inter, float *Y);
  void mlpBackward(unsigned I, const float *X, const float *Inter,
                   const float *DY, float *DX, float *Ws);
  void attnForward(unsigned I, const float *X, float *Inter, float *Y);
  void attnBackward(unsigned I, const float *X, const float *Inter,
                    const float *DY, float *DX, float *Ws);
  elem::Dropout dropOf(unsigned I) const {
    return {Net.shape().Seed, uint64_t(I) * 16 + 1, Net.shape().Dropout};
  }
  elem::AttnDims dims() const {
    const RealShape &S = Net.shape();
    return {S.Seq, S.Hidden, S.Heads, size_t(S.Hidden / S.Heads)};
  }

  RealNet &Net;
  Chain C;
  std::unique_ptr<RealDeviceOps> Ops;
  bool RecordLoss;
  std::vector<float *> Params, Grads;
  std::vector<float> InputGrad;
  double Loss = NAN;
};

Error OpsRealWorkload::init() {
  for (unsigned I = 0; I < Net.size(); ++I) {
    const std::vector<float> &P = Net.layer(I).Params;
    Params.push_back(Ops->allocStatic(P.size()));
    Grads.push_back(Ops->allocStatic(P.size()));
    if (Params.back())
      Ops->upload(Params.back(), P);
  }
  if (Error E = Ops->takeError())
    return E;
  return zeroGrads();
}

const float *OpsRealWorkload::activation(unsigned I,
                                         const TensorRef &Ref) const {
  if (!Ref.IsSaved)
    return Ref.Buf.floats();
  // x_I inside x̄_I: after the input copy and stage I-1's intermediates.
  return Ref.Buf.floats() + Net.shape().ioFloats() +
         Net.layer(I - 1).interFloats();
}

void OpsRealWorkload::forward(unsigned I, TensorRef In, Buffer Out, bool Record,
                              Buffer Ws) {
  const float *X = activation(I, In);
  if (!Record)
    return forwardRaw(I, X, Ws.floats(), Out.floats());
  size_t N = Net.shape().ioFloats();
  float *Saved = Out.floats();
  Ops->copy(Saved, X, N);
  forwardRaw(I, Saved, Saved + N, Saved + N + Net.layer(I).interFloats());
}

void OpsRealWorkload::loss(TensorRef XL, Buffer YL, Buffer) {
  size_t N = Net.shape().ioFloats();
  Ops->uniformFill(YL.floats(), activation(Net.size(), XL), N, Net.shape().Seed,
                   TargetStream);
  if (!RecordLoss)
    return;
  std::vector<float> Y(N);
  Ops->download(Y.data(), YL.floats(), N);
  double Sum = 0;
  for (float V : Y)
    Sum += double(V) * V;
  Loss = 0.5 * Sum;
}

Error OpsRealWorkload::zeroGrads() {
  for (unsigned I = 0; I < Net.size(); ++I)
    if (Grads[I])
      Ops->zero(Grads[I], Net.layer(I).Params.size());
  return Ops->takeError();
}

Expected<std::vector<float>> OpsRealWorkload::gradients() {
  std::vector<float> G;
  for (unsigned I = 0; I < Net.size(); ++I) {
    size_t Off = G.size(), N = Net.layer(I).Params.size();
    G.resize(Off + N);
    Ops->download(G.data() + Off, Grads[I], N);
  }
  if (Error E = Ops->takeError())
    return E;
  return G;
}

void OpsRealWorkload::forwardRaw(unsigned I, const float *X, float *Inter,
                                 float *Y) {
  const RealShape &S = Net.shape();
  size_t R = S.rows(), H = S.Hidden;
  LayerType T = Net.layer(I).type();
  auto PO = paramOffsets(T, S);
  const float *P = Params[I];
  switch (T) {
  case LayerType::Linear:
  case LayerType::LinearGelu: {
    bool Act = T == LayerType::LinearGelu;
    float *Pre = Act ? Inter : Y;
    Ops->gemm(X, P + PO[0], Pre, R, H, H, false, false, false);
    Ops->addBias(Pre, P + PO[1], R, H);
    if (Act)
      Ops->geluDropout(Pre, Y, R * H, elem::Dropout{0, 0, 0});
    return;
  }
  case LayerType::LayerNorm:
    Ops->layerNormForward(X, P + PO[0], P + PO[1], Inter, Y, R, H);
    return;
  case LayerType::Mlp:
    return mlpForward(I, X, Inter, Y);
  case LayerType::Attention:
    return attnForward(I, X, Inter, Y);
  }
}

void OpsRealWorkload::backwardRaw(unsigned I, const float *X,
                                  const float *Inter, const float *DY,
                                  float *DX, float *Ws) {
  const RealShape &S = Net.shape();
  size_t R = S.rows(), H = S.Hidden;
  LayerType T = Net.layer(I).type();
  auto PO = paramOffsets(T, S);
  const float *P = Params[I];
  float *G = Grads[I];
  switch (T) {
  case LayerType::Linear:
  case LayerType::LinearGelu: {
    const float *DH = DY;
    if (T == LayerType::LinearGelu) {
      Ops->geluDropoutBackward(DY, Inter, Ws, R * H, elem::Dropout{0, 0, 0});
      DH = Ws;
    }
    Ops->gemm(X, DH, G + PO[0], H, R, H, true, false, true);
    Ops->addColSums(DH, R, H, G + PO[1]);
    Ops->gemm(DH, P + PO[0], DX, R, H, H, false, true, false);
    return;
  }
  case LayerType::LayerNorm:
    Ops->layerNormBackward(X, Inter, DY, P + PO[0], DX, G + PO[0], G + PO[1], R,
                           H);
    return;
  case LayerType::Mlp:
    return mlpBackward(I, X, Inter, DY, DX, Ws);
  case LayerType::Attention:
    return attnBackward(I, X, Inter, DY, DX, Ws);
  }
}

void OpsRealWorkload::mlpForward(unsigned I, const float *X, float *Inter,
                                 float *Y) {
  const RealShape &S = Net.shape();
  size_t R = S.rows(), H = S.Hidden, F = H * S.MlpRatio;
  auto PO = paramOffsets(LayerType::Mlp, S);
  const float *P = Params[I];
  float *H1 = Inter, *A1 = Inter + R * F;
  Ops->gemm(X, P + PO[0], H1, R, H, F, false, false, false);
  Ops->addBias(H1, P + PO[1], R, F);
  Ops->geluDropout(H1, A1, R * F, dropOf(I));
  Ops->copy(Y, X, R * H);
  Ops->gemm(A1, P + PO[2], Y, R, F, H, false, false, true);
  Ops->addBias(Y, P + PO[3], R, H);
}

void OpsRealWorkload::mlpBackward(unsigned I, const float *X,
                                  const float *Inter, const float *DY,
                                  float *DX, float *Ws) {
  const RealShape &S = Net.shape();
  size_t R = S.rows(), H = S.Hidden, F = H * S.MlpRatio;
  auto PO = paramOffsets(LayerType::Mlp, S);
  const float *P = Params[I];
  float *G = Grads[I];
  const float *H1 = Inter, *A1 = Inter + R * F;
  Ops->gemm(A1, DY, G + PO[2], F, R, H, true, false, true);
  Ops->addColSums(DY, R, H, G + PO[3]);
  float *D = Ws; // dA1, then dH1 in place
  Ops->gemm(DY, P + PO[2], D, R, H, F, false, true, false);
  Ops->geluDropoutBackward(D, H1, D, R * F, dropOf(I));
  Ops->gemm(X, D, G + PO[0], H, R, F, true, false, true);
  Ops->addColSums(D, R, F, G + PO[1]);
  Ops->copy(DX, DY, R * H);
  Ops->gemm(D, P + PO[0], DX, R, F, H, false, true, true);
}

void OpsRealWorkload::attnForward(unsigned I, const float *X, float *Inter,
                                  float *Y) {
  const RealShape &S = Net.shape();
  size_t R = S.rows(), H = S.Hidden, N = S.ioFloats();
  auto PO = paramOffsets(LayerType::Attention, S);
  const float *P = Params[I];
  float *Q = Inter, *K = Inter + N, *V = Inter + 2 * N, *O = Inter + 3 * N;
  for (int W = 0; W < 3; ++W)
    Ops->gemm(X, P + PO[W], Inter + W * N, R, H, H, false, false, false);
  Ops->attnForward(Q, K, V, Inter + 4 * N, O, S.Batch, dims(), dropOf(I));
  Ops->copy(Y, X, N);
  Ops->gemm(O, P + PO[3], Y, R, H, H, false, false, true);
}

void OpsRealWorkload::attnBackward(unsigned I, const float *X,
                                   const float *Inter, const float *DY,
                                   float *DX, float *Ws) {
  const RealShape &S = Net.shape();
  size_t R = S.rows(), H = S.Hidden, N = S.ioFloats();
  auto PO = paramOffsets(LayerType::Attention, S);
  const float *P = Params[I];
  float *G = Grads[I];
  const float *Q = Inter, *K = Inter + N, *V = Inter + 2 * N,
              *O = Inter + 3 * N, *Pr = Inter + 4 * N;
  float *DO = Ws, *DQ = Ws + N; // then dK at 2N, dV at 3N
  Ops->gemm(O, DY, G + PO[3], H, R, H, true, false, true);
  Ops->gemm(DY, P + PO[3], DO, R, H, H, false, true, false);
  Ops->zero(DQ, 3 * N);
  // The rows' Dots (Batch * Heads * Seq <= N floats, since Heads divides
  // Hidden) live in DX until DX is written below.
  Ops->attnBackward(Q, K, V, Pr, DO, DQ, DQ + N, DQ + 2 * N, DX, S.Batch,
                    dims(), dropOf(I));
  for (int W = 0; W < 3; ++W)
    Ops->gemm(X, DQ + W * N, G + PO[W], H, R, H, true, false, true);
  Ops->copy(DX, DY, N);
  for (int W = 0; W < 3; ++W)
    Ops->gemm(DQ + W * N, P + PO[W], DX, R, H, H, false, true, true);
}

/// RealDeviceOps on host memory: each kernel of RealKernels.cu as a loop
/// over its thread indices.
class HostOps final : public RealDeviceOps {
public:
  float *allocStatic(size_t Floats) override {
    return new float[std::max<size_t>(Floats, 1)];
  }
  void freeStatic(float *P) override { delete[] P; }
  void upload(float *Dst, ArrayRef<float> Host) override {
    std::copy(Host.begin(), Host.end(), Dst);
  }
  void download(float *Host, const float *Src, size_t N) override {
    std::copy(Src, Src + N, Host);
  }
  void copy(float *Dst, const float *Src, size_t N) override {
    std::memmove(Dst, Src, N * sizeof(float));
  }
  void zero(float *Dst, size_t N) override { std::fill(Dst, Dst + N, 0.0f); }
  void gemm(const float *A, const float *B, float *C, size_t M, size_t K,
            size_t N, bool TA, bool TB, bool Acc) override {
    matmul(A, B, C, M, K, N, TA, TB, Acc);
  }
  void uniformFill(float *X, const float *In, size_t N, uint64_t Seed,
                   uint64_t Stream) override {
    for (size_t I = 0; I < N; ++I) {
      float U = 2 * elem::uniform01(Seed, Stream, I) - 1;
      X[I] = In ? In[I] - U : U;
    }
  }
  void addBias(float *Y, const float *B, size_t Rows, size_t Cols) override {
    for (size_t I = 0; I < Rows * Cols; ++I)
      Y[I] += B[I % Cols];
  }
  void addColSums(const float *D, size_t Rows, size_t Cols, float *G) override {
    for (size_t C = 0; C < Cols; ++C) {
      float Acc = G[C];
      for (size_t R = 0; R < Rows; ++R)
        Acc += D[R * Cols + C];
      G[C] = Acc;
    }
  }
  void geluDropout(const float *Pre, float *Y, size_t N,
                   elem::Dropout Drop) override {
    for (size_t I = 0; I < N; ++I)
      Y[I] = elem::gelu(Pre[I]) * Drop(I);
  }
  void geluDropoutBackward(const float *DY, const float *Pre, float *D,
                           size_t N, elem::Dropout Drop) override {
    for (size_t I = 0; I < N; ++I)
      D[I] = DY[I] * (Drop(I) * elem::geluGrad(Pre[I]));
  }
  void layerNormForward(const float *X, const float *G, const float *B,
                        float *Inter, float *Y, size_t Rows,
                        size_t H) override {
    for (size_t R = 0; R < Rows; ++R) {
      float Mean, RStd;
      elem::layerNormStats(X + R * H, H, Mean, RStd);
      Inter[2 * R] = Mean;
      Inter[2 * R + 1] = RStd;
      elem::layerNormRow(X + R * H, H, Mean, RStd, G, B, Y + R * H);
    }
  }
  void layerNormBackward(const float *X, const float *Inter, const float *DY,
                         const float *G, float *DX, float *GG, float *GB,
                         size_t Rows, size_t H) override;
  void attnForward(const float *Q, const float *K, const float *V, float *P,
                   float *O, size_t Batch, elem::AttnDims D,
                   elem::Dropout Drop) override {
    for (size_t T = 0; T < Batch * D.Heads * D.Seq; ++T)
      elem::attnRowForward(D, T / D.Seq / D.Heads, T / D.Seq % D.Heads,
                           T % D.Seq, Q, K, V, P, O, Drop);
  }
  void attnBackward(const float *Q, const float *K, const float *V,
                    const float *P, const float *DO, float *DQ, float *DK,
                    float *DV, float *Dots, size_t Batch, elem::AttnDims D,
                    elem::Dropout Drop) override;
  Error takeError() override { return Error::success(); }
};

void HostOps::layerNormBackward(const float *X, const float *Inter,
                                const float *DY, const float *G, float *DX,
                                float *GG, float *GB, size_t Rows, size_t H) {
  for (size_t C = 0; C < H; ++C) { // the column kernel
    float AccG = GG[C], AccB = GB[C];
    for (size_t R = 0; R < Rows; ++R) {
      float XHat = (X[R * H + C] - Inter[2 * R]) * Inter[2 * R + 1];
      AccG += DY[R * H + C] * XHat;
      AccB += DY[R * H + C];
    }
    GG[C] = AccG;
    GB[C] = AccB;
  }
  for (size_t R = 0; R < Rows; ++R) // the row kernel
    elem::layerNormRowBackward(X + R * H, DY + R * H, H, Inter[2 * R],
                               Inter[2 * R + 1], G, DX + R * H);
}

void HostOps::attnBackward(const float *Q, const float *K, const float *V,
                           const float *P, const float *DO, float *DQ,
                           float *DK, float *DV, float *Dots, size_t Batch,
                           elem::AttnDims D, elem::Dropout Drop) {
  size_t Rows = Batch * D.Heads * D.Seq;
  for (size_t T = 0; T < Rows; ++T)
    elem::attnRowBackward(D, T / D.Seq / D.Heads, T / D.Seq % D.Heads,
                          T % D.Seq, Q, K, V, P, DO, DQ, Dots + T, Drop);
  for (size_t T = 0; T < Rows; ++T)
    elem::attnColBackward(D, T / D.Seq / D.Heads, T / D.Seq % D.Heads,
                          T % D.Seq, Q, V, P, DO, Dots, DK, DV, Drop);
}
} // namespace

std::unique_ptr<RealDeviceOps> createHostDeviceOps() {
  return std::make_unique<HostOps>();
}

Expected<std::unique_ptr<DeviceRealWorkload>>
createOpsRealWorkload(RealNet &Net, std::unique_ptr<RealDeviceOps> Ops,
                      bool RecordLoss) {
  if (Error E = checkDeviceShape(Net))
    return E;
  auto W = std::make_unique<OpsRealWorkload>(Net, std::move(Ops), RecordLoss);
  if (Error E = W->init())
    return E;
  return std::unique_ptr<DeviceRealWorkload>(std::move(W));
}

} // namespace remat::real

//===- runtime/cuda/CudaReal.cpp - Real layers on the CUDA backend --------===//
//
// The device real mode: the CPU real mode's layers (RealLayers.cpp,
// RealAttention.cpp) step for step, with every matmul a cuBLAS SGEMM (FP32
// math, no TF32) and everything else a kernel of RealKernels.cu. All work is
// enqueued on the backend's stream, so the backend's event timers time it
// and its stream-ordered pool holds every activation, intermediate and
// scratch buffer (the executor allocates them). Parameters and gradients
// are plain cudaMalloc memory outside the pool, like the CPU's parameters
// outside the tracking allocator.
//
//===----------------------------------------------------------------------===//

#ifdef REMAT_HAVE_CUBLAS

#include "runtime/RealDevice.h"
#include "runtime/cuda/CudaStream.h"
#include "runtime/cuda/RealKernels.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cmath>
#include <fmt/format.h>

using namespace llvm;

namespace remat::real {

namespace {
/// cuBLAS's workspace, set explicitly so that it never allocates during a
/// run: 4 MiB.
constexpr size_t BlasWorkspaceBytes = size_t(4) << 20;

// Hash streams of the input and the target (RealModel.cpp), and of a
// layer's dropout (RealLayer::stream(1): MLP and attention).
constexpr uint64_t InputStream = ~uint64_t(0);
constexpr uint64_t TargetStream = ~uint64_t(0) - 1;
uint64_t dropStream(unsigned Layer) { return uint64_t(Layer) * 16 + 1; }

class CudaRealWorkload final : public DeviceRealWorkload {
public:
  CudaRealWorkload(RealNet &Net, cudaStream_t St, bool RecordLoss)
      : Net(Net), C(Net.chain()), St(St), RecordLoss(RecordLoss) {}
  ~CudaRealWorkload() override;
  Error init();

  const Chain &chain() const override { return C; }
  void initInput(Buffer X0) override;
  void forward(unsigned I, TensorRef In, Buffer Out, bool Record,
               Buffer Ws) override;
  void loss(TensorRef XL, Buffer YL, Buffer Ws) override;
  void backward(unsigned I, Buffer Saved, Buffer DY, Buffer DX,
                Buffer Ws) override;
  void finish(Buffer Y0) override;

  Error zeroGrads() override;
  Expected<std::vector<float>> gradients() override;
  const std::vector<float> &inputGradient() const override { return InputGrad; }
  double lastLoss() const override { return Loss; }
  void forwardRaw(unsigned I, const float *X, float *Inter, float *Y) override;
  void backwardRaw(unsigned I, const float *X, const float *Inter,
                   const float *DY, float *DX, float *Ws) override;
  Error upload(float *Dst, ArrayRef<float> Host) override;
  Error takeError() override;

private:
  void note(cudaError_t E, const char *What);
  void note(cublasStatus_t S, const char *What);
  void gemm(const float *A, const float *B, float *Out, size_t M, size_t K,
            size_t N, bool TransA, bool TransB, bool Accumulate);
  void copy(float *Dst, const float *Src, size_t Floats);
  const float *activation(unsigned I, const TensorRef &Ref) const;
  void attnForward(unsigned I, const float *X, float *Inter, float *Y);
  void attnBackward(unsigned I, const float *X, const float *Inter,
                    const float *DY, float *DX, float *Ws);
  void mlpForward(unsigned I, const float *X, float *Inter, float *Y);
  void mlpBackward(unsigned I, const float *X, const float *Inter,
                   const float *DY, float *DX, float *Ws);
  cuda::DropoutArgs dropOf(unsigned I) const {
    return {Net.shape().Seed, dropStream(I), Net.shape().Dropout};
  }

  RealNet &Net;
  Chain C;
  cudaStream_t St;
  bool RecordLoss;
  cublasHandle_t Blas = nullptr;
  void *BlasWs = nullptr;
  std::vector<float *> Params, Grads;
  std::vector<float> InputGrad;
  double Loss = NAN;
  std::string FirstError;
};

CudaRealWorkload::~CudaRealWorkload() {
  cudaStreamSynchronize(St);
  for (float *P : Params)
    cudaFree(P);
  for (float *G : Grads)
    cudaFree(G);
  if (Blas)
    cublasDestroy(Blas);
  cudaFree(BlasWs);
}

void CudaRealWorkload::note(cudaError_t E, const char *What) {
  if (E != cudaSuccess && FirstError.empty())
    FirstError = fmt::format("{}: {}", What, cudaGetErrorString(E));
}

void CudaRealWorkload::note(cublasStatus_t S, const char *What) {
  if (S != CUBLAS_STATUS_SUCCESS && FirstError.empty())
    FirstError = fmt::format("{}: cuBLAS status {}", What, int(S));
}

Error CudaRealWorkload::takeError() {
  note(cudaStreamSynchronize(St), "cudaStreamSynchronize");
  if (FirstError.empty())
    return Error::success();
  std::string Msg = "--device cuda --mode real: " + FirstError;
  FirstError.clear();
  return createStringError(inconvertibleErrorCode(), Msg);
}

Error CudaRealWorkload::init() {
  note(cublasCreate(&Blas), "cublasCreate");
  note(cublasSetStream(Blas, St), "cublasSetStream");
  // FP32 products and sums throughout (no TF32), like the CPU.
  note(cublasSetMathMode(Blas, CUBLAS_PEDANTIC_MATH), "cublasSetMathMode");
  note(cudaMalloc(&BlasWs, BlasWorkspaceBytes), "cudaMalloc");
  note(cublasSetWorkspace(Blas, BlasWs, BlasWorkspaceBytes),
       "cublasSetWorkspace");
  for (unsigned I = 0; I < Net.size(); ++I) {
    const std::vector<float> &P = Net.layer(I).Params;
    void *VP = nullptr, *VG = nullptr;
    note(cudaMalloc(&VP, P.size() * 4), "cudaMalloc");
    note(cudaMalloc(&VG, P.size() * 4), "cudaMalloc");
    float *DP = static_cast<float *>(VP), *DG = static_cast<float *>(VG);
    Params.push_back(DP);
    Grads.push_back(DG);
    if (DP)
      note(cudaMemcpyAsync(DP, P.data(), P.size() * 4, cudaMemcpyHostToDevice,
                           St),
           "cudaMemcpyAsync");
  }
  if (Error E = zeroGrads())
    return E;
  return takeError();
}

void CudaRealWorkload::gemm(const float *A, const float *B, float *Out,
                            size_t M, size_t K, size_t N, bool TransA,
                            bool TransB, bool Accumulate) {
  ColMajorGemm G = toColMajor(M, K, N, TransA, TransB, Accumulate);
  const float One = 1;
  note(cublasSgemm(Blas, G.TransFirst ? CUBLAS_OP_T : CUBLAS_OP_N,
                   G.TransSecond ? CUBLAS_OP_T : CUBLAS_OP_N, G.Rows, G.Cols,
                   G.Inner, &One, B, G.LdFirst, A, G.LdSecond, &G.Beta, Out,
                   G.LdC),
       "cublasSgemm");
}

void CudaRealWorkload::copy(float *Dst, const float *Src, size_t Floats) {
  note(cudaMemcpyAsync(Dst, Src, Floats * 4, cudaMemcpyDeviceToDevice, St),
       "cudaMemcpyAsync");
}

const float *CudaRealWorkload::activation(unsigned I,
                                          const TensorRef &Ref) const {
  if (!Ref.IsSaved)
    return Ref.Buf.floats();
  // x_I inside x̄_I: after the input copy and stage I-1's intermediates.
  return Ref.Buf.floats() + Net.shape().ioFloats() +
         Net.layer(I - 1).interFloats();
}

void CudaRealWorkload::initInput(Buffer X0) {
  note(cuda::launchUniformFill(X0.floats(), nullptr, Net.shape().ioFloats(),
                               Net.shape().Seed, InputStream, St),
       "uniformFill");
}

void CudaRealWorkload::forward(unsigned I, TensorRef In, Buffer Out,
                               bool Record, Buffer Ws) {
  const float *X = activation(I, In);
  if (!Record)
    return forwardRaw(I, X, Ws.floats(), Out.floats());
  size_t N = Net.shape().ioFloats();
  float *Saved = Out.floats();
  copy(Saved, X, N);
  forwardRaw(I, Saved, Saved + N, Saved + N + Net.layer(I).interFloats());
}

void CudaRealWorkload::loss(TensorRef XL, Buffer YL, Buffer) {
  size_t N = Net.shape().ioFloats();
  note(cuda::launchUniformFill(YL.floats(), activation(Net.size(), XL), N,
                               Net.shape().Seed, TargetStream, St),
       "uniformFill");
  if (!RecordLoss)
    return;
  std::vector<float> Y(N);
  note(
      cudaMemcpyAsync(Y.data(), YL.floats(), N * 4, cudaMemcpyDeviceToHost, St),
      "cudaMemcpyAsync");
  note(cudaStreamSynchronize(St), "cudaStreamSynchronize");
  double Sum = 0;
  for (float V : Y)
    Sum += double(V) * V;
  Loss = 0.5 * Sum;
}

void CudaRealWorkload::backward(unsigned I, Buffer Saved, Buffer DY, Buffer DX,
                                Buffer Ws) {
  const float *S = Saved.floats();
  backwardRaw(I, S, S + Net.shape().ioFloats(), DY.floats(), DX.floats(),
              Ws.floats());
}

void CudaRealWorkload::finish(Buffer Y0) {
  InputGrad.assign(Net.shape().ioFloats(), 0.0f);
  note(cudaMemcpyAsync(InputGrad.data(), Y0.floats(), InputGrad.size() * 4,
                       cudaMemcpyDeviceToHost, St),
       "cudaMemcpyAsync");
  note(cudaStreamSynchronize(St), "cudaStreamSynchronize");
}

Error CudaRealWorkload::zeroGrads() {
  for (unsigned I = 0; I < Net.size(); ++I)
    note(cudaMemsetAsync(Grads[I], 0, Net.layer(I).Params.size() * 4, St),
         "cudaMemsetAsync");
  return takeError();
}

Expected<std::vector<float>> CudaRealWorkload::gradients() {
  std::vector<float> G;
  for (unsigned I = 0; I < Net.size(); ++I) {
    size_t Off = G.size(), N = Net.layer(I).Params.size();
    G.resize(Off + N);
    note(cudaMemcpyAsync(G.data() + Off, Grads[I], N * 4,
                         cudaMemcpyDeviceToHost, St),
         "cudaMemcpyAsync");
  }
  if (Error E = takeError())
    return E;
  return G;
}

Error CudaRealWorkload::upload(float *Dst, ArrayRef<float> Host) {
  note(cudaMemcpyAsync(Dst, Host.data(), Host.size() * 4,
                       cudaMemcpyHostToDevice, St),
       "cudaMemcpyAsync");
  return takeError();
}

void CudaRealWorkload::forwardRaw(unsigned I, const float *X, float *Inter,
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
    gemm(X, P + PO[0], Pre, R, H, H, false, false, false);
    note(cuda::launchAddBias(Pre, P + PO[1], R, H, St), "addBias");
    if (Act)
      note(cuda::launchGeluDropout(Pre, Y, R * H, {}, St), "gelu");
    return;
  }
  case LayerType::LayerNorm:
    note(cuda::launchLayerNormForward(X, P + PO[0], P + PO[1], Inter, Y, R, H,
                                      St),
         "layerNormForward");
    return;
  case LayerType::Mlp:
    return mlpForward(I, X, Inter, Y);
  case LayerType::Attention:
    return attnForward(I, X, Inter, Y);
  }
}

void CudaRealWorkload::backwardRaw(unsigned I, const float *X,
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
      note(cuda::launchGeluDropoutBackward(DY, Inter, Ws, R * H, {}, St),
           "geluBackward");
      DH = Ws;
    }
    gemm(X, DH, G + PO[0], H, R, H, true, false, true);
    note(cuda::launchAddColSums(DH, R, H, G + PO[1], St), "addColSums");
    gemm(DH, P + PO[0], DX, R, H, H, false, true, false);
    return;
  }
  case LayerType::LayerNorm:
    note(cuda::launchLayerNormBackward(X, Inter, DY, P + PO[0], DX, G + PO[0],
                                       G + PO[1], R, H, St),
         "layerNormBackward");
    return;
  case LayerType::Mlp:
    return mlpBackward(I, X, Inter, DY, DX, Ws);
  case LayerType::Attention:
    return attnBackward(I, X, Inter, DY, DX, Ws);
  }
}

void CudaRealWorkload::mlpForward(unsigned I, const float *X, float *Inter,
                                  float *Y) {
  const RealShape &S = Net.shape();
  size_t R = S.rows(), H = S.Hidden, F = H * S.MlpRatio;
  auto PO = paramOffsets(LayerType::Mlp, S);
  const float *P = Params[I];
  float *H1 = Inter, *A1 = Inter + R * F;
  gemm(X, P + PO[0], H1, R, H, F, false, false, false);
  note(cuda::launchAddBias(H1, P + PO[1], R, F, St), "addBias");
  note(cuda::launchGeluDropout(H1, A1, R * F, dropOf(I), St), "geluDropout");
  copy(Y, X, R * H);
  gemm(A1, P + PO[2], Y, R, F, H, false, false, true);
  note(cuda::launchAddBias(Y, P + PO[3], R, H, St), "addBias");
}

void CudaRealWorkload::mlpBackward(unsigned I, const float *X,
                                   const float *Inter, const float *DY,
                                   float *DX, float *Ws) {
  const RealShape &S = Net.shape();
  size_t R = S.rows(), H = S.Hidden, F = H * S.MlpRatio;
  auto PO = paramOffsets(LayerType::Mlp, S);
  const float *P = Params[I];
  float *G = Grads[I];
  const float *H1 = Inter, *A1 = Inter + R * F;
  gemm(A1, DY, G + PO[2], F, R, H, true, false, true);
  note(cuda::launchAddColSums(DY, R, H, G + PO[3], St), "addColSums");
  float *D = Ws; // dA1, then dH1 in place
  gemm(DY, P + PO[2], D, R, H, F, false, true, false);
  note(cuda::launchGeluDropoutBackward(D, H1, D, R * F, dropOf(I), St),
       "geluDropoutBackward");
  gemm(X, D, G + PO[0], H, R, F, true, false, true);
  note(cuda::launchAddColSums(D, R, F, G + PO[1], St), "addColSums");
  copy(DX, DY, R * H);
  gemm(D, P + PO[0], DX, R, F, H, false, true, true);
}

void CudaRealWorkload::attnForward(unsigned I, const float *X, float *Inter,
                                   float *Y) {
  const RealShape &S = Net.shape();
  size_t R = S.rows(), H = S.Hidden, N = S.ioFloats();
  auto PO = paramOffsets(LayerType::Attention, S);
  const float *P = Params[I];
  float *Q = Inter, *K = Inter + N, *V = Inter + 2 * N, *O = Inter + 3 * N;
  float *Pr = Inter + 4 * N;
  gemm(X, P + PO[0], Q, R, H, H, false, false, false);
  gemm(X, P + PO[1], K, R, H, H, false, false, false);
  gemm(X, P + PO[2], V, R, H, H, false, false, false);
  note(cuda::launchAttnForward(
           Q, K, V, Pr, O, {S.Batch, S.Seq, S.Hidden, S.Heads}, dropOf(I), St),
       "attnForward");
  copy(Y, X, N);
  gemm(O, P + PO[3], Y, R, H, H, false, false, true);
}

void CudaRealWorkload::attnBackward(unsigned I, const float *X,
                                    const float *Inter, const float *DY,
                                    float *DX, float *Ws) {
  const RealShape &S = Net.shape();
  size_t R = S.rows(), H = S.Hidden, N = S.ioFloats();
  auto PO = paramOffsets(LayerType::Attention, S);
  const float *P = Params[I];
  float *G = Grads[I];
  const float *Q = Inter, *K = Inter + N, *V = Inter + 2 * N,
              *O = Inter + 3 * N, *Pr = Inter + 4 * N;
  float *DO = Ws, *DQ = Ws + N, *DK = Ws + 2 * N, *DV = Ws + 3 * N;
  gemm(O, DY, G + PO[3], H, R, H, true, false, true);
  gemm(DY, P + PO[3], DO, R, H, H, false, true, false);
  note(cudaMemsetAsync(DQ, 0, 3 * N * 4, St), "cudaMemsetAsync");
  // The rows' Dots (Batch * Heads * Seq <= N floats, since Heads divides
  // Hidden) live in DX until DX is written below.
  note(cuda::launchAttnBackward(Q, K, V, Pr, DO, DQ, DK, DV, DX,
                                {S.Batch, S.Seq, S.Hidden, S.Heads}, dropOf(I),
                                St),
       "attnBackward");
  gemm(X, DQ, G + PO[0], H, R, H, true, false, true);
  gemm(X, DK, G + PO[1], H, R, H, true, false, true);
  gemm(X, DV, G + PO[2], H, R, H, true, false, true);
  copy(DX, DY, N);
  gemm(DQ, P + PO[0], DX, R, H, H, false, true, true);
  gemm(DK, P + PO[1], DX, R, H, H, false, true, true);
  gemm(DV, P + PO[2], DX, R, H, H, false, true, true);
}
} // namespace

bool deviceRealBuilt() { return true; }

Expected<std::unique_ptr<DeviceRealWorkload>>
createDeviceRealWorkload(RealNet &Net, Backend &Dev, bool RecordLoss) {
  cudaStream_t St = cudaBackendStream(Dev);
  if (!St)
    return createStringError(inconvertibleErrorCode(),
                             "--mode real on a device needs the cuda "
                             "backend, not '%s'",
                             Dev.name().str().c_str());
  if (Error E = checkDeviceShape(Net))
    return E;
  auto W = std::make_unique<CudaRealWorkload>(Net, St, RecordLoss);
  if (Error E = W->init())
    return E;
  return std::unique_ptr<DeviceRealWorkload>(std::move(W));
}

} // namespace remat::real

#endif // REMAT_HAVE_CUBLAS

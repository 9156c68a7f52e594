//===- runtime/cuda/CudaReal.cpp - Real layers on the CUDA backend --------===//
//
// The device real mode's operations on a GPU (RealDeviceOps; the layers'
// sequences of them are in runtime/RealDeviceWorkload.cpp): every matmul a
// cuBLAS SGEMM (FP32 math, no TF32), everything else a kernel of
// RealKernels.cu. All work is enqueued on the backend's stream, so the
// backend's event timers time it and its stream-ordered pool holds every
// activation, intermediate and scratch buffer (the executor allocates
// them). Parameters and gradients are plain cudaMalloc memory outside the
// pool, like the CPU's parameters outside the tracking allocator.
//
//===----------------------------------------------------------------------===//

#ifdef REMAT_HAVE_CUBLAS

#include "graph/Errors.h"
#include "runtime/RealDevice.h"
#include "runtime/cuda/CudaStream.h"
#include "runtime/cuda/RealKernels.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <fmt/format.h>

using namespace llvm;

namespace remat::real {

namespace {
/// cuBLAS's workspace, set explicitly so that it never allocates during a
/// run: 4 MiB.
constexpr size_t BlasWorkspaceBytes = size_t(4) << 20;

cuda::DropoutArgs argsOf(elem::Dropout D) { return {D.Seed, D.Stream, D.P}; }
cuda::AttnArgs argsOf(size_t Batch, elem::AttnDims D) {
  return {Batch, D.Seq, D.Hidden, D.Heads};
}

class CudaOps final : public RealDeviceOps {
public:
  explicit CudaOps(cudaStream_t St) : St(St) {}
  ~CudaOps() override {
    cudaStreamSynchronize(St);
    if (Blas)
      cublasDestroy(Blas);
    cudaFree(BlasWs);
  }
  Error init() {
    note(cublasCreate(&Blas), "cublasCreate");
    note(cublasSetStream(Blas, St), "cublasSetStream");
    // FP32 products and sums throughout (no TF32), like the CPU.
    note(cublasSetMathMode(Blas, CUBLAS_PEDANTIC_MATH), "cublasSetMathMode");
    note(cudaMalloc(&BlasWs, BlasWorkspaceBytes), "cudaMalloc");
    note(cublasSetWorkspace(Blas, BlasWs, BlasWorkspaceBytes),
         "cublasSetWorkspace");
    return takeError();
  }

  float *allocStatic(size_t Floats) override {
    void *P = nullptr;
    note(cudaMalloc(&P, std::max<size_t>(Floats, 1) * 4), "cudaMalloc");
    return static_cast<float *>(P);
  }
  void freeStatic(float *P) override { cudaFree(P); }
  void upload(float *Dst, ArrayRef<float> Host) override {
    note(cudaMemcpyAsync(Dst, Host.data(), Host.size() * 4,
                         cudaMemcpyHostToDevice, St),
         "cudaMemcpyAsync");
    // The host vector may go before the copy runs.
    note(cudaStreamSynchronize(St), "cudaStreamSynchronize");
  }
  void download(float *Host, const float *Src, size_t N) override {
    note(cudaMemcpyAsync(Host, Src, N * 4, cudaMemcpyDeviceToHost, St),
         "cudaMemcpyAsync");
    note(cudaStreamSynchronize(St), "cudaStreamSynchronize");
  }
  void copy(float *Dst, const float *Src, size_t N) override {
    note(cudaMemcpyAsync(Dst, Src, N * 4, cudaMemcpyDeviceToDevice, St),
         "cudaMemcpyAsync");
  }
  void zero(float *Dst, size_t N) override {
    note(cudaMemsetAsync(Dst, 0, N * 4, St), "cudaMemsetAsync");
  }
  void gemm(const float *A, const float *B, float *C, size_t M, size_t K,
            size_t N, bool TA, bool TB, bool Acc) override {
    ColMajorGemm G = toColMajor(M, K, N, TA, TB, Acc);
    const float One = 1;
    note(cublasSgemm(Blas, G.TransFirst ? CUBLAS_OP_T : CUBLAS_OP_N,
                     G.TransSecond ? CUBLAS_OP_T : CUBLAS_OP_N, G.Rows, G.Cols,
                     G.Inner, &One, B, G.LdFirst, A, G.LdSecond, &G.Beta, C,
                     G.LdC),
         "cublasSgemm");
  }
  void uniformFill(float *X, const float *In, size_t N, uint64_t Seed,
                   uint64_t Stream) override {
    note(cuda::launchUniformFill(X, In, N, Seed, Stream, St), "uniformFill");
  }
  void addBias(float *Y, const float *B, size_t Rows, size_t Cols) override {
    note(cuda::launchAddBias(Y, B, Rows, Cols, St), "addBias");
  }
  void addColSums(const float *D, size_t Rows, size_t Cols, float *G) override {
    note(cuda::launchAddColSums(D, Rows, Cols, G, St), "addColSums");
  }
  void geluDropout(const float *Pre, float *Y, size_t N,
                   elem::Dropout Drop) override {
    note(cuda::launchGeluDropout(Pre, Y, N, argsOf(Drop), St), "geluDropout");
  }
  void geluDropoutBackward(const float *DY, const float *Pre, float *D,
                           size_t N, elem::Dropout Drop) override {
    note(cuda::launchGeluDropoutBackward(DY, Pre, D, N, argsOf(Drop), St),
         "geluDropoutBackward");
  }
  void layerNormForward(const float *X, const float *G, const float *B,
                        float *Inter, float *Y, size_t Rows,
                        size_t H) override {
    note(cuda::launchLayerNormForward(X, G, B, Inter, Y, Rows, H, St),
         "layerNormForward");
  }
  void layerNormBackward(const float *X, const float *Inter, const float *DY,
                         const float *G, float *DX, float *GG, float *GB,
                         size_t Rows, size_t H) override {
    note(
        cuda::launchLayerNormBackward(X, Inter, DY, G, DX, GG, GB, Rows, H, St),
        "layerNormBackward");
  }
  void attnForward(const float *Q, const float *K, const float *V, float *P,
                   float *O, size_t Batch, elem::AttnDims D,
                   elem::Dropout Drop) override {
    note(cuda::launchAttnForward(Q, K, V, P, O, argsOf(Batch, D), argsOf(Drop),
                                 St),
         "attnForward");
  }
  void attnBackward(const float *Q, const float *K, const float *V,
                    const float *P, const float *DO, float *DQ, float *DK,
                    float *DV, float *Dots, size_t Batch, elem::AttnDims D,
                    elem::Dropout Drop) override {
    note(cuda::launchAttnBackward(Q, K, V, P, DO, DQ, DK, DV, Dots,
                                  argsOf(Batch, D), argsOf(Drop), St),
         "attnBackward");
  }
  Error takeError() override {
    note(cudaStreamSynchronize(St), "cudaStreamSynchronize");
    if (FirstError.empty())
      return Error::success();
    std::string Msg = "--device cuda --mode real: " + FirstError;
    FirstError.clear();
    return badInput("{}", Msg);
  }

private:
  void note(cudaError_t E, const char *What) {
    if (E != cudaSuccess && FirstError.empty())
      FirstError = fmt::format("{}: {}", What, cudaGetErrorString(E));
  }
  void note(cublasStatus_t S, const char *What) {
    if (S != CUBLAS_STATUS_SUCCESS && FirstError.empty())
      FirstError = fmt::format("{}: cuBLAS status {}", What, int(S));
  }

  cudaStream_t St;
  cublasHandle_t Blas = nullptr;
  void *BlasWs = nullptr;
  std::string FirstError;
};
} // namespace

bool deviceRealBuilt() { return true; }

Expected<std::unique_ptr<RealDeviceOps>> createCudaRealOps(Backend &Dev) {
  cudaStream_t St = cudaBackendStream(Dev);
  if (!St)
    return badInput("--mode real on a device needs the cuda "
                    "backend, not '{}'",
                    Dev.name().str());
  auto Ops = std::make_unique<CudaOps>(St);
  if (Error E = Ops->init())
    return E;
  return std::unique_ptr<RealDeviceOps>(std::move(Ops));
}

} // namespace remat::real

#endif // REMAT_HAVE_CUBLAS

//===- runtime/RealDevice.h - Real layers on a device backend ---*- C++ -*-===//
//
// Real mode on a backend whose memory the CPU cannot touch (CUDA): the same
// layers, shapes, parameters and counter-based dropout as the CPU real mode
// (runtime/RealModel.h), computed by device kernels and cuBLAS on the
// buffers the executor allocates from the backend's pool. The host side
// (this header) owns what can be checked without a device: where each
// layer's parameters, intermediates and scratch live, how a row-major GEMM
// maps onto column-major cuBLAS, and the checks that refuse a shape the
// device path cannot run bit-reproducibly.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_RUNTIME_REALDEVICE_H
#define REMAT_RUNTIME_REALDEVICE_H

#include "runtime/Backend.h"
#include "runtime/Executor.h"
#include "runtime/RealElement.h"
#include "runtime/RealModel.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <vector>

namespace remat::real {

/// Offsets (floats) of a layer's parameter blocks within its Params, in the
/// order RealLayers.cpp and RealAttention.cpp append them: Linear W, B;
/// LayerNorm G, B; MLP W1, B1, W2, B2; Attention Wq, Wk, Wv, Wo. The last
/// entry is the total.
llvm::SmallVector<size_t, 5> paramOffsets(LayerType T, const RealShape &S);

/// Offsets (floats) within a layer's intermediates (the part of x̄ between
/// the input copy and the output), as the layers lay them out:
/// LinearGelu {pre-activation}; LayerNorm {mean/rstd pairs}; MLP {H1, A1};
/// Attention {Q, K, V, O, P}; Linear none. The last entry is the total.
llvm::SmallVector<size_t, 6> interOffsets(LayerType T, const RealShape &S);

/// A row-major C[M x N] (+)= op(A) op(B) as one column-major GEMM (cuBLAS's
/// convention): since a row-major matrix is its transpose in column-major,
/// C^T = op(B)^T op(A)^T, so the first operand is B and the second A.
struct ColMajorGemm {
  /// Whether the first (B) and second (A) operands are transposed.
  bool TransFirst = false, TransSecond = false;
  /// Column-major sizes: C^T is Rows x Cols = N x M, inner dimension K.
  int Rows = 0, Cols = 0, Inner = 0;
  /// Leading dimensions of the first operand, the second and C.
  int LdFirst = 0, LdSecond = 0, LdC = 0;
  /// 1 to accumulate into C, else 0.
  float Beta = 0;
};

/// The column-major GEMM computing real::matmul(A, B, C, M, K, N, TransA,
/// TransB, Accumulate). Inline: runtime/cuda uses it and links nothing of
/// remat_runtime.
inline ColMajorGemm toColMajor(size_t M, size_t K, size_t N, bool TransA,
                               bool TransB, bool Accumulate) {
  // Row-major X (r x c) is column-major X^T. C^T = op(B)^T op(A)^T: the
  // stored B is op(B)^T itself unless TransB, and likewise A.
  ColMajorGemm G;
  G.TransFirst = TransB;
  G.TransSecond = TransA;
  G.Rows = int(N);
  G.Cols = int(M);
  G.Inner = int(K);
  G.LdFirst = int(TransB ? K : N);
  G.LdSecond = int(TransA ? M : K);
  G.LdC = int(N);
  G.Beta = Accumulate ? 1.0f : 0.0f;
  return G;
}

/// Checks that \p Net can run on a device: every GEMM size fits cuBLAS's
/// int, and every sub-buffer (intermediates, output, scratch) starts on a
/// 16-byte boundary relative to its buffer, so a recomputed forward (into
/// the workspace) and a recorded one (into x̄) hand cuBLAS operands of the
/// same alignment and get the same kernels. The error names the shape.
llvm::Error checkDeviceShape(const RealNet &Net);

/// The real net on a device: a chain workload (buffers are device memory)
/// plus what validation and profiling need from it.
class DeviceRealWorkload : public ChainWorkload {
public:
  /// Zeroes the device gradients.
  virtual llvm::Error zeroGrads() = 0;
  /// All parameter gradients, layer by layer (copied from the device).
  virtual llvm::Expected<std::vector<float>> gradients() = 0;
  /// y_0 from the last completed run (copied at finish()).
  virtual const std::vector<float> &inputGradient() const = 0;
  /// The loss 0.5 |x_L - t|^2 of the last run, summed in double on the
  /// host; NaN unless created with RecordLoss (the copy is then part of
  /// the loss op's time).
  virtual double lastLoss() const = 0;
  /// Stage \p I forward on device pointers: Y = f(X), intermediates in
  /// \p Inter (as x̄ lays them out). For profiling.
  virtual void forwardRaw(unsigned I, const float *X, float *Inter,
                          float *Y) = 0;
  /// Stage \p I backward on device pointers.
  virtual void backwardRaw(unsigned I, const float *X, const float *Inter,
                           const float *DY, float *DX, float *Ws) = 0;
  /// Copies \p Host to device memory at \p Dst (stream-ordered).
  virtual llvm::Error upload(float *Dst, llvm::ArrayRef<float> Host) = 0;
  /// The first device error seen (launch or cuBLAS), if any.
  virtual llvm::Error takeError() = 0;
};

/// The primitive operations of the device real mode, on device pointers:
/// cuBLAS and the kernels of runtime/cuda/RealKernels.cu on a GPU, or loops
/// over the kernels' thread indices on the host (createHostDeviceOps), so
/// that everything above them (the layers' sequences of operations, the
/// buffer offsets, the workload) runs and is tested on the CPU.
class RealDeviceOps {
public:
  virtual ~RealDeviceOps() = default;
  /// Device memory for \p Floats floats outside the backend's pool
  /// (parameters and gradients); null on failure (see takeError).
  virtual float *allocStatic(size_t Floats) = 0;
  virtual void freeStatic(float *P) = 0;
  virtual void upload(float *Dst, llvm::ArrayRef<float> Host) = 0;
  /// Copies \p Floats floats to the host and waits for them.
  virtual void download(float *Host, const float *Src, size_t Floats) = 0;
  virtual void copy(float *Dst, const float *Src, size_t Floats) = 0;
  virtual void zero(float *Dst, size_t Floats) = 0;
  /// real::matmul's contract, on the device.
  virtual void gemm(const float *A, const float *B, float *C, size_t M,
                    size_t K, size_t N, bool TransA, bool TransB,
                    bool Accumulate) = 0;
  /// X[i] = 2 uniform01(Seed, Stream, i) - 1, or In[i] minus that.
  virtual void uniformFill(float *X, const float *In, size_t N, uint64_t Seed,
                           uint64_t Stream) = 0;
  virtual void addBias(float *Y, const float *B, size_t Rows, size_t Cols) = 0;
  virtual void addColSums(const float *D, size_t Rows, size_t Cols,
                          float *G) = 0;
  virtual void geluDropout(const float *Pre, float *Y, size_t N,
                           elem::Dropout Drop) = 0;
  virtual void geluDropoutBackward(const float *DY, const float *Pre, float *D,
                                   size_t N, elem::Dropout Drop) = 0;
  virtual void layerNormForward(const float *X, const float *G, const float *B,
                                float *Inter, float *Y, size_t Rows,
                                size_t H) = 0;
  virtual void layerNormBackward(const float *X, const float *Inter,
                                 const float *DY, const float *G, float *DX,
                                 float *GG, float *GB, size_t Rows,
                                 size_t H) = 0;
  virtual void attnForward(const float *Q, const float *K, const float *V,
                           float *P, float *O, size_t Batch, elem::AttnDims D,
                           elem::Dropout Drop) = 0;
  /// Rows (Dots, dQ), then columns (dK, dV); Dots: Batch*Heads*Seq floats.
  virtual void attnBackward(const float *Q, const float *K, const float *V,
                            const float *P, const float *DO, float *DQ,
                            float *DK, float *DV, float *Dots, size_t Batch,
                            elem::AttnDims D, elem::Dropout Drop) = 0;
  /// Waits for queued work; the first error since the last call, if any.
  virtual llvm::Error takeError() = 0;
};

/// The host implementation of RealDeviceOps: plain memory, real::matmul for
/// GEMMs, and each kernel as a loop over its thread indices calling the same
/// element functions. With it, the device workload runs on the CPU backend.
std::unique_ptr<RealDeviceOps> createHostDeviceOps();

/// The device real-mode workload over \p Ops (parameters copied from
/// \p Net's layers): what runs on a GPU with the CUDA operations, and on
/// the CPU with createHostDeviceOps().
llvm::Expected<std::unique_ptr<DeviceRealWorkload>>
createOpsRealWorkload(RealNet &Net, std::unique_ptr<RealDeviceOps> Ops,
                      bool RecordLoss = false);

/// The device workload for \p Net on \p Dev (a CUDA backend); parameters
/// are copied from \p Net's layers. Fails when the build has no CUDA
/// backend or no cuBLAS, when \p Dev is not a CUDA backend, or when
/// checkDeviceShape refuses the net.
llvm::Expected<std::unique_ptr<DeviceRealWorkload>>
createDeviceRealWorkload(RealNet &Net, Backend &Dev, bool RecordLoss = false);

/// Whether this build can run real layers on CUDA (CUDA backend and
/// cuBLAS built).
bool deviceRealBuilt();

/// The CUDA operations (cuBLAS and runtime/cuda/RealKernels.cu) on \p Dev's
/// stream. Defined in runtime/cuda when the build has the CUDA backend and
/// cuBLAS, else a stub that says which is missing; runtime/cuda needs no
/// symbol of remat_runtime, so the two libraries form no cycle.
llvm::Expected<std::unique_ptr<RealDeviceOps>> createCudaRealOps(Backend &Dev);

} // namespace remat::real

#endif // REMAT_RUNTIME_REALDEVICE_H

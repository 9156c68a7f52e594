//===- runtime/cuda/RealKernels.cu - Kernels of the device real mode ------===//
//
// One thread per element, row or column; each calls the element math that
// the CPU real mode uses (runtime/RealElement.h) in the same loop order, so
// the only differences from the CPU are rounding (fused multiply-adds, the
// device's tanhf and expf). Nothing here depends on the launch
// configuration, so a recomputed forward gives the same bits.
//
//===----------------------------------------------------------------------===//

#include "RealKernels.h"

#include "runtime/RealElement.h"

namespace remat::cuda {

namespace el = remat::real::elem;

namespace {
constexpr unsigned Threads = 128;

unsigned blocksFor(size_t N) { return unsigned((N + Threads - 1) / Threads); }

__device__ size_t threadIndex() {
  return size_t(blockIdx.x) * blockDim.x + threadIdx.x;
}

el::Dropout dropOf(DropoutArgs D) { return el::Dropout{D.Seed, D.Stream, D.P}; }

el::AttnDims dimsOf(AttnArgs A) {
  return el::AttnDims{A.Seq, A.Hidden, A.Heads, A.Hidden / A.Heads};
}

__global__ void uniformFill(float *X, const float *In, size_t N, uint64_t Seed,
                            uint64_t Stream) {
  size_t I = threadIndex();
  if (I >= N)
    return;
  float U = 2 * el::uniform01(Seed, Stream, I) - 1;
  X[I] = In ? In[I] - U : U;
}

__global__ void addBias(float *Y, const float *B, size_t Rows, size_t Cols) {
  size_t I = threadIndex();
  if (I < Rows * Cols)
    Y[I] += B[I % Cols];
}

__global__ void addColSums(const float *D, size_t Rows, size_t Cols, float *G) {
  size_t C = threadIndex();
  if (C >= Cols)
    return;
  float Acc = G[C];
  for (size_t R = 0; R < Rows; ++R)
    Acc += D[R * Cols + C];
  G[C] = Acc;
}

__global__ void geluDropout(const float *Pre, float *Y, size_t N,
                            el::Dropout Drop) {
  size_t I = threadIndex();
  if (I < N)
    Y[I] = el::gelu(Pre[I]) * Drop(I);
}

__global__ void geluDropoutBackward(const float *DY, const float *Pre, float *D,
                                    size_t N, el::Dropout Drop) {
  size_t I = threadIndex();
  if (I < N)
    D[I] = DY[I] * (Drop(I) * el::geluGrad(Pre[I]));
}

__global__ void layerNormForward(const float *X, const float *G, const float *B,
                                 float *Inter, float *Y, size_t Rows,
                                 size_t H) {
  size_t R = threadIndex();
  if (R >= Rows)
    return;
  float Mean, RStd;
  el::layerNormStats(X + R * H, H, Mean, RStd);
  Inter[2 * R] = Mean;
  Inter[2 * R + 1] = RStd;
  el::layerNormRow(X + R * H, H, Mean, RStd, G, B, Y + R * H);
}

__global__ void layerNormBackwardRows(const float *X, const float *Inter,
                                      const float *DY, const float *G,
                                      float *DX, size_t Rows, size_t H) {
  size_t R = threadIndex();
  if (R < Rows)
    el::layerNormRowBackward(X + R * H, DY + R * H, H, Inter[2 * R],
                             Inter[2 * R + 1], G, DX + R * H);
}

__global__ void layerNormBackwardCols(const float *X, const float *Inter,
                                      const float *DY, float *GG, float *GB,
                                      size_t Rows, size_t H) {
  size_t C = threadIndex();
  if (C >= H)
    return;
  float AccG = GG[C], AccB = GB[C];
  for (size_t R = 0; R < Rows; ++R) {
    float XHat = (X[R * H + C] - Inter[2 * R]) * Inter[2 * R + 1];
    AccG += DY[R * H + C] * XHat;
    AccB += DY[R * H + C];
  }
  GG[C] = AccG;
  GB[C] = AccB;
}

__global__ void attnForward(const float *Q, const float *K, const float *V,
                            float *P, float *O, size_t Batch, el::AttnDims D,
                            el::Dropout Drop) {
  size_t T = threadIndex();
  if (T >= Batch * D.Heads * D.Seq)
    return;
  size_t I = T % D.Seq, Hd = T / D.Seq % D.Heads, B = T / D.Seq / D.Heads;
  el::attnRowForward(D, B, Hd, I, Q, K, V, P, O, Drop);
}

__global__ void attnBackwardRows(const float *Q, const float *K, const float *V,
                                 const float *P, const float *DO, float *DQ,
                                 float *Dots, size_t Batch, el::AttnDims D,
                                 el::Dropout Drop) {
  size_t T = threadIndex();
  if (T >= Batch * D.Heads * D.Seq)
    return;
  size_t I = T % D.Seq, Hd = T / D.Seq % D.Heads, B = T / D.Seq / D.Heads;
  el::attnRowBackward(D, B, Hd, I, Q, K, V, P, DO, DQ, Dots + T, Drop);
}

__global__ void attnBackwardCols(const float *Q, const float *V, const float *P,
                                 const float *DO, const float *Dots, float *DK,
                                 float *DV, size_t Batch, el::AttnDims D,
                                 el::Dropout Drop) {
  size_t T = threadIndex();
  if (T >= Batch * D.Heads * D.Seq)
    return;
  size_t J = T % D.Seq, Hd = T / D.Seq % D.Heads, B = T / D.Seq / D.Heads;
  el::attnColBackward(D, B, Hd, J, Q, V, P, DO, Dots, DK, DV, Drop);
}
} // namespace

cudaError_t launchUniformFill(float *X, const float *In, size_t N,
                              uint64_t Seed, uint64_t Stream, cudaStream_t St) {
  uniformFill<<<blocksFor(N), Threads, 0, St>>>(X, In, N, Seed, Stream);
  return cudaGetLastError();
}

cudaError_t launchAddBias(float *Y, const float *B, size_t Rows, size_t Cols,
                          cudaStream_t St) {
  addBias<<<blocksFor(Rows * Cols), Threads, 0, St>>>(Y, B, Rows, Cols);
  return cudaGetLastError();
}

cudaError_t launchAddColSums(const float *D, size_t Rows, size_t Cols, float *G,
                             cudaStream_t St) {
  addColSums<<<blocksFor(Cols), Threads, 0, St>>>(D, Rows, Cols, G);
  return cudaGetLastError();
}

cudaError_t launchGeluDropout(const float *Pre, float *Y, size_t N,
                              DropoutArgs Drop, cudaStream_t St) {
  geluDropout<<<blocksFor(N), Threads, 0, St>>>(Pre, Y, N, dropOf(Drop));
  return cudaGetLastError();
}

cudaError_t launchGeluDropoutBackward(const float *DY, const float *Pre,
                                      float *D, size_t N, DropoutArgs Drop,
                                      cudaStream_t St) {
  geluDropoutBackward<<<blocksFor(N), Threads, 0, St>>>(DY, Pre, D, N,
                                                        dropOf(Drop));
  return cudaGetLastError();
}

cudaError_t launchLayerNormForward(const float *X, const float *G,
                                   const float *B, float *Inter, float *Y,
                                   size_t Rows, size_t H, cudaStream_t St) {
  layerNormForward<<<blocksFor(Rows), Threads, 0, St>>>(X, G, B, Inter, Y, Rows,
                                                        H);
  return cudaGetLastError();
}

cudaError_t launchLayerNormBackward(const float *X, const float *Inter,
                                    const float *DY, const float *G, float *DX,
                                    float *GG, float *GB, size_t Rows, size_t H,
                                    cudaStream_t St) {
  layerNormBackwardCols<<<blocksFor(H), Threads, 0, St>>>(X, Inter, DY, GG, GB,
                                                          Rows, H);
  layerNormBackwardRows<<<blocksFor(Rows), Threads, 0, St>>>(X, Inter, DY, G,
                                                             DX, Rows, H);
  return cudaGetLastError();
}

cudaError_t launchAttnForward(const float *Q, const float *K, const float *V,
                              float *P, float *O, AttnArgs A, DropoutArgs Drop,
                              cudaStream_t St) {
  size_t Rows = A.Batch * A.Heads * A.Seq;
  attnForward<<<blocksFor(Rows), Threads, 0, St>>>(Q, K, V, P, O, A.Batch,
                                                   dimsOf(A), dropOf(Drop));
  return cudaGetLastError();
}

cudaError_t launchAttnBackward(const float *Q, const float *K, const float *V,
                               const float *P, const float *DO, float *DQ,
                               float *DK, float *DV, float *Dots, AttnArgs A,
                               DropoutArgs Drop, cudaStream_t St) {
  size_t Rows = A.Batch * A.Heads * A.Seq;
  attnBackwardRows<<<blocksFor(Rows), Threads, 0, St>>>(
      Q, K, V, P, DO, DQ, Dots, A.Batch, dimsOf(A), dropOf(Drop));
  attnBackwardCols<<<blocksFor(Rows), Threads, 0, St>>>(
      Q, V, P, DO, Dots, DK, DV, A.Batch, dimsOf(A), dropOf(Drop));
  return cudaGetLastError();
}

} // namespace remat::cuda

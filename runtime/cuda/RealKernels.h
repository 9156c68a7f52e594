//===- runtime/cuda/RealKernels.h - Kernels of the device real mode -*- C++
//-*-===//
//
// Launchers of the element-wise and per-row kernels of the real layers on
// the GPU (runtime/cuda/RealKernels.cu); the GEMMs go through cuBLAS in
// CudaReal.cpp. Each kernel runs one thread per element, row or column and
// calls the shared element math of runtime/RealElement.h, in the CPU real
// mode's loop order. Every launcher enqueues on \p St and returns the launch
// error, if any.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_RUNTIME_CUDA_REALKERNELS_H
#define REMAT_RUNTIME_CUDA_REALKERNELS_H

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace remat::cuda {

/// Dropout of one stream: seed, stream number and probability.
struct DropoutArgs {
  uint64_t Seed = 0, Stream = 0;
  float P = 0;
};

/// Attention sizes.
struct AttnArgs {
  size_t Batch = 0, Seq = 0, Hidden = 0, Heads = 0;
};

/// X[i] = 2 * uniform01(Seed, Stream, i) - 1 (the input x_0); with \p Minus
/// set, X[i] = In[i] - that (the loss's y_L = x_L - t).
cudaError_t launchUniformFill(float *X, const float *In, size_t N,
                              uint64_t Seed, uint64_t Stream, cudaStream_t St);
/// Y[r, c] += B[c].
cudaError_t launchAddBias(float *Y, const float *B, size_t Rows, size_t Cols,
                          cudaStream_t St);
/// G[c] += sum over rows of D[r, c], rows in order.
cudaError_t launchAddColSums(const float *D, size_t Rows, size_t Cols, float *G,
                             cudaStream_t St);
/// Y[i] = gelu(Pre[i]) * dropout(i) (P = 0: no dropout).
cudaError_t launchGeluDropout(const float *Pre, float *Y, size_t N,
                              DropoutArgs Drop, cudaStream_t St);
/// D[i] = DY[i] * (dropout(i) * geluGrad(Pre[i])) (P = 0: DY * geluGrad);
/// D may be DY.
cudaError_t launchGeluDropoutBackward(const float *DY, const float *Pre,
                                      float *D, size_t N, DropoutArgs Drop,
                                      cudaStream_t St);
/// Layer norm of each row: Inter gets (mean, rstd) pairs, Y the output.
cudaError_t launchLayerNormForward(const float *X, const float *G,
                                   const float *B, float *Inter, float *Y,
                                   size_t Rows, size_t H, cudaStream_t St);
/// Layer norm backward: DX per row, and the gain and bias gradients (GG,
/// GB) summed over rows in order.
cudaError_t launchLayerNormBackward(const float *X, const float *Inter,
                                    const float *DY, const float *G, float *DX,
                                    float *GG, float *GB, size_t Rows, size_t H,
                                    cudaStream_t St);
/// Per (batch, head, row): causal softmax of the scores into P and the
/// dropped-out probabilities times V into O.
cudaError_t launchAttnForward(const float *Q, const float *K, const float *V,
                              float *P, float *O, AttnArgs A, DropoutArgs Drop,
                              cudaStream_t St);
/// Attention backward from dO: per row, Dots and dQ (+=); then per column,
/// dK and dV (+=). \p Dots holds Batch * Heads * Seq floats.
cudaError_t launchAttnBackward(const float *Q, const float *K, const float *V,
                               const float *P, const float *DO, float *DQ,
                               float *DK, float *DV, float *Dots, AttnArgs A,
                               DropoutArgs Drop, cudaStream_t St);

} // namespace remat::cuda

#endif // REMAT_RUNTIME_CUDA_REALKERNELS_H

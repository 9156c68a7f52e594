//===- runtime/cuda/CudaKernels.h - Kernels of the CUDA backend -*- C++ -*-===//
//
// The only interface between nvcc-compiled code and the rest of the
// project: plain launchers on a stream. Kept free of project headers so the
// .cu files need nothing but the CUDA runtime.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_RUNTIME_CUDA_CUDAKERNELS_H
#define REMAT_RUNTIME_CUDA_CUDAKERNELS_H

#include <cuda_runtime_api.h>

#include <cstdint>

namespace remat::cuda {

/// Enqueues on \p Stream a one-warp kernel that writes \p Buf (up to its
/// first 64 KiB, one byte per 64) and spins on the %globaltimer register
/// until \p Micros microseconds have passed since it started. Returns the
/// launch error, if any.
cudaError_t launchBusy(void *Buf, uint64_t Bytes, double Micros,
                       cudaStream_t Stream);

} // namespace remat::cuda

#endif // REMAT_RUNTIME_CUDA_CUDAKERNELS_H

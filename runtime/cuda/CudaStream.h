//===- runtime/cuda/CudaStream.h - The CUDA backend's stream ----*- C++ -*-===//
//
// For code that enqueues its own work on the CUDA backend's stream (the
// device real mode), so that the backend's event timers and its
// stream-ordered pool see that work in order.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_RUNTIME_CUDA_CUDASTREAM_H
#define REMAT_RUNTIME_CUDA_CUDASTREAM_H

#include <cuda_runtime_api.h>

namespace remat {

class Backend;

/// The stream of \p B when it is the CUDA backend, else null.
cudaStream_t cudaBackendStream(Backend &B);

} // namespace remat

#endif // REMAT_RUNTIME_CUDA_CUDASTREAM_H

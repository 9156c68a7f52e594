//===- runtime/cuda/BusyKernel.cu - The synthetic op's kernel -------------===//

#include "CudaKernels.h"

namespace remat::cuda {

namespace {
__device__ unsigned long long globalTimerNs() {
  unsigned long long T;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(T));
  return T;
}

// Calibrated by the device clock itself: the op lasts exactly as long as the
// model says (scaled), whatever the GPU's speed, and its buffer is written so
// the allocation is really used.
__global__ void busyKernel(unsigned char *Buf, unsigned long long Span,
                           unsigned long long Ns) {
  unsigned long long Start = globalTimerNs();
  unsigned long long Stride = 64ull * blockDim.x;
  unsigned long long At = 64ull * threadIdx.x;
  unsigned char V = 0;
  do {
    if (Span) {
      if (At >= Span)
        At = (64ull * threadIdx.x) % Span;
      Buf[At] = V++;
      At += Stride;
    }
  } while (globalTimerNs() - Start < Ns);
}
} // namespace

cudaError_t launchBusy(void *Buf, uint64_t Bytes, double Micros,
                       cudaStream_t Stream) {
  unsigned long long Span = Bytes < 65536 ? Bytes : 65536;
  unsigned long long Ns =
      Micros > 0 ? static_cast<unsigned long long>(Micros * 1000.0) : 0;
  busyKernel<<<1, 32, 0, Stream>>>(static_cast<unsigned char *>(Buf), Span, Ns);
  return cudaGetLastError();
}

} // namespace remat::cuda

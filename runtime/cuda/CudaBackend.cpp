//===- runtime/cuda/CudaBackend.cpp - The CUDA backend --------------------===//
//
// Device memory comes from a private stream-ordered pool (cudaMallocAsync
// semantics), so the pool's used-memory high-water mark is the device's view
// of the run's peak, next to the tracking allocator's exact count. Ops are
// timed with CUDA events on the backend's stream.
//
//===----------------------------------------------------------------------===//

#include "runtime/Backend.h"

#include "graph/Errors.h"
#include "runtime/cuda/CudaKernels.h"
#include "runtime/cuda/CudaStream.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <fmt/format.h>

using namespace llvm;

namespace remat {

namespace {
Error cudaFail(const char *What, cudaError_t Code) {
  return badInput("cuda: {} failed: {}", What, cudaGetErrorString(Code));
}

class CudaBackend final : public Backend {
public:
  ~CudaBackend() override {
    cudaStreamSynchronize(Stream);
    cudaEventDestroy(Start);
    cudaEventDestroy(End);
    cudaMemPoolDestroy(Pool);
    cudaStreamDestroy(Stream);
  }

  static Expected<std::unique_ptr<Backend>> create();

  StringRef name() const override { return "cuda"; }
  std::string description() const override { return Description; }
  bool hostAccessible() const override { return false; }

  Expected<void *> allocate(uint64_t Bytes) override {
    void *P = nullptr;
    if (cudaError_t E = cudaMallocFromPoolAsync(&P, Bytes, Pool, Stream))
      return cudaFail("cudaMallocFromPoolAsync", E);
    noteFreeMemory();
    return P;
  }
  void release(void *Ptr, uint64_t) override { cudaFreeAsync(Ptr, Stream); }

  void busy(void *Buf, uint64_t Bytes, double Micros) override {
    cuda::launchBusy(Buf, Bytes, Micros, Stream);
  }
  void startTimer() override { cudaEventRecord(Start, Stream); }
  double stopTimer() override {
    cudaEventRecord(End, Stream);
    cudaEventSynchronize(End);
    float Ms = 0;
    cudaEventElapsedTime(&Ms, Start, End);
    return double(Ms) * 1000.0;
  }
  void synchronize() override { cudaStreamSynchronize(Stream); }
  cudaStream_t stream() const { return Stream; }

  void resetMemStats() override {
    uint64_t Zero = 0;
    cudaMemPoolSetAttribute(Pool, cudaMemPoolAttrUsedMemHigh, &Zero);
    cudaMemPoolSetAttribute(Pool, cudaMemPoolAttrReservedMemHigh, &Zero);
    size_t Free = 0, Total = 0;
    cudaMemGetInfo(&Free, &Total);
    FreeAtReset = Free;
    MaxDrop = 0;
  }
  DeviceMemStats memStats() override {
    DeviceMemStats S;
    S.Available = true;
    uint64_t Used = 0, Reserved = 0;
    cudaMemPoolGetAttribute(Pool, cudaMemPoolAttrUsedMemHigh, &Used);
    cudaMemPoolGetAttribute(Pool, cudaMemPoolAttrReservedMemHigh, &Reserved);
    S.PoolUsedHighBytes = Used;
    S.PoolReservedHighBytes = Reserved;
    S.MemGetInfoDeltaBytes = MaxDrop;
    return S;
  }

private:
  CudaBackend() = default;

  // cudaMemGetInfo sees what the pool reserved from the driver; the largest
  // drop below the free memory at reset is the coarse device-side peak.
  void noteFreeMemory() {
    size_t Free = 0, Total = 0;
    if (cudaMemGetInfo(&Free, &Total) != cudaSuccess)
      return;
    MaxDrop = std::max<int64_t>(MaxDrop, int64_t(FreeAtReset) - int64_t(Free));
  }

  cudaStream_t Stream = nullptr;
  cudaMemPool_t Pool = nullptr;
  cudaEvent_t Start = nullptr, End = nullptr;
  std::string Description;
  size_t FreeAtReset = 0;
  int64_t MaxDrop = 0;
};

Expected<std::unique_ptr<Backend>> CudaBackend::create() {
  int Count = 0;
  cudaError_t E = cudaGetDeviceCount(&Count);
  if (E != cudaSuccess || Count == 0)
    return badInput("--device cuda: no CUDA device is present ({})",
                    E != cudaSuccess ? cudaGetErrorString(E) : "0 devices");
  if ((E = cudaSetDevice(0)))
    return cudaFail("cudaSetDevice", E);
  std::unique_ptr<CudaBackend> B(new CudaBackend());
  cudaDeviceProp Prop;
  if ((E = cudaGetDeviceProperties(&Prop, 0)))
    return cudaFail("cudaGetDeviceProperties", E);
  B->Description = fmt::format("CUDA device 0: {} ({:.1f} GiB)", Prop.name,
                               double(Prop.totalGlobalMem) / (1 << 30));
  if ((E = cudaStreamCreateWithFlags(&B->Stream, cudaStreamNonBlocking)))
    return cudaFail("cudaStreamCreate", E);
  cudaMemPoolProps Props = {};
  Props.allocType = cudaMemAllocationTypePinned;
  Props.location.type = cudaMemLocationTypeDevice;
  Props.location.id = 0;
  if ((E = cudaMemPoolCreate(&B->Pool, &Props)))
    return cudaFail("cudaMemPoolCreate", E);
  if ((E = cudaEventCreate(&B->Start)) || (E = cudaEventCreate(&B->End)))
    return cudaFail("cudaEventCreate", E);
  return std::unique_ptr<Backend>(std::move(B));
}
} // namespace

bool cudaBackendBuilt() { return true; }

cudaStream_t cudaBackendStream(Backend &B) {
  // No RTTI in this project: the name identifies the one CUDA backend class.
  return B.name() == "cuda" ? static_cast<CudaBackend &>(B).stream() : nullptr;
}

Expected<std::unique_ptr<Backend>> createCudaBackend() {
  return CudaBackend::create();
}

} // namespace remat

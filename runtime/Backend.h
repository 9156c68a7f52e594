//===- runtime/Backend.h - Where the executor's buffers and kernels live -*- C++
//-*-===//
//
// A backend owns device memory and runs kernels. The executor never touches
// memory except through a backend (via the TrackingAllocator, which counts
// every byte) and times every op with the backend's own clock: a steady clock
// on the CPU, CUDA events on a GPU.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_RUNTIME_BACKEND_H
#define REMAT_RUNTIME_BACKEND_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>

namespace remat {

/// The device's own view of memory, next to the tracking allocator's exact
/// count. Only the CUDA backend fills it.
struct DeviceMemStats {
  /// False when the backend has no device view (the CPU).
  bool Available = false;
  /// High-water mark of bytes in use in the stream-ordered pool
  /// (cudaMemPoolAttrUsedMemHigh), reset at resetMemStats().
  uint64_t PoolUsedHighBytes = 0;
  /// High-water mark of bytes the pool reserved from the driver
  /// (cudaMemPoolAttrReservedMemHigh).
  uint64_t PoolReservedHighBytes = 0;
  /// Largest drop of free device memory (cudaMemGetInfo) seen after an
  /// allocation, relative to resetMemStats(); coarse (driver granularity).
  int64_t MemGetInfoDeltaBytes = 0;
};

/// A device: allocation, a busy kernel for synthetic ops, op timers and
/// memory statistics. One backend serves one run at a time.
class Backend {
public:
  virtual ~Backend() = default;
  /// "cpu" or "cuda".
  virtual llvm::StringRef name() const = 0;
  /// A one-line description of the device, for reports.
  virtual std::string description() const = 0;
  /// Whether buffers are host memory the CPU may read and write (real mode
  /// needs this).
  virtual bool hostAccessible() const = 0;
  /// Allocates \p Bytes (> 0) bytes; fails when the device is out of memory.
  virtual llvm::Expected<void *> allocate(uint64_t Bytes) = 0;
  /// Frees a pointer returned by allocate().
  virtual void release(void *Ptr) = 0;
  /// Runs a kernel that writes into \p Buf (\p Bytes long, may be null when
  /// 0) and keeps the device busy for \p Micros microseconds of wall time.
  virtual void busy(void *Buf, uint64_t Bytes, double Micros) = 0;
  /// Starts timing one op.
  virtual void startTimer() = 0;
  /// Ends the op started by startTimer(); returns its time in microseconds.
  virtual double stopTimer() = 0;
  /// Waits until all queued work is done.
  virtual void synchronize() {}
  /// Resets the device-side high-water marks before a run.
  virtual void resetMemStats() {}
  /// The device-side memory view since the last resetMemStats().
  virtual DeviceMemStats memStats() { return {}; }
};

/// Which clock the CPU backend times ops and busy deadlines with.
enum class CpuClock : uint8_t {
  /// std::chrono::steady_clock: wall time; on a loaded machine, time spent
  /// descheduled counts.
  Steady,
  /// The calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID): robust on
  /// shared machines, since only time the thread really ran counts.
  Thread,
};

/// The CPU backend: 64-byte aligned heap memory, op timers on \p Clock and
/// a busy loop that writes its buffer until its deadline on that clock.
std::unique_ptr<Backend> createCpuBackend(CpuClock Clock = CpuClock::Steady);

/// Whether this build contains the CUDA backend.
bool cudaBackendBuilt();

/// The CUDA backend on device 0. Fails with a one-line message when the
/// build has no CUDA backend or no GPU is present.
llvm::Expected<std::unique_ptr<Backend>> createCudaBackend();

/// "cpu" -> createCpuBackend(\p Clock), "cuda" -> createCudaBackend(); any
/// other name is an error naming it.
llvm::Expected<std::unique_ptr<Backend>>
createBackend(llvm::StringRef Device, CpuClock Clock = CpuClock::Steady);

} // namespace remat

#endif // REMAT_RUNTIME_BACKEND_H

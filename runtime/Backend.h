//===- runtime/Backend.h - Buffers and kernels ------------------*- C++ -*-===//
//
// A backend owns device memory and runs kernels. The executor never touches
// memory except through a backend (via the TrackingAllocator, which counts
// every byte) and times every op with the backend's own clock: a steady clock
// on the CPU, CUDA events on a GPU. The CPU backend also meters host memory
// with glibc's own statistics, independently of the tracking allocator.
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

/// An independent view of host memory: what the C library's allocator says
/// is in use (glibc mallinfo2(): uordblks + hblkhd, i.e. heap chunks in use
/// and mmapped chunks), sampled right after every allocation (the only
/// moments the in-use figure can reach a new high), relative to a baseline
/// taken at resetMemStats(). Neither the executor nor the tracking allocator
/// computes it; docs/runtime.md derives the allowance.
struct HostMeterStats {
  /// False when the backend has no meter (CUDA, or no glibc).
  bool Available = false;
  /// Largest in-use increase over the baseline seen in a sample, bytes.
  int64_t PeakBytes = 0;
  /// Smallest in-use change over the baseline seen in a sample, bytes (a
  /// sample below zero means memory held before the run was released).
  int64_t LowBytes = 0;
  /// The allocator-rounding allowance at the peak sample: the bound on
  /// (in-use - requested bytes) for the buffers the backend held from the
  /// allocator then, plus the fixed term (docs/runtime.md).
  uint64_t AllowanceBytes = 0;
  /// Samples taken.
  uint64_t Samples = 0;
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
  /// Frees a pointer returned by allocate(\p Bytes).
  virtual void release(void *Ptr, uint64_t Bytes) = 0;
  /// Runs a kernel that writes into \p Buf (\p Bytes long, may be null when
  /// 0) and keeps the device busy for \p Micros microseconds of wall time.
  virtual void busy(void *Buf, uint64_t Bytes, double Micros) = 0;
  /// Starts timing one op.
  virtual void startTimer() = 0;
  /// Ends the op started by startTimer(); returns its time in microseconds.
  virtual double stopTimer() = 0;
  /// Waits until all queued work is done.
  virtual void synchronize() {}
  /// Resets the device-side high-water marks (and the host meter's
  /// baseline) before a run.
  virtual void resetMemStats() {}
  /// The device-side memory view since the last resetMemStats().
  virtual DeviceMemStats memStats() { return {}; }
  /// The host meter since the last resetMemStats().
  virtual HostMeterStats hostMeter() { return {}; }
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

/// Test-only faults of the CPU backend, injected below the tracking
/// allocator: the executor's bookkeeping still sees every release, only the
/// C library (and so the host meter) does not. Negative controls for the
/// meter.
enum class CpuFaultKind : uint8_t {
  None,
  /// The chosen release reaches the allocator one op late: when the next
  /// op's timer stops (after that op's allocations).
  LateFree,
  /// The chosen release never reaches the allocator during the run (the
  /// buffer is freed when the backend is destroyed).
  Leak,
};

struct CpuFault {
  CpuFaultKind Kind = CpuFaultKind::None;
  /// Which release() since the last resetMemStats() is hit, from 0.
  uint64_t Release = 0;
};

struct CpuBackendOptions {
  CpuClock Clock = CpuClock::Steady;
  /// Write one byte in every 4 KiB page of a new buffer (outside the op
  /// timers), so its memory really exists.
  bool TouchPages = true;
  /// Test-only fault (negative controls); none by default.
  CpuFault Fault;
};

/// The CPU backend: 64-byte aligned heap memory (requests under 1040 bytes
/// are made as 1040, so freed buffers skip glibc's per-thread cache, which
/// mallinfo2 counts as in use), every page touched, the host meter, op timers
/// on the chosen clock and a busy loop that writes its buffer until its
/// deadline on that clock.
std::unique_ptr<Backend> createCpuBackend(const CpuBackendOptions &O);
/// As above with default options and \p Clock.
std::unique_ptr<Backend> createCpuBackend(CpuClock Clock = CpuClock::Steady);

/// Whether this process can meter host memory: glibc 2.33 or later, and
/// glibc's counters see the process's allocations (not so under
/// AddressSanitizer, which replaces malloc; validation then judges the
/// tracking allocator's bookkeeping and says so).
bool hostMeterBuilt();

/// The CPU backend's smallest request to the C library, bytes. glibc's
/// per-thread cache keeps freed chunks of requests up to 1032 bytes, and
/// mallinfo2 counts them as in use; larger chunks go back to its bins.
constexpr uint64_t MinRequestBytes = 1040;
/// glibc's default (and least) mmap threshold, bytes: smaller requests are
/// always heap chunks.
constexpr uint64_t MmapThresholdBytes = 128 * 1024;
/// Bound on (heap chunk - request) for a 64-byte aligned request: 8 bytes
/// of header + rounding up to 16 (15) + a tail that memalign does not split
/// off (at most MINSIZE 32 + 16) = 71, rounded up.
constexpr uint64_t HeapChunkSlackBytes = 128;
/// Bound on (mapping - request) for an mmapped chunk: memalign's room for
/// the alignment (64 + MINSIZE 32 + header 16 = 112) + rounding the mapping
/// up to a 4 KiB page (4095) = 4207, rounded up.
constexpr uint64_t MmapChunkSlackBytes = 4352;
/// Fixed part of the meter's allowance, bytes: the pieces memalign gives
/// back (under 112 bytes each) land in glibc's per-thread cache, at most 7
/// per size class in 6 classes (32..112): 7 x (32+48+64+80+96+112) = 3024;
/// plus 5168 for small allocations of the executor itself during a run (it
/// makes none by design).
constexpr uint64_t HostMeterFixedSlackBytes = 8192;
/// The meter's allowance for one live buffer of \p Bytes: (request -
/// Bytes) + HeapChunkSlackBytes below the mmap threshold, else
/// MmapChunkSlackBytes.
uint64_t hostSlackBound(uint64_t Bytes);

/// Whether this build contains the CUDA backend.
bool cudaBackendBuilt();

/// The CUDA backend on device 0. Fails with a one-line message when the
/// build has no CUDA backend or no GPU is present.
llvm::Expected<std::unique_ptr<Backend>> createCudaBackend();

/// "cpu" -> createCpuBackend(\p Cpu), "cuda" -> createCudaBackend(); any
/// other name is an error naming it.
llvm::Expected<std::unique_ptr<Backend>>
createBackend(llvm::StringRef Device, const CpuBackendOptions &Cpu = {});

} // namespace remat

#endif // REMAT_RUNTIME_BACKEND_H

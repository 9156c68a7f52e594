//===- runtime/TrackingAllocator.h - Exact live and peak bytes --*- C++ -*-===//
//
// Every tensor the executor creates goes through one TrackingAllocator, owned
// by the run. It counts the exact bytes requested (not what the device rounds
// them up to), so its peak is in the accounting of spec §3 and can be
// compared with the simulator's exactly.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_RUNTIME_TRACKINGALLOCATOR_H
#define REMAT_RUNTIME_TRACKINGALLOCATOR_H

#include "runtime/Backend.h"

#include "llvm/Support/Error.h"

#include <cstdint>

namespace remat {

/// A buffer from the tracking allocator. Zero-byte buffers have no storage.
struct Buffer {
  void *Data = nullptr;
  uint64_t Bytes = 0;

  float *floats() const { return static_cast<float *>(Data); }
};

class TrackingAllocator {
public:
  explicit TrackingAllocator(Backend &B) : Dev(B) {}
  TrackingAllocator(const TrackingAllocator &) = delete;
  TrackingAllocator &operator=(const TrackingAllocator &) = delete;
  /// Live buffers must have been released; a leak is a bug in the caller.
  ~TrackingAllocator() = default;

  /// Allocates \p Bytes and counts them; 0 bytes gives an empty buffer.
  llvm::Expected<Buffer> allocate(uint64_t Bytes);
  /// Releases \p B (which becomes empty) and uncounts its bytes.
  void release(Buffer &B);

  /// Bytes currently allocated and not released.
  uint64_t liveBytes() const { return Live; }
  /// Largest liveBytes() seen so far.
  uint64_t peakBytes() const { return Peak; }
  /// Number of non-empty allocations so far.
  uint64_t allocations() const { return Count; }

private:
  Backend &Dev;
  uint64_t Live = 0;
  uint64_t Peak = 0;
  uint64_t Count = 0;
};

} // namespace remat

#endif // REMAT_RUNTIME_TRACKINGALLOCATOR_H

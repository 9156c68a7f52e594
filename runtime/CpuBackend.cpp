//===- runtime/CpuBackend.cpp - The always-built CPU backend --------------===//
//
// Host buffers from the C library's heap, every page touched, and a host
// meter that reads glibc's own in-use counters after every allocation. The
// rounding allowance (hostSlackBound) is derived in docs/runtime.md.
//
//===----------------------------------------------------------------------===//

#include "graph/Errors.h"
#include "runtime/Backend.h"

#include <algorithm>
#include <chrono>
#include <new>
#include <time.h>
#include <vector>

#if defined(__GLIBC__) &&                                                      \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define REMAT_HAVE_MALLINFO2 1
#else
#define REMAT_HAVE_MALLINFO2 0
#endif

using namespace llvm;

namespace remat {

namespace {
/// Microseconds on the chosen clock, from an arbitrary origin.
double nowMicros(CpuClock C) {
  if (C == CpuClock::Thread) {
    timespec T;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &T);
    return double(T.tv_sec) * 1e6 + double(T.tv_nsec) / 1e3;
  }
  return std::chrono::duration<double, std::micro>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Bytes the C library says are in use: heap chunks in use plus mmapped
/// chunks (glibc's own counters); 0 without glibc 2.33.
uint64_t heapInUse() {
#if REMAT_HAVE_MALLINFO2
  struct mallinfo2 M = mallinfo2();
  return uint64_t(M.uordblks) + uint64_t(M.hblkhd);
#else
  return 0;
#endif
}

class CpuBackend final : public Backend {
public:
  explicit CpuBackend(const CpuBackendOptions &O) : Opt(O) {
    Late.reserve(64);
    Leaked.reserve(64);
  }
  ~CpuBackend() override { returnHeld(); }
  StringRef name() const override { return "cpu"; }
  std::string description() const override {
    return Opt.Clock == CpuClock::Thread
               ? "CPU (host heap, thread CPU-time timers)"
               : "CPU (host heap, steady-clock timers)";
  }
  bool hostAccessible() const override { return true; }

  Expected<void *> allocate(uint64_t Bytes) override {
    uint64_t Request = std::max(Bytes, MinRequestBytes);
    void *P = ::operator new(Request, std::align_val_t(64), std::nothrow);
    if (!P)
      return badInput("cpu backend: out of memory allocating {} "
                      "bytes",
                      Bytes);
    if (Opt.TouchPages) {
      volatile unsigned char *C = static_cast<unsigned char *>(P);
      for (uint64_t At = 0; At < Request; At += 4096)
        C[At] = 0;
      C[Request - 1] = 0;
    }
    HeldSlack += hostSlackBound(Bytes);
    sample();
    return P;
  }
  void release(void *Ptr, uint64_t Bytes) override {
    uint64_t Index = Releases++;
    if (Opt.Fault.Kind != CpuFaultKind::None && Index == Opt.Fault.Release) {
      if (Opt.Fault.Kind == CpuFaultKind::LateFree)
        Late.push_back({Ptr, Bytes});
      else
        Leaked.push_back({Ptr, Bytes});
      return;
    }
    freeNow(Ptr, Bytes);
  }

  // The busy kernel is calibrated by the clock itself: it writes its buffer
  // (one byte per cache line, wrapping within the first 64 KiB so that big
  // tensors do not turn a 10 us op into a page-fault storm) and checks the
  // clock every 64 writes until the op's deadline has passed.
  void busy(void *Buf, uint64_t Bytes, double Micros) override {
    double Deadline = nowMicros(Opt.Clock) + Micros;
    volatile unsigned char *P = static_cast<unsigned char *>(Buf);
    uint64_t Span = std::min<uint64_t>(Bytes, 64 * 1024);
    uint64_t At = 0;
    unsigned char V = 0;
    do {
      for (unsigned K = 0; K < 64 && Span; ++K) {
        P[At] = V++;
        At += 64;
        if (At >= Span)
          At = 0;
      }
    } while (nowMicros(Opt.Clock) < Deadline);
  }

  void startTimer() override { Start = nowMicros(Opt.Clock); }
  double stopTimer() override {
    double T = nowMicros(Opt.Clock) - Start;
    // A late free lands after the op that followed its release.
    for (Held &H : Late)
      freeNow(H.Ptr, H.Bytes);
    Late.clear();
    return T;
  }

  void resetMemStats() override {
    returnHeld();
    Releases = 0;
    Meter = HostMeterStats{};
    Meter.Available = hostMeterBuilt();
    Baseline = heapInUse();
  }
  HostMeterStats hostMeter() override { return Meter; }

private:
  struct Held {
    void *Ptr;
    uint64_t Bytes;
  };

  void freeNow(void *Ptr, uint64_t Bytes) {
    ::operator delete(Ptr, std::align_val_t(64));
    HeldSlack -= hostSlackBound(Bytes);
  }
  void returnHeld() {
    for (auto *List : {&Late, &Leaked}) {
      for (Held &H : *List)
        freeNow(H.Ptr, H.Bytes);
      List->clear();
    }
  }
  void sample() {
    if (!Meter.Available)
      return;
    int64_t Now = int64_t(heapInUse()) - int64_t(Baseline);
    if (Meter.Samples == 0 || Now > Meter.PeakBytes) {
      Meter.PeakBytes = Now;
      Meter.AllowanceBytes = HeldSlack + HostMeterFixedSlackBytes;
    }
    if (Meter.Samples == 0 || Now < Meter.LowBytes)
      Meter.LowBytes = Now;
    ++Meter.Samples;
  }

  CpuBackendOptions Opt;
  double Start = 0;
  uint64_t Releases = 0;
  /// Sum of hostSlackBound() over buffers not yet returned to the allocator.
  uint64_t HeldSlack = 0;
  uint64_t Baseline = 0;
  HostMeterStats Meter;
  /// Buffers whose release the fault holds back; reserved up front so that
  /// holding one does not itself allocate.
  std::vector<Held> Late, Leaked;
};
} // namespace

uint64_t hostSlackBound(uint64_t Bytes) {
  uint64_t Request = std::max(Bytes, MinRequestBytes);
  uint64_t Rounding =
      Request < MmapThresholdBytes ? HeapChunkSlackBytes : MmapChunkSlackBytes;
  return Request - Bytes + Rounding;
}

// A sanitizer that replaces malloc (ASan) leaves glibc's counters blind to
// every allocation; so the meter is trusted only after it has seen a probe
// block of its own, once per process.
bool hostMeterBuilt() {
  static const bool Sees = [] {
    if (!REMAT_HAVE_MALLINFO2)
      return false;
    const uint64_t Probe = uint64_t(1) << 20;
    uint64_t Before = heapInUse();
    auto *P = static_cast<volatile unsigned char *>(::operator new(Probe));
    for (uint64_t At = 0; At < Probe; At += 4096)
      P[At] = 1;
    uint64_t During = heapInUse();
    ::operator delete(const_cast<unsigned char *>(P));
    return During >= Before + Probe;
  }();
  return Sees;
}

std::unique_ptr<Backend> createCpuBackend(const CpuBackendOptions &O) {
  return std::make_unique<CpuBackend>(O);
}

std::unique_ptr<Backend> createCpuBackend(CpuClock Clock) {
  CpuBackendOptions O;
  O.Clock = Clock;
  return createCpuBackend(O);
}

Expected<std::unique_ptr<Backend>> createBackend(StringRef Device,
                                                 const CpuBackendOptions &Cpu) {
  if (Device == "cpu")
    return createCpuBackend(Cpu);
  if (Device == "cuda")
    return createCudaBackend();
  return badInput("unknown device '{}' (choose cpu or cuda)", Device.str());
}

#ifndef REMAT_HAVE_CUDA
bool cudaBackendBuilt() { return false; }

Expected<std::unique_ptr<Backend>> createCudaBackend() {
  return badInput(
      "--device cuda: this remat was built without the CUDA backend "
      "(configure with -DREMAT_CUDA=ON where nvcc is installed)");
}
#endif

} // namespace remat

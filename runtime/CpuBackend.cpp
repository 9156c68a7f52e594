//===- runtime/CpuBackend.cpp - The always-built CPU backend --------------===//

#include "runtime/Backend.h"

#include <algorithm>
#include <chrono>
#include <new>
#include <time.h>

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

class CpuBackend final : public Backend {
public:
  explicit CpuBackend(CpuClock C) : Clock(C) {}
  StringRef name() const override { return "cpu"; }
  std::string description() const override {
    return Clock == CpuClock::Thread ? "CPU (host heap, thread CPU-time timers)"
                                     : "CPU (host heap, steady-clock timers)";
  }
  bool hostAccessible() const override { return true; }

  Expected<void *> allocate(uint64_t Bytes) override {
    void *P = ::operator new(Bytes, std::align_val_t(64), std::nothrow);
    if (!P)
      return createStringError(inconvertibleErrorCode(),
                               "cpu backend: out of memory allocating %llu "
                               "bytes",
                               static_cast<unsigned long long>(Bytes));
    return P;
  }
  void release(void *Ptr) override {
    ::operator delete(Ptr, std::align_val_t(64));
  }

  // The busy kernel is calibrated by the clock itself: it writes its buffer
  // (one byte per cache line, wrapping within the first 64 KiB so that big
  // tensors do not turn a 10 us op into a page-fault storm) and checks the
  // clock every 64 writes until the op's deadline has passed.
  void busy(void *Buf, uint64_t Bytes, double Micros) override {
    double Deadline = nowMicros(Clock) + Micros;
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
    } while (nowMicros(Clock) < Deadline);
  }

  void startTimer() override { Start = nowMicros(Clock); }
  double stopTimer() override { return nowMicros(Clock) - Start; }

private:
  CpuClock Clock;
  double Start = 0;
};
} // namespace

std::unique_ptr<Backend> createCpuBackend(CpuClock Clock) {
  return std::make_unique<CpuBackend>(Clock);
}

Expected<std::unique_ptr<Backend>> createBackend(StringRef Device,
                                                 CpuClock Clock) {
  if (Device == "cpu")
    return createCpuBackend(Clock);
  if (Device == "cuda")
    return createCudaBackend();
  return createStringError(inconvertibleErrorCode(),
                           "unknown device '%s' (choose cpu or cuda)",
                           Device.str().c_str());
}

#ifndef REMAT_HAVE_CUDA
bool cudaBackendBuilt() { return false; }

Expected<std::unique_ptr<Backend>> createCudaBackend() {
  return createStringError(
      inconvertibleErrorCode(),
      "--device cuda: this remat was built without the CUDA backend "
      "(configure with -DREMAT_CUDA=ON where nvcc is installed)");
}
#endif

} // namespace remat

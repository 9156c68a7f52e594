//===- runtime/Validate.h - Predicted versus measured -----------*- C++ -*-===//
//
// Runs a schedule and the store-everything schedule on a backend, in the
// same process, and compares what the simulator predicts with what is
// measured: peak bytes (on the CPU by the host meter, which the executor
// does not control; the tracking allocator's bookkeeping is reported
// beside it), time, overhead and forward recomputations; in real mode, also
// whether the gradients are bit-identical to the store-everything run's.
// The byte and time scales are chosen automatically unless given. The
// engine of `remat validate` and the runtime tests.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_RUNTIME_VALIDATE_H
#define REMAT_RUNTIME_VALIDATE_H

#include "graph/Graph.h"
#include "planner/Schedule.h"
#include "runtime/Executor.h"
#include "runtime/RealLayers.h"
#include "runtime/Synthetic.h"

#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace remat {

/// Default memory cap of synthetic runs: 256 MiB.
constexpr uint64_t DefaultMemoryCapBytes = uint64_t(256) << 20;
/// Average op duration that the automatic time scale aims at, microseconds:
/// timer and launch costs (about 1-3 us per op) stay small next to it.
constexpr double AutoOpMicros = 300;

/// Default limit on the busy time a synthetic validation may spend, seconds.
constexpr double DefaultMaxBusySeconds = 600;

enum class WorkloadMode : uint8_t { Synthetic, Real };

struct ValidateOptions {
  /// "cpu" or "cuda".
  std::string Device = "cpu";
  /// The CPU backend's clock (ignored on cuda). Thread CPU time by default:
  /// on a shared machine the steady clock also counts time spent
  /// descheduled, which no model predicts.
  CpuClock Clock = CpuClock::Thread;
  WorkloadMode Mode = WorkloadMode::Synthetic;
  /// Synthetic: every size is divided by this, rounded up, before both the
  /// prediction and the run (1 runs the model's true sizes). 0: automatic,
  /// the smallest power of two that brings both predicted peaks (the
  /// schedule's and store-everything's) within MemoryCapBytes.
  uint64_t BytesScale = 0;
  /// Synthetic: the largest predicted peak a run may allocate, bytes (after
  /// scaling); a larger one is refused. Host memory on the CPU.
  uint64_t MemoryCapBytes = DefaultMemoryCapBytes;
  /// Synthetic: microseconds of busy work per model time unit. 0:
  /// automatic, so that the schedule's average op lasts AutoOpMicros.
  double MicrosPerUnit = 0;
  /// Real mode: the shapes of the real layers.
  real::RealShape Shape;
  /// Timed runs of each schedule; the median time counts (>= 1).
  unsigned Repeats = 1;
  /// Synthetic: the most busy time the runs may take, seconds, estimated
  /// before starting from the predicted times (or, with the automatic time
  /// scale, AutoOpMicros per op), the store-everything baseline's included;
  /// a larger estimate is refused and names the options that lower it.
  double MaxBusySeconds = DefaultMaxBusySeconds;
  /// Largest relative error of the peak beyond the meter's allowance for
  /// allocator rounding (0: none; the bookkeeping peak without a meter is
  /// then exact).
  double PeakTol = 0;
  /// Largest relative error of the time and the baseline time.
  double TimeTol = 0.25;
  /// Largest absolute error of the overhead (a fraction: 0.1 = 10 points).
  double OverheadTol = 0.10;
  /// Real mode: also check time and overhead (off by default, since the
  /// model file's times describe other layers than the small real ones,
  /// unless the file came from `remat profile` with the same shapes).
  bool CheckRealTime = false;
  /// Test-only: a fault injected into the CPU backend below the tracking
  /// allocator (negative controls for the host meter).
  CpuFault Fault;
};

/// One predicted-versus-measured line.
struct Comparison {
  /// "peak_bytes", "baseline_peak_bytes" (the meter where there is one),
  /// "peak_bytes_bookkeeping", "baseline_peak_bytes_bookkeeping" (the
  /// tracking allocator; reported, judged only without a meter), "time",
  /// "baseline_time", "overhead" or "forward_recomputations".
  std::string Metric;
  double Predicted = 0;
  double Measured = 0;
  /// Relative error |m - p| / p (0 when both are 0), or the absolute error
  /// for the overhead.
  double Error = 0;
  bool AbsoluteError = false;
  double Tolerance = 0;
  /// False for lines that are reported but not judged.
  bool Checked = true;
  bool Ok = true;
};

struct ValidationReport {
  std::string Device;
  std::string DeviceDescription;
  WorkloadMode Mode = WorkloadMode::Synthetic;
  uint64_t BytesScale = 1;
  /// Whether the byte scale was chosen automatically.
  bool BytesScaleAuto = false;
  uint64_t MemoryCapBytes = DefaultMemoryCapBytes;
  double MicrosPerUnit = DefaultMicrosPerUnit;
  /// Whether the time scale was chosen automatically.
  bool TimeScaleAuto = false;
  /// What judged the peaks: "host meter (glibc mallinfo2)" or, without a
  /// meter (CUDA), "tracking allocator".
  std::string PeakSource;
  std::vector<Comparison> Rows;
  /// The measured runs (the median-time run of each).
  RunResult Run, Baseline;
  /// Real mode: parameter gradients and y_0 equal bit for bit to the
  /// store-everything run's; unset in synthetic mode.
  std::optional<bool> GradientsIdentical;
  /// Every checked line within tolerance and gradients identical.
  bool Passed = true;
};

/// Validates \p S (made for \p M) under \p O. Real mode runs the real
/// layers on the CPU, or on CUDA through runtime/RealDevice.h (peaks then
/// judged by the bookkeeping, exactly, plus the pool's high-water mark,
/// which must not be below the prediction). Errors: a backend that cannot
/// be created (e.g. no GPU), an invalid schedule (InvalidScheduleError),
/// real mode on a graph model, a build without the device real mode, a
/// scaled peak above the memory cap, bad options.
llvm::Expected<ValidationReport>
validateSchedule(const Model &M, const Schedule &S, const ValidateOptions &O);

/// Spelling of a mode: "synthetic" or "real".
const char *workloadModeName(WorkloadMode M);

} // namespace remat

#endif // REMAT_RUNTIME_VALIDATE_H

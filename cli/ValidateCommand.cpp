//===- cli/ValidateCommand.cpp - remat validate ---------------------------===//
//
// Runs a schedule on a device (runtime/Validate.h) and prints predicted
// versus measured: peak, time, overhead and recomputations, with errors,
// tolerances and a verdict. Exit 1 when a checked measurement is outside
// its tolerance (or real-mode gradients differ from storing everything).
//
//===----------------------------------------------------------------------===//

#include "cli/Commands.h"
#include "cli/Common.h"
#include "graph/Errors.h"

#include "graph/ModelLoader.h"
#include "graph/Size.h"
#include "planner/ScheduleIO.h"
#include "runtime/Validate.h"

#include <cmath>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

using namespace llvm;

namespace remat::cli {

namespace {

using OutJson = nlohmann::ordered_json;

ArgParser makeParser() {
  ArgParser P(
      "validate",
      "validate MODEL SCHEDULE [--device cpu|cuda] [--mode synthetic|real] "
      "[options]",
      "Runs a schedule on a real executor and compares what the simulator "
      "predicts\nwith what is measured: peak bytes, time, overhead against "
      "the\nstore-everything schedule (run in the same process) and forward\n"
      "recomputations.\n\n"
      "peaks: on the cpu, by a host meter the executor does not control "
      "(glibc's\nmallinfo2 in-use bytes, sampled after every allocation, "
      "every page touched),\nwithin an allowance for allocator rounding "
      "(docs/runtime.md); the tracking\nallocator's bookkeeping is printed "
      "beside it. On cuda, the bookkeeping (exact); in real mode also the "
      "pool's\nhigh-water mark, which may exceed the prediction by the "
      "pool's rounding but\nnever fall below it.\n\n"
      "synthetic mode: every op allocates the model's bytes divided by the "
      "bytes\nscale and busies the device for its time times the time scale. "
      "By default\nboth are automatic: the bytes scale is the smallest power "
      "of two that brings\nthe larger predicted peak (schedule or "
      "store-everything) within --memory-cap\n(256 MiB), and the time scale "
      "makes the schedule's average op last 300 us.\nThe report says which "
      "scales it used.\n"
      "real mode: the chain's kinds become small float32 layers (attention, "
      "mlp,\nnorm, linear; see docs/runtime.md) trained for one step; "
      "gradients must be\nbit-identical to the store-everything step, peaks "
      "are predicted on the\nreal layers' own bytes, and times are reported "
      "but not judged unless\n--check-time. With --device cuda the same layers "
      "run as GPU kernels and cuBLAS\n(FP32), buffers from the device pool, "
      "ops timed with CUDA events.");
  P.option("device", "cpu|cuda", "where to run", "cpu");
  P.option("mode", "synthetic|real", "workload", "synthetic");
  P.option("cpu-clock", "steady|thread",
           "cpu: time ops (and synthetic busy work) on the steady wall clock, "
           "or on the thread's CPU time, which stays accurate on a loaded "
           "machine",
           "thread");
  P.option("bytes-scale", "N|auto",
           "synthetic: divide every size by N, rounding up (predicted and "
           "measured peaks are then both in scaled bytes); 'auto' picks the "
           "smallest power of two within --memory-cap",
           "auto");
  P.option("memory-cap", "SIZE",
           "synthetic: the largest scaled peak a run may allocate (host "
           "memory on the cpu); a --bytes-scale that exceeds it is refused",
           "256MiB");
  P.option("time-scale", "US|auto",
           "synthetic: microseconds of busy work per model time unit; "
           "'auto' makes the schedule's average op last 300 us, so timer and "
           "launch costs stay small next to it",
           "auto");
  P.option("repeat", "N", "timed runs per schedule; the median counts", "3");
  P.option("max-seconds", "S",
           "synthetic: refuse a run whose busy time, estimated before it "
           "starts, exceeds S seconds",
           "600");
  P.option("peak-tol", "FRAC",
           "relative peak error allowed beyond the meter's rounding "
           "allowance",
           "0");
  P.option("time-tol", "FRAC",
           "largest relative error of the time and baseline time", "0.25");
  P.option("overhead-tol", "FRAC",
           "largest absolute error of the overhead (0.1 = 10 points)", "0.10");
  P.flag("check-time", "real mode: also judge time and overhead (meaningful "
                       "for models written by 'remat profile' with the same "
                       "shapes)");
  P.option("batch", "N", "real mode: sequences per batch", "2");
  P.option("seq", "N", "real mode: tokens per sequence", "16");
  P.option("hidden", "N", "real mode: hidden size", "32");
  P.option("heads", "N", "real mode: attention heads", "4");
  P.option("dropout", "P", "real mode: dropout probability", "0.1");
  P.option("seed", "N", "real mode: seed of weights, data and dropout", "1");
  P.flag("json", "print one JSON object instead of the report");
  P.flag("force", "run even when the schedule was made for another model "
                  "file");
  P.epilog(
      "exit codes: 0 every checked measurement within tolerance; 1 a "
      "measurement\noutside tolerance, differing gradients or an invalid "
      "schedule; 2 bad input\n(also a scaled peak above --memory-cap), "
      "or --device cuda without a GPU or\nwithout the CUDA build.\n\n"
      "example:\n  remat plan data/models/gpt2-small.json --strategy "
      "sqrt -o plan.json\n  remat validate data/models/gpt2-small.json "
      "plan.json\n  (defaults: both scales automatic, at most 256 MiB of host "
      "memory)");
  return P;
}

/// Reads numeric options into fields, keeping the first error.
struct OptionReader {
  const ArgParser &P;
  std::optional<std::string> Failure;

  template <typename T> void whole(StringRef Name, T &Field) {
    auto V = P.getUnsigned(Name);
    if (!V)
      note(V.takeError());
    else if (*V)
      Field = T(**V);
  }
  template <typename T> void real(StringRef Name, T &Field) {
    auto V = P.getDouble(Name);
    if (!V)
      note(V.takeError());
    else if (*V)
      Field = T(**V);
  }
  void note(Error E) {
    std::string Msg = toString(std::move(E));
    if (!Failure)
      Failure = Msg;
  }
};

Expected<ValidateOptions> optionsFromArgs(const ArgParser &P) {
  ValidateOptions O;
  O.Device = P.get("device").value_or("cpu");
  if (O.Device != "cpu" && O.Device != "cuda")
    return badInput("--device must be cpu or cuda, not '{}'", O.Device);
  std::string Mode = P.get("mode").value_or("synthetic");
  if (Mode != "synthetic" && Mode != "real")
    return badInput("--mode must be synthetic or real, not '{}'", Mode);
  O.Mode = Mode == "real" ? WorkloadMode::Real : WorkloadMode::Synthetic;
  std::string Clock = P.get("cpu-clock").value_or("thread");
  if (Clock != "steady" && Clock != "thread")
    return badInput("--cpu-clock must be steady or thread, not '{}'", Clock);
  O.Clock = Clock == "thread" ? CpuClock::Thread : CpuClock::Steady;
  O.Repeats = 3;
  O.CheckRealTime = P.has("check-time");
  unsigned Seed = 1;
  OptionReader R{P, std::nullopt};
  O.BytesScale = 0; // automatic unless given
  if (P.get("bytes-scale").value_or("auto") != "auto") {
    R.whole("bytes-scale", O.BytesScale);
    if (!R.Failure && O.BytesScale == 0)
      return badInput("--bytes-scale must be at least 1 (or auto)");
  }
  auto Cap = P.getSize("memory-cap");
  if (!Cap)
    return Cap.takeError();
  if (*Cap && **Cap == 0)
    return badInput("--memory-cap must be positive");
  if (*Cap)
    O.MemoryCapBytes = **Cap;
  R.whole("repeat", O.Repeats);
  R.whole("batch", O.Shape.Batch);
  R.whole("seq", O.Shape.Seq);
  R.whole("hidden", O.Shape.Hidden);
  R.whole("heads", O.Shape.Heads);
  R.whole("seed", Seed);
  O.MicrosPerUnit = 0; // automatic unless given
  if (P.get("time-scale").value_or("auto") != "auto") {
    R.real("time-scale", O.MicrosPerUnit);
    if (!R.Failure && !(O.MicrosPerUnit > 0))
      return badInput("--time-scale must be positive (or auto)");
  }
  R.real("max-seconds", O.MaxBusySeconds);
  R.real("peak-tol", O.PeakTol);
  R.real("time-tol", O.TimeTol);
  R.real("overhead-tol", O.OverheadTol);
  R.real("dropout", O.Shape.Dropout);
  if (R.Failure)
    return badInput("{}", *R.Failure);
  O.Shape.Seed = Seed;
  return O;
}

std::string number(double V) {
  if (std::isnan(V))
    return "-";
  if (V == std::floor(V) && std::fabs(V) < 1e15)
    return fmt::format("{}", int64_t(V));
  return fmt::format("{:.4f}", V);
}

std::string errorText(const Comparison &C) {
  if (std::isnan(C.Measured))
    return "-";
  if (C.AbsoluteError)
    return fmt::format("{:+.2f}pt", 100 * (C.Measured - C.Predicted));
  if (std::isinf(C.Error))
    return "inf";
  return fmt::format("{:.2f}%", 100 * C.Error);
}

std::string tolText(const Comparison &C) {
  if (std::isinf(C.Tolerance))
    return ">= pred"; // a one-sided check (the device pool's peak)
  return C.AbsoluteError ? fmt::format("{:.2f}pt", 100 * C.Tolerance)
                         : fmt::format("{:.2f}%", 100 * C.Tolerance);
}

OutJson checkJson(const Comparison &C) {
  auto Num = [](double V) -> OutJson {
    return std::isfinite(V) ? OutJson(V) : OutJson(nullptr);
  };
  return OutJson{{"metric", C.Metric},
                 {"predicted", Num(C.Predicted)},
                 {"measured", Num(C.Measured)},
                 {"error", Num(C.Error)},
                 {"error_kind", C.AbsoluteError ? "absolute" : "relative"},
                 {"tolerance", C.Tolerance},
                 {"checked", C.Checked},
                 {"ok", C.Ok}};
}

OutJson reportJson(const Model &M, const Schedule &S, const ValidateOptions &O,
                   const ValidationReport &R) {
  OutJson Checks = OutJson::array();
  for (const Comparison &C : R.Rows)
    Checks.push_back(checkJson(C));
  auto Meter = [](const HostMeterStats &H) -> OutJson {
    if (!H.Available)
      return nullptr;
    return OutJson{{"peak_bytes", H.PeakBytes},
                   {"allowance_bytes", H.AllowanceBytes},
                   {"low_bytes", H.LowBytes},
                   {"samples", H.Samples}};
  };
  OutJson Device = nullptr;
  if (R.Run.Device.Available)
    Device = {{"pool_used_high_bytes", R.Run.Device.PoolUsedHighBytes},
              {"pool_reserved_high_bytes", R.Run.Device.PoolReservedHighBytes},
              {"mem_get_info_delta_bytes", R.Run.Device.MemGetInfoDeltaBytes}};
  return OutJson{{"model", M.Path},
                 {"schedule", S.Path},
                 {"strategy", S.Strategy},
                 {"device", R.Device},
                 {"device_description", R.DeviceDescription},
                 {"mode", workloadModeName(R.Mode)},
                 {"bytes_scale", R.BytesScale},
                 {"bytes_scale_auto", R.BytesScaleAuto},
                 {"memory_cap_bytes", R.MemoryCapBytes},
                 {"time_scale_us_per_unit", R.MicrosPerUnit},
                 {"time_scale_auto", R.TimeScaleAuto},
                 {"peak_source", R.PeakSource},
                 {"repeats", O.Repeats},
                 {"time_unit", M.TimeUnit},
                 {"checks", Checks},
                 {"gradients_bit_identical",
                  R.GradientsIdentical ? OutJson(*R.GradientsIdentical)
                                       : OutJson(nullptr)},
                 {"measured",
                  {{"op_time_us", R.Run.OpMicros},
                   {"wall_time_us", R.Run.WallMicros},
                   {"baseline_op_time_us", R.Baseline.OpMicros},
                   {"end_live_bytes", R.Run.EndLiveBytes},
                   {"forward_counts", R.Run.ForwardCounts}}},
                 {"host_meter",
                  {{"schedule", Meter(R.Run.Meter)},
                   {"baseline", Meter(R.Baseline.Meter)}}},
                 {"device_memory", Device},
                 {"passed", R.Passed}};
}

void printHuman(raw_ostream &Out, const Model &M, const Schedule &S,
                const ValidationReport &R) {
  Out << fmt::format("validate {} ({} strategy, {} ops) on model {}\n", S.Path,
                     S.Strategy, S.numOps(), M.Name);
  Out << fmt::format("device {}: {}\nmode {}", R.Device, R.DeviceDescription,
                     workloadModeName(R.Mode));
  if (R.Mode == WorkloadMode::Synthetic)
    Out << fmt::format(
        "\nbytes scale 1/{}{}\ntime scale {:.4g} us per {}{}", R.BytesScale,
        R.BytesScaleAuto
            ? fmt::format(" (auto: the smallest power of two that brings both "
                          "peaks within the {} memory cap)",
                          formatSize(R.MemoryCapBytes))
            : "",
        R.MicrosPerUnit, M.TimeUnit,
        R.TimeScaleAuto ? " (auto: the average op lasts 300 us)" : "");
  Out << fmt::format("\npeaks judged by the {}\n\n", R.PeakSource);
  Out << fmt::format("  {:<31} {:>16} {:>16} {:>10} {:>10}  {}\n", "metric",
                     "predicted", "measured", "error", "tolerance", "verdict");
  for (const Comparison &C : R.Rows)
    Out << fmt::format("  {:<31} {:>16} {:>16} {:>10} {:>10}  {}\n", C.Metric,
                       number(C.Predicted), number(C.Measured), errorText(C),
                       tolText(C),
                       !C.Checked ? "info"
                       : C.Ok     ? "ok"
                                  : "MISMATCH");
  Out << fmt::format("\n  times in {} ({}); measured op time {:.1f} us, wall "
                     "{:.1f} us\n",
                     M.TimeUnit,
                     R.Mode == WorkloadMode::Synthetic
                         ? "busy time divided by the time scale"
                         : "real kernels, converted from us",
                     R.Run.OpMicros, R.Run.WallMicros);
  if (R.Run.Meter.Available)
    Out << fmt::format("  host meter: schedule peak {} B over the baseline "
                       "(allowance {} B, {} samples), store-everything {} B "
                       "(allowance {} B)\n",
                       R.Run.Meter.PeakBytes, R.Run.Meter.AllowanceBytes,
                       R.Run.Meter.Samples, R.Baseline.Meter.PeakBytes,
                       R.Baseline.Meter.AllowanceBytes);
  if (R.Run.Device.Available)
    Out << fmt::format("  device view: pool used high {} B, pool reserved "
                       "high {} B, cudaMemGetInfo drop {} B\n",
                       R.Run.Device.PoolUsedHighBytes,
                       R.Run.Device.PoolReservedHighBytes,
                       R.Run.Device.MemGetInfoDeltaBytes);
  if (R.GradientsIdentical)
    Out << fmt::format("  gradients bit-identical to store-everything: {}\n",
                       *R.GradientsIdentical ? "yes" : "NO");
  Out << (R.Passed ? "\nverdict: PASS\n" : "\nverdict: FAIL\n");
}

/// The first failing line, for the one-line error on stderr.
std::string firstFailure(const ValidationReport &R) {
  for (const Comparison &C : R.Rows)
    if (!C.Ok)
      return fmt::format("{}: predicted {}, measured {} (error {} > "
                         "tolerance {})",
                         C.Metric, number(C.Predicted), number(C.Measured),
                         errorText(C), tolText(C));
  if (R.GradientsIdentical && !*R.GradientsIdentical)
    return "gradients differ from the store-everything run";
  return "unknown";
}

} // namespace

int runValidate(ArrayRef<std::string> Args, raw_ostream &Out,
                raw_ostream &Err) {
  ArgParser P = makeParser();
  if (std::optional<int> Done = parseArgs(P, Args, 2, 2, Out, Err))
    return *Done;
  auto O = optionsFromArgs(P);
  if (!O)
    return reportError(O.takeError(), Err);
  auto M = loadModelFile(P.positionals()[0]);
  if (!M)
    return reportError(M.takeError(), Err);
  auto S = loadScheduleFile(P.positionals()[1], &*M);
  if (!S)
    return reportError(S.takeError(), Err);
  if (Error E = checkScheduleModel(*S, *M, P.has("force")))
    return reportError(std::move(E), Err);
  auto R = validateSchedule(*M, *S, *O);
  if (!R)
    return reportScheduleError(R.takeError(), P.has("json"), S->Path, Out, Err);
  if (P.has("json"))
    Out << reportJson(*M, *S, *O, *R).dump(2) << "\n";
  else
    printHuman(Out, *M, *S, *R);
  if (R->Passed)
    return ExitOk;
  Err << "remat: error: validation failed: " << firstFailure(*R) << "\n";
  return ExitMismatch;
}

} // namespace remat::cli

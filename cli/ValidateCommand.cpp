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

#include "graph/ModelLoader.h"
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
      "validate MODEL SCHEDULE --device cpu|cuda [--mode synthetic|real] "
      "[options]",
      "Runs a schedule on a real executor and compares what the simulator "
      "predicts\nwith what is measured: peak bytes (exact, from our own "
      "tracking allocator),\ntime, overhead against the store-everything "
      "schedule (run in the same\nprocess) and forward recomputations.\n\n"
      "synthetic mode: every op allocates exactly the model's bytes (divided "
      "by\n--bytes-scale) and busies the device for its time (times "
      "--time-scale).\nreal mode: the chain's kinds become small float32 "
      "layers (attention, mlp,\nnorm, linear; see docs/runtime.md) trained "
      "for one step; gradients must be\nbit-identical to the "
      "store-everything step, peaks are predicted on the\nreal layers' own "
      "bytes, and times are reported but not judged unless\n--check-time.");
  P.option("device", "cpu|cuda", "where to run", "cpu");
  P.option("mode", "synthetic|real", "workload", "synthetic");
  P.option("cpu-clock", "steady|thread",
           "cpu: time ops (and synthetic busy work) on the steady wall clock, "
           "or on the thread's CPU time, which stays accurate on a loaded "
           "machine",
           "thread");
  P.option("bytes-scale", "N",
           "synthetic: divide every size by N, rounding up (predicted and "
           "measured peaks are then both in scaled bytes)",
           "1");
  P.option("time-scale", "US|auto",
           "synthetic: microseconds of busy work per model time unit; "
           "'auto' makes the schedule's average op last 100 us, so launch "
           "and timer costs stay small next to it (use it on GPUs)",
           "10");
  P.option("repeat", "N", "timed runs per schedule; the median counts", "3");
  P.option("peak-tol", "FRAC", "largest relative error of the peaks", "0");
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
  P.epilog("exit codes: 0 every checked measurement within tolerance; 1 a "
           "measurement\noutside tolerance, differing gradients or an invalid "
           "schedule; 2 bad input,\nor --device cuda without a GPU or without "
           "the CUDA build.\n\n"
           "example:\n  remat plan data/models/gpt2-small.json --strategy "
           "sqrt -o plan.json\n  remat validate data/models/gpt2-small.json "
           "plan.json --device cpu \\\n      --bytes-scale 65536 --time-scale "
           "100");
  return P;
}

Error bad(const std::string &Msg) {
  return createStringError(inconvertibleErrorCode(), Msg);
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
    return bad("--device must be cpu or cuda, not '" + O.Device + "'");
  std::string Mode = P.get("mode").value_or("synthetic");
  if (Mode != "synthetic" && Mode != "real")
    return bad("--mode must be synthetic or real, not '" + Mode + "'");
  O.Mode = Mode == "real" ? WorkloadMode::Real : WorkloadMode::Synthetic;
  std::string Clock = P.get("cpu-clock").value_or("thread");
  if (Clock != "steady" && Clock != "thread")
    return bad("--cpu-clock must be steady or thread, not '" + Clock + "'");
  O.Clock = Clock == "thread" ? CpuClock::Thread : CpuClock::Steady;
  O.Repeats = 3;
  O.CheckRealTime = P.has("check-time");
  unsigned Seed = 1;
  OptionReader R{P, std::nullopt};
  R.whole("bytes-scale", O.BytesScale);
  R.whole("repeat", O.Repeats);
  R.whole("batch", O.Shape.Batch);
  R.whole("seq", O.Shape.Seq);
  R.whole("hidden", O.Shape.Hidden);
  R.whole("heads", O.Shape.Heads);
  R.whole("seed", Seed);
  if (P.get("time-scale").value_or("") != "auto")
    R.real("time-scale", O.MicrosPerUnit);
  R.real("peak-tol", O.PeakTol);
  R.real("time-tol", O.TimeTol);
  R.real("overhead-tol", O.OverheadTol);
  R.real("dropout", O.Shape.Dropout);
  if (R.Failure)
    return bad(*R.Failure);
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
                 {"time_scale_us_per_unit", R.MicrosPerUnit},
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
    Out << fmt::format(", bytes scale 1/{}, {} us per {}", R.BytesScale,
                       number(R.MicrosPerUnit), M.TimeUnit);
  Out << "\n\n";
  Out << fmt::format("  {:<24} {:>16} {:>16} {:>10} {:>10}  {}\n", "metric",
                     "predicted", "measured", "error", "tolerance", "verdict");
  for (const Comparison &C : R.Rows)
    Out << fmt::format("  {:<24} {:>16} {:>16} {:>10} {:>10}  {}\n", C.Metric,
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

/// Microseconds per model time unit that make the average op of \p S last
/// 100 us (10 when the schedule predicts no time at all).
double autoTimeScale(const Schedule &S) {
  if (!(S.Predicted.Time > 0) || S.numOps() == 0)
    return 10;
  return 100.0 * double(S.numOps()) / S.Predicted.Time;
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
  if (P.get("time-scale").value_or("") == "auto")
    O->MicrosPerUnit = autoTimeScale(*S);
  auto R = validateSchedule(*M, *S, *O);
  if (!R)
    return reportError(R.takeError(), Err);
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

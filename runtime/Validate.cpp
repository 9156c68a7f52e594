//===- runtime/Validate.cpp - Predicted versus measured -------------------===//

#include "runtime/Validate.h"
#include "graph/Errors.h"
#include "planner/Baselines.h"

#include "graph/Size.h"
#include "planner/Simulator.h"
#include "runtime/RealDevice.h"
#include "runtime/RealModel.h"

#include "llvm/Support/MathExtras.h"

#include "llvm/ADT/STLFunctionalExtras.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

using namespace llvm;

namespace remat {

const char *workloadModeName(WorkloadMode M) {
  return M == WorkloadMode::Real ? "real" : "synthetic";
}

namespace {
/// The simulator's view of the schedule and of store-everything.
struct Predictions {
  SimResult Sched, Base;
};

/// Measured runs and their times in the model's time unit (NaN: unknown).
struct Measurements {
  RunResult Run, Base;
  double Time = NAN, BaseTime = NAN;
};
} // namespace

/// Runs \p Fn \p Repeats times and keeps the run with the median op time.
static Expected<RunResult> medianRun(function_ref<Expected<RunResult>()> Fn,
                                     unsigned Repeats) {
  std::vector<RunResult> Runs;
  for (unsigned I = 0; I < Repeats; ++I) {
    auto R = Fn();
    if (!R)
      return R.takeError();
    Runs.push_back(std::move(*R));
  }
  std::sort(Runs.begin(), Runs.end(),
            [](const RunResult &A, const RunResult &B) {
              return A.OpMicros < B.OpMicros;
            });
  return std::move(Runs[Runs.size() / 2]);
}

static Comparison compare(std::string Metric, double P, double M, double Tol,
                          bool Absolute, bool Checked) {
  Comparison C;
  C.Metric = std::move(Metric);
  C.Predicted = P;
  C.Measured = M;
  C.AbsoluteError = Absolute;
  C.Tolerance = Tol;
  if (Absolute)
    C.Error = std::fabs(M - P);
  else
    C.Error = P == M ? 0 : P == 0 ? INFINITY : std::fabs(M - P) / std::fabs(P);
  C.Checked = Checked && !std::isnan(M);
  // A small slack absorbs float rounding in the error itself.
  C.Ok = !C.Checked || C.Error <= Tol + 1e-12;
  return C;
}

/// The peak lines: against the host meter where the backend has one (the
/// tracking allocator's figure beside it, reported), else the tracking
/// allocator's, judged.
static void peakRows(std::vector<Comparison> &Rows, const char *Name,
                     uint64_t Predicted, const RunResult &Run,
                     const ValidateOptions &O) {
  std::string Book = std::string(Name) + "_bookkeeping";
  if (!Run.Meter.Available) {
    Rows.push_back(compare(Name, double(Predicted), double(Run.PeakBytes),
                           O.PeakTol, false, true));
    return;
  }
  // The meter counts the allocator's chunks: each buffer's rounding is
  // allowed for, as derived in docs/runtime.md.
  double Allow =
      Predicted ? double(Run.Meter.AllowanceBytes) / Predicted : INFINITY;
  Rows.push_back(compare(Name, double(Predicted), double(Run.Meter.PeakBytes),
                         O.PeakTol + Allow, false, true));
  Rows.push_back(compare(Book, double(Predicted), double(Run.PeakBytes),
                         O.PeakTol, false, false));
}

static void fillRows(ValidationReport &R, const Predictions &P,
                     const Measurements &M, const ValidateOptions &O,
                     bool CheckTime) {
  double POver = P.Base.Time > 0 ? P.Sched.Time / P.Base.Time - 1 : 0;
  double MOver = M.BaseTime > 0 ? M.Time / M.BaseTime - 1 : NAN;
  R.Rows.clear();
  peakRows(R.Rows, "peak_bytes", P.Sched.PeakBytes, M.Run, O);
  peakRows(R.Rows, "baseline_peak_bytes", P.Base.PeakBytes, M.Base, O);
  R.Rows.push_back(
      compare("time", P.Sched.Time, M.Time, O.TimeTol, false, CheckTime));
  R.Rows.push_back(compare("baseline_time", P.Base.Time, M.BaseTime, O.TimeTol,
                           false, CheckTime));
  R.Rows.push_back(
      compare("overhead", POver, MOver, O.OverheadTol, true, CheckTime));
  R.Rows.push_back(
      compare("forward_recomputations", double(P.Sched.ForwardRecomputations),
              double(M.Run.ForwardRecomputations), 0, false, true));
  R.PeakSource = M.Run.Meter.Available ? "host meter (glibc mallinfo2)"
                                       : "tracking allocator";
  R.Run = M.Run;
  R.Baseline = M.Base;
  R.Passed = R.GradientsIdentical.value_or(true);
  for (const Comparison &C : R.Rows)
    R.Passed &= C.Ok;
}

static Expected<Predictions> predictChain(const Chain &C,
                                          ArrayRef<ChainOp> Ops) {
  auto S = simulateChain(C, Ops);
  if (!S)
    return S.takeError();
  auto B = simulateChain(C, storeAllOps(C));
  if (!B)
    return B.takeError();
  return Predictions{std::move(*S), std::move(*B)};
}

/// The simulator's view at byte scale \p Scale.
using PredictAt = function_ref<Expected<Predictions>(uint64_t Scale)>;

static uint64_t largerPeak(const Predictions &P) {
  return std::max(P.Sched.PeakBytes, P.Base.PeakBytes);
}

/// Picks the byte scale (O.BytesScale, or the smallest power of two that
/// brings both peaks within the cap) and checks the cap; returns the
/// predictions at that scale and records the scale in \p R.
static Expected<Predictions>
scaleBytes(ValidationReport &R, const ValidateOptions &O, PredictAt Predict) {
  uint64_t Scale = O.BytesScale ? O.BytesScale : 1;
  auto P = Predict(Scale);
  if (!P)
    return P.takeError();
  if (O.BytesScale == 0) {
    // Rounding each size up can leave the scaled peak a little above
    // peak / scale, so the scale doubles until the simulator agrees.
    while (largerPeak(*P) > O.MemoryCapBytes && Scale < (uint64_t(1) << 62)) {
      uint64_t Want = divideCeil(largerPeak(*P), O.MemoryCapBytes) * Scale;
      Scale = std::max(Scale * 2, uint64_t(1) << Log2_64_Ceil(Want));
      P = Predict(Scale);
      if (!P)
        return P.takeError();
    }
  }
  R.BytesScale = Scale;
  R.BytesScaleAuto = O.BytesScale == 0;
  R.MemoryCapBytes = O.MemoryCapBytes;
  if (largerPeak(*P) > O.MemoryCapBytes)
    return badInput(
        "validate: the predicted peak at bytes scale 1/{} is {}, above the "
        "memory cap {}; raise --memory-cap or --bytes-scale (or leave the "
        "scale automatic)",
        Scale, formatSize(largerPeak(*P)), formatSize(O.MemoryCapBytes));
  return P;
}

/// O.MicrosPerUnit, or the scale that makes the schedule's average timed op
/// last AutoOpMicros (DefaultMicrosPerUnit when it predicts no time).
static double scaleTime(ValidationReport &R, const ValidateOptions &O,
                        double PredictedTime, size_t TimedOps) {
  R.TimeScaleAuto = !(O.MicrosPerUnit > 0);
  if (!R.TimeScaleAuto)
    return R.MicrosPerUnit = O.MicrosPerUnit;
  if (!(PredictedTime > 0) || TimedOps == 0)
    return R.MicrosPerUnit = DefaultMicrosPerUnit;
  return R.MicrosPerUnit = AutoOpMicros * double(TimedOps) / PredictedTime;
}

static Error validateSyntheticChain(ValidationReport &R, const Model &M,
                                    const Schedule &S, Backend &Dev,
                                    const ValidateOptions &O) {
  auto P = scaleBytes(R, O, [&](uint64_t Scale) {
    return predictChain(scaleChainBytes(*M.AsChain, Scale), S.chainOps());
  });
  if (!P)
    return P.takeError();
  Chain C = scaleChainBytes(*M.AsChain, R.BytesScale);
  double Scale = scaleTime(R, O, P->Sched.Time, S.chainOps().size());
  SyntheticWorkload W(C, Dev, Scale);
  std::vector<ChainOp> BaseOps = storeAllOps(C);
  Measurements Me;
  auto Base = medianRun([&] { return runChain(W, BaseOps, Dev); }, O.Repeats);
  if (!Base)
    return Base.takeError();
  auto Run =
      medianRun([&] { return runChain(W, S.chainOps(), Dev); }, O.Repeats);
  if (!Run)
    return Run.takeError();
  Me.Base = std::move(*Base);
  Me.Run = std::move(*Run);
  Me.Time = Me.Run.OpMicros / Scale;
  Me.BaseTime = Me.Base.OpMicros / Scale;
  fillRows(R, *P, Me, O, true);
  return Error::success();
}

static Error validateSyntheticGraph(ValidationReport &R, const Model &M,
                                    const Schedule &S, Backend &Dev,
                                    const ValidateOptions &O) {
  std::vector<GraphOp> BaseOps = storeAllGraphOps(M.G);
  auto P = scaleBytes(R, O, [&](uint64_t Scale) -> Expected<Predictions> {
    Graph G = scaleGraphBytes(M.G, Scale);
    auto PS = simulateGraph(G, S.graphOps());
    if (!PS)
      return PS.takeError();
    auto PB = simulateGraph(G, BaseOps);
    if (!PB)
      return PB.takeError();
    return Predictions{std::move(*PS), std::move(*PB)};
  });
  if (!P)
    return P.takeError();
  Graph G = scaleGraphBytes(M.G, R.BytesScale);
  size_t Computes = std::count_if(
      S.graphOps().begin(), S.graphOps().end(),
      [](const GraphOp &Op) { return Op.Kind == GraphOpKind::Compute; });
  double Scale = scaleTime(R, O, P->Sched.Time, Computes);
  Measurements Me;
  auto Base = medianRun(
      [&] { return runGraphSynthetic(G, BaseOps, Dev, Scale); }, O.Repeats);
  if (!Base)
    return Base.takeError();
  auto Run =
      medianRun([&] { return runGraphSynthetic(G, S.graphOps(), Dev, Scale); },
                O.Repeats);
  if (!Run)
    return Run.takeError();
  Me.Base = std::move(*Base);
  Me.Run = std::move(*Run);
  Me.Time = Me.Run.OpMicros / Scale;
  Me.BaseTime = Me.Base.OpMicros / Scale;
  fillRows(R, *P, Me, O, true);
  return Error::success();
}

/// Microseconds per model time unit for the units real runs can convert to;
/// NaN for any other unit.
static double microsPerTimeUnit(StringRef Unit) {
  if (Unit == "us" || Unit == "µs")
    return 1;
  if (Unit == "ms")
    return 1e3;
  if (Unit == "s")
    return 1e6;
  return NAN;
}

/// The predictions of real mode: peaks on the real layers' own bytes
/// (\p Real), times from the model file.
static Expected<Predictions> predictReal(const Model &M, const Chain &Real,
                                         const Schedule &S) {
  auto P = predictChain(Real, S.chainOps());
  if (!P)
    return P.takeError();
  auto PT = predictChain(*M.AsChain, S.chainOps());
  if (!PT)
    return PT.takeError();
  P->Sched.Time = PT->Sched.Time;
  P->Base.Time = PT->Base.Time;
  return P;
}

/// What a real run needs from its workload, on whichever device.
struct RealHooks {
  ChainWorkload &W;
  function_ref<Error()> Zero;
  function_ref<Expected<std::vector<float>>()> Grads;
  function_ref<std::vector<float>()> InputGrad;
};

/// Runs store-everything once and the schedule O.Repeats times, checking
/// every run's gradients against store-everything's bit for bit.
static Error measureReal(ValidationReport &R, const Model &M, const Schedule &S,
                         Backend &Dev, const ValidateOptions &O, RealHooks H,
                         const Predictions &P) {
  std::vector<ChainOp> BaseOps = storeAllOps(H.W.chain());
  Measurements Me;
  if (Error E = H.Zero())
    return E;
  auto Base = runChain(H.W, BaseOps, Dev);
  if (!Base)
    return Base.takeError();
  auto RefGrads = H.Grads();
  if (!RefGrads)
    return RefGrads.takeError();
  std::vector<float> RefInput = H.InputGrad();
  bool Same = true;
  auto Run = medianRun(
      [&]() -> Expected<RunResult> {
        if (Error E = H.Zero())
          return E;
        auto X = runChain(H.W, S.chainOps(), Dev);
        if (!X)
          return X;
        auto G = H.Grads();
        if (!G)
          return G.takeError();
        Same &= real::bitIdentical(*RefGrads, *G) &&
                real::bitIdentical(RefInput, H.InputGrad());
        return X;
      },
      O.Repeats);
  if (!Run)
    return Run.takeError();
  Me.Base = std::move(*Base);
  Me.Run = std::move(*Run);
  double Unit = microsPerTimeUnit(M.TimeUnit);
  Me.Time = Me.Run.OpMicros / Unit;
  Me.BaseTime = Me.Base.OpMicros / Unit;
  R.GradientsIdentical = Same;
  fillRows(R, P, Me, O, O.CheckRealTime);
  return Error::success();
}

/// The device pool's high-water mark against the predicted peak: the pool
/// rounds every allocation up, so it may be above the prediction but never
/// below it (below would mean the executor's bookkeeping counts bytes that
/// were not allocated). Its excess is reported; docs/runtime.md.
static void poolRows(ValidationReport &R, const Predictions &P) {
  if (!R.Run.Device.Available)
    return;
  auto Row = [](const char *Name, uint64_t Pred, uint64_t Pool) {
    Comparison C =
        compare(Name, double(Pred), double(Pool), INFINITY, false, true);
    C.Ok = Pool >= Pred;
    return C;
  };
  R.Rows.push_back(Row("peak_bytes_pool", P.Sched.PeakBytes,
                       R.Run.Device.PoolUsedHighBytes));
  R.Rows.push_back(Row("baseline_peak_bytes_pool", P.Base.PeakBytes,
                       R.Baseline.Device.PoolUsedHighBytes));
  for (const Comparison &C : R.Rows)
    R.Passed &= C.Ok;
}

static Error validateReal(ValidationReport &R, const Model &M,
                          const Schedule &S, Backend &Dev,
                          const ValidateOptions &O) {
  if (!M.isChain() || S.dialect() != Dialect::Chain)
    return badInput("--mode real runs chain schedules of chain models only");
  auto Net = real::RealNet::fromChain(*M.AsChain, O.Shape);
  if (!Net)
    return Net.takeError();
  auto P = predictReal(M, Net->chain(), S);
  if (!P)
    return P.takeError();
  if (!Dev.hostAccessible()) {
    // The same layers on the device (runtime/RealDevice.h).
    auto W = real::createDeviceRealWorkload(*Net, Dev);
    if (!W)
      return W.takeError();
    real::DeviceRealWorkload &DW = **W;
    auto Zero = [&] { return DW.zeroGrads(); };
    auto Grads = [&] { return DW.gradients(); };
    auto Input = [&] { return DW.inputGradient(); };
    RealHooks H{DW, Zero, Grads, Input};
    if (Error E = measureReal(R, M, S, Dev, O, H, *P))
      return E;
    poolRows(R, *P);
    return DW.takeError();
  }
  real::RealWorkload W(*Net);
  auto Zero = [&] {
    Net->zeroGrads();
    return Error::success();
  };
  auto Grads = [&]() -> Expected<std::vector<float>> {
    return Net->gradients();
  };
  auto Input = [&] { return W.inputGradient(); };
  RealHooks H{W, Zero, Grads, Input};
  return measureReal(R, M, S, Dev, O, H, *P);
}

/// Refuses a synthetic run whose busy time, estimated before it starts,
/// exceeds O.MaxBusySeconds: the schedule and the store-everything baseline,
/// each run O.Repeats times. With an explicit scale the predicted times say
/// it; with the automatic one the schedule's ops average AutoOpMicros, and
/// the baseline, which runs no more ops than a complete schedule computes,
/// is allowed twice that again (its ops may be longer on average).
static Error checkBusyTime(const Schedule &S, const ValidateOptions &O) {
  double Micros =
      O.MicrosPerUnit > 0
          ? (S.Predicted.Time + S.Predicted.BaselineTime) * O.MicrosPerUnit
          : AutoOpMicros * 3 * double(S.numOps());
  double Seconds = Micros * double(O.Repeats) / 1e6;
  if (!(Seconds > O.MaxBusySeconds))
    return Error::success();
  return badInput(
      "validation would spin for about {:.3g} s ({} runs of the schedule and "
      "of store-everything), over the {:.3g} s limit; lower --time-scale or "
      "--repeat, or raise --max-seconds",
      Seconds, O.Repeats, O.MaxBusySeconds);
}

Expected<ValidationReport> validateSchedule(const Model &M, const Schedule &S,
                                            const ValidateOptions &O) {
  if (O.Repeats == 0)
    return badInput("--repeat must be at least 1");
  if (!(O.MicrosPerUnit >= 0))
    return badInput("--time-scale must be positive");
  if (O.MemoryCapBytes == 0)
    return badInput("--memory-cap must be positive");
  if (O.Mode == WorkloadMode::Synthetic)
    if (Error E = checkBusyTime(S, O))
      return E;
  if (S.dialect() == Dialect::Chain && !M.isChain())
    return badInput(
        "a chain-dialect schedule needs a chain model; '{}' is a graph",
        M.Path);
  CpuBackendOptions Cpu;
  Cpu.Clock = O.Clock;
  Cpu.Fault = O.Fault;
  auto Dev = createBackend(O.Device, Cpu);
  if (!Dev)
    return Dev.takeError();
  ValidationReport R;
  R.Device = O.Device;
  R.DeviceDescription = (*Dev)->description();
  R.Mode = O.Mode;
  Error E = O.Mode == WorkloadMode::Real ? validateReal(R, M, S, **Dev, O)
            : S.dialect() == Dialect::Chain
                ? validateSyntheticChain(R, M, S, **Dev, O)
                : validateSyntheticGraph(R, M, S, **Dev, O);
  if (E)
    return E;
  return R;
}

} // namespace remat

//===- bench/chain_dp.cpp - Speed of the optimal chain planner ------------===//
//
// Seeded random heterogeneous chains with L in {50, 100, 200, 500, 1000}; for
// each, the optimal planner at 500 memory slots and in the default mode, at a
// budget one third of the way from the least feasible budget to the store-all
// peak. The second mode is the default (no slots asked): exact when it fits the
// time promise, else the slots that fit it.
// Prints the median wall and CPU time of the runs (the discretised mode runs
// its plan pass and its gap-bound pass one after the other, each on every
// hardware thread, so CPU covers both passes on all threads) and the DP
// tables' bytes, the planner's own memory. The default mode gives way to
// a memory grid beyond its time promise; the mode column then reads
// "default>N" (or "default>N/cK" with checkpoints at one stage in K).
//
// A second table times a rotor-style dense DP (bench/RotorBaseline.h) on the
// same rounded chains, for L up to --baseline-max-l (default 200; its table
// needs (L+1)^2 * 501 doubles), and checks that its optimum is the planner's
// (up to the float tables' slack from 128 stages on).
//
//   build-rel/bench/chain_dp [--runs N] [--max-l L] [--exact-max-l L]
//                            [--baseline-max-l L] [--threads N] [MODEL...]
//
// With MODEL files (chain models, e.g. data/models/*.json or your own), those
// chains are timed instead of the random ones, at the same budget rule.
//
// --threads sets ChainDPOptions::Threads (default 0: every hardware
// thread); --threads 1 gives the single-thread figures.
//
// --sweep 1 (issue 18) times instead the chains of bench::issue18Chain at
// L = 50, 100, 200, 400, 700, 1000 (from --min-l up to --max-l), budgets
// 30/50/70% of the store-all peak, in the default mode (exact or slots within
// the time promise) and at 500 slots; --slots-sweep 1 times L = 200 and 1000
// (up to
// --max-l) at 125..2000 slots; --exact-sweep 1 times --exact (no time
// promise) at L = 50, 100, 150, 200 and the three budgets, with the
// exponent of L per budget; --stride-sweep 1 times 500 and 2000 slots with
// checkpoints at one stage in c = 2, 3, 4, 6, 8 (ChainDPOptions::
// SplitStride), and 500 slots over every stage, at L = 400, 700, 1000 and
// the three budgets. Runs are interleaved (every case once per
// round, --runs rounds) and medians reported, with the exponents of a
// least-squares fit of log(CPU s) on log(L) and on log(slots).
//
//===----------------------------------------------------------------------===//

#include "graph/ModelLoader.h"
#include "planner/ChainDP.h"
#include "planner/ChainStrategies.h"
#include "planner/Simulator.h"
#include "planner/chain/ChainDPDense.h"

#include "BenchArgs.h"
#include "BenchChains.h"
#include "RotorBaseline.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace remat;

namespace {

using bench::benchChain;

double seconds(std::chrono::steady_clock::time_point Start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - Start)
      .count();
}

struct Measured {
  double MedianSeconds = 0;
  /// Process CPU time (every thread of both passes).
  double MedianCpuSeconds = 0;
  uint64_t TableBytes = 0;
  double Time = 0;
  double Gap = 0;
  /// The grid the plan was made with (0: exact).
  unsigned SlotsUsed = 0, StrideUsed = 1;
};

Measured measure(const Chain &C, uint64_t Budget, unsigned Slots, unsigned Runs,
                 unsigned Threads) {
  ChainDPOptions O;
  O.BudgetBytes = Budget;
  O.MemorySlots = Slots;
  O.Threads = Threads;
  std::vector<double> Times, Cpus;
  Measured M;
  for (unsigned R = 0; R < Runs; ++R) {
    auto Start = std::chrono::steady_clock::now();
    std::clock_t Cpu0 = std::clock();
    auto Res = planOptimalChain(C, O);
    Times.push_back(seconds(Start));
    Cpus.push_back(double(std::clock() - Cpu0) / CLOCKS_PER_SEC);
    if (!Res) {
      fmt::print(stderr, "planner failed: {}\n",
                 llvm::toString(Res.takeError()));
      std::exit(1);
    }
    M.TableBytes = Res->TableBytes;
    M.Time = Res->Time;
    M.Gap = Res->GapBound;
    M.SlotsUsed = Res->MemorySlots;
    M.StrideUsed = Res->SplitStride;
  }
  std::sort(Times.begin(), Times.end());
  M.MedianSeconds = Times[Times.size() / 2];
  std::sort(Cpus.begin(), Cpus.end());
  M.MedianCpuSeconds = Cpus[Cpus.size() / 2];
  return M;
}

/// "N" for an N-slot grid, "N/cK" with checkpoints at one stage in K.
std::string gridName(unsigned Slots, unsigned Stride) {
  std::string Name = std::to_string(Slots);
  return Stride > 1 ? Name + "/c" + std::to_string(Stride) : Name;
}

/// "500" for a 500-slot run; for the default mode "exact", or "default>N"
/// ("default>N/cK") when it chose that grid to keep its time promise.
std::string modeName(unsigned Slots, unsigned Used, unsigned Stride) {
  if (Slots)
    return std::to_string(Slots);
  return Used ? "default>" + gridName(Used, Stride) : "exact";
}

/// The rotor-style baseline on the same rounded chain as the 500-slot
/// planner: its median wall time over the runs, and whether its optimum is
/// the planner's.
void compareWithBaseline(const Chain &C, uint64_t Budget, unsigned Slots,
                         double PlannerTime, double PlannerWall,
                         double PlannerCpu, unsigned Runs) {
  // The grid of planSlots (planner/chain/ChainDP.cpp): floor(B / N), so all N
  // slots are usable, as rotor's.
  uint64_t Unit = std::max<uint64_t>(1, Budget / Slots);
  chaindp::DPChain Up = chaindp::roundedChain(C, Unit, true);
  std::vector<double> Times;
  double Opt = 0;
  for (unsigned R = 0; R < Runs; ++R) {
    auto Start = std::chrono::steady_clock::now();
    Opt = bench::rotorStyleOptimum(Up, Budget / Unit);
    Times.push_back(seconds(Start));
  }
  std::sort(Times.begin(), Times.end());
  double Base = Times[Times.size() / 2];
  // From SinglePrecisionFromStages on, the planner's tables are floats: its
  // plan is optimal up to their rounding slack (it reports the plan's exact
  // time, which is then at most that much above the optimum).
  bool Single = C.size() >= ChainDPOptions().SinglePrecisionFromStages;
  double Tol = std::max(1e-9, 2 * chaindp::denseSlack(C.size(), Single));
  bool Same = std::abs(Opt - PlannerTime) <= Tol * std::abs(Opt);
  fmt::print("{:>5} {:>10} {:>14.4f} {:>10.4f} {:>10.4f} {:>8.1f}x {:>8.1f}x "
             "{:>8}\n",
             C.size(), Slots, Base, PlannerWall, PlannerCpu, Base / PlannerWall,
             Base / PlannerCpu, Same ? "yes" : "NO");
}

/// A chain to time: a label for the table and the chain.
struct Input {
  std::string Label;
  Chain C;
};

/// The random bench chains up to \p MaxL stages, or the chains of the model
/// files given on the command line.
std::vector<Input> inputs(const std::vector<std::string> &Files,
                          unsigned MaxL) {
  std::vector<Input> Out;
  for (const std::string &F : Files) {
    auto M = loadModelFile(F);
    if (!M) {
      fmt::print(stderr, "error: {}\n", llvm::toString(M.takeError()));
      std::exit(2);
    }
    if (!M->isChain()) {
      fmt::print(stderr, "error: {}: a graph model; chain_dp times chains\n",
                 F);
      std::exit(2);
    }
    Out.push_back({M->Name, *M->AsChain});
  }
  if (Files.empty())
    for (unsigned L : {50u, 100u, 200u, 500u, 1000u})
      if (L <= MaxL)
        Out.push_back({"random", benchChain(L, 1000 + L)});
  return Out;
}

/// One case of the sweeps: a chain, its budget and the mode.
struct Case {
  unsigned L, Pct, Slots; // Slots 0: the default mode, or exact.
  bool Exact;
  unsigned Stride; // ChainDPOptions::SplitStride with Slots.
  Chain C;
  uint64_t Budget;
  std::vector<double> Wall, Cpu;
  ChainDPResult R;
};

Case makeCase(unsigned L, unsigned Pct, unsigned Slots, bool Exact = false,
              unsigned Stride = 1) {
  Chain C = bench::issue18Chain(L, 1800 + L);
  auto All = simulateChain(C, storeAllOps(C));
  if (!All) {
    fmt::print(stderr, "{}\n", llvm::toString(All.takeError()));
    std::exit(1);
  }
  return {L,  Pct, Slots, Exact, Stride, C, All->PeakBytes * Pct / 100,
          {}, {},  {}};
}

void runCase(Case &K, unsigned Threads) {
  ChainDPOptions O;
  O.BudgetBytes = K.Budget;
  O.MemorySlots = K.Slots;
  O.Exact = K.Exact;
  O.SplitStride = K.Stride;
  O.Threads = Threads;
  auto Start = std::chrono::steady_clock::now();
  std::clock_t Cpu0 = std::clock();
  auto Res = planOptimalChain(K.C, O);
  K.Wall.push_back(seconds(Start));
  K.Cpu.push_back(double(std::clock() - Cpu0) / CLOCKS_PER_SEC);
  if (!Res) {
    fmt::print(stderr, "L={} {}%: {}\n", K.L, K.Pct,
               llvm::toString(Res.takeError()));
    std::exit(1);
  }
  K.R = std::move(*Res);
}

double median(std::vector<double> V) {
  std::sort(V.begin(), V.end());
  return V[V.size() / 2];
}

/// The slope of the least-squares line through (log X, log Y).
double exponent(const std::vector<std::pair<double, double>> &XY) {
  double N = XY.size(), Sx = 0, Sy = 0, Sxx = 0, Sxy = 0;
  for (auto [X, Y] : XY) {
    double LX = std::log(X), LY = std::log(Y);
    Sx += LX;
    Sy += LY;
    Sxx += LX * LX;
    Sxy += LX * LY;
  }
  return (N * Sxy - Sx * Sy) / (N * Sxx - Sx * Sx);
}

/// The issue-18 sweeps; returns the process's exit status.
int sweep(bool Slots, bool Exact, bool Strides, unsigned MinL, unsigned MaxL,
          unsigned Runs, unsigned Threads) {
  std::vector<Case> Cases;
  if (Strides) {
    for (unsigned L : {400u, 700u, 1000u})
      for (unsigned Pct : {30u, 50u, 70u})
        for (unsigned Stride : {1u, 2u, 3u, 4u, 6u, 8u})
          for (unsigned N : {500u, 2000u})
            // 2000 slots over every stage: 30 s a case at L = 1,000.
            if (L >= MinL && L <= MaxL && (Stride > 1 || N == 500))
              Cases.push_back(makeCase(L, Pct, N, false, Stride));
  } else if (Exact) {
    for (unsigned L : {50u, 100u, 150u, 200u})
      for (unsigned Pct : {30u, 50u, 70u})
        if (L >= MinL && L <= MaxL)
          Cases.push_back(makeCase(L, Pct, 0, true));
  } else if (!Slots) {
    for (unsigned L : {50u, 100u, 200u, 400u, 700u, 1000u})
      for (unsigned Pct : {30u, 50u, 70u})
        for (unsigned N : {0u, 500u})
          if (L >= MinL && L <= MaxL)
            Cases.push_back(makeCase(L, Pct, N));
  } else {
    for (unsigned L : {200u, 1000u})
      for (unsigned N : {125u, 250u, 500u, 1000u, 2000u})
        if (L >= MinL && L <= MaxL)
          Cases.push_back(makeCase(L, 50, N));
  }
  for (unsigned R = 0; R < Runs; ++R)
    for (Case &K : Cases)
      runCase(K, Threads);
  fmt::print("{:>5} {:>4} {:>8} {:>10} {:>11} {:>10} {:>8} {:>9} {:>9} "
             "{:>8} {:>10}\n",
             "L", "pct", "asked", "ran", "plan ms", "gap ms", "gap %", "est s",
             "median s", "cpu s", "table MiB");
  std::vector<std::pair<double, double>> ByL, ByN;
  std::map<unsigned, std::vector<std::pair<double, double>>> ByExact;
  for (Case &K : Cases) {
    const ChainDPResult &R = K.R;
    std::string Ran =
        R.MemorySlots ? gridName(R.MemorySlots, R.SplitStride) : "exact";
    double Cpu = median(K.Cpu);
    std::string Asked = K.Slots   ? std::to_string(K.Slots)
                        : K.Exact ? "exact"
                                  : "default";
    fmt::print("{:>5} {:>4} {:>8} {:>10} {:>11.3f} {:>10.3f} {:>8.2f} "
               "{:>9.3f} {:>9.3f} {:>8.3f} {:>10.1f}\n",
               K.L, K.Pct, Asked, Ran, R.Time, R.GapBound,
               100 * R.GapBound / R.Time, R.EstimatedSeconds, median(K.Wall),
               Cpu, double(R.TableBytes) / (1 << 20));
    if (K.Slots == 500 && !Slots && !Strides)
      ByL.push_back({double(K.L), Cpu});
    if (Slots && K.L == Cases.back().L)
      ByN.push_back({double(K.Slots), Cpu});
    if (Exact)
      ByExact[K.Pct].push_back({double(K.L), Cpu});
  }
  for (auto &[Pct, XY] : ByExact)
    if (XY.size() > 1)
      fmt::print("exact, {}%: CPU time ~ L^{:.2f}\n", Pct, exponent(XY));
  if (ByL.size() > 1)
    fmt::print("500 slots: CPU time ~ L^{:.2f}\n", exponent(ByL));
  if (ByN.size() > 1)
    fmt::print("L = {}: CPU time ~ slots^{:.2f}\n", Cases.back().L,
               exponent(ByN));
  return 0;
}

} // namespace

int main(int Argc, char **Argv) {
  unsigned Runs = 3, MaxL = 1000, ExactMaxL = 1000, BaselineMaxL = 200,
           Threads = 0, Sweep = 0, SlotsSweep = 0, ExactSweep = 0, MinL = 0,
           StrideSweep = 0;
  std::vector<std::string> Files =
      bench::Flags("chain_dp [--runs N] [--max-l L] [--exact-max-l L] "
                   "[--baseline-max-l L] [--threads N (0: all)] [--sweep 1] "
                   "[--min-l L] "
                   "[--slots-sweep 1] [--exact-sweep 1] [--stride-sweep 1] "
                   "[MODEL...]")
          .add("--runs", Runs, 1)
          .add("--max-l", MaxL)
          .add("--exact-max-l", ExactMaxL)
          .add("--baseline-max-l", BaselineMaxL)
          .add("--threads", Threads)
          .add("--sweep", Sweep)
          .add("--min-l", MinL)
          .add("--slots-sweep", SlotsSweep)
          .add("--exact-sweep", ExactSweep)
          .add("--stride-sweep", StrideSweep)
          .positionals()
          .parse(Argc, Argv);
  if (Sweep || SlotsSweep || ExactSweep || StrideSweep)
    return sweep(SlotsSweep != 0, ExactSweep != 0, StrideSweep != 0, MinL, MaxL,
                 Runs, Threads);
  std::vector<Input> Inputs = inputs(Files, MaxL);
  fmt::print("{:<16} {:>5} {:>10} {:>12} {:>12} {:>10} {:>10} {:>10} {:>12}\n",
             "chain", "L", "slots", "budget MiB", "plan time", "gap bound",
             "median s", "cpu s", "tables MiB");
  struct Row {
    Chain C;
    uint64_t Budget;
    Measured M;
  };
  std::vector<Row> Slotted;
  for (const Input &In : Inputs) {
    const Chain &C = In.C;
    unsigned L = C.size();
    uint64_t Min = minFeasibleChainBudget(C);
    auto All = simulateChain(C, storeAllOps(C));
    if (!All) {
      fmt::print(stderr, "{}\n", llvm::toString(All.takeError()));
      return 1;
    }
    uint64_t Budget = Min + (All->PeakBytes - Min) / 3;
    for (unsigned Slots : {500u, 0u}) {
      if (Slots == 0 && L > ExactMaxL)
        continue;
      Measured M = measure(C, Budget, Slots, Runs, Threads);
      fmt::print("{:<16} {:>5} {:>10} {:>12.1f} {:>12.3f} {:>10.3f} {:>10.4f} "
                 "{:>10.4f} {:>12.2f}\n",
                 In.Label, L, modeName(Slots, M.SlotsUsed, M.StrideUsed),
                 Budget / 1048576.0, M.Time, M.Gap, M.MedianSeconds,
                 M.MedianCpuSeconds, M.TableBytes / 1048576.0);
      std::fflush(stdout);
      if (Slots && L <= BaselineMaxL)
        Slotted.push_back({C, Budget, M});
    }
  }
  // Same run, same rounded chains: the rotor-style dense DP's wall time
  // against the planner's wall and CPU time (both passes, plan and gap).
  fmt::print("\n{:>5} {:>10} {:>14} {:>10} {:>10} {:>9} {:>9} {:>8}\n", "L",
             "slots", "rotor-style s", "ours s", "ours cpu", "x wall", "x cpu",
             "same opt");
  for (const Row &R : Slotted)
    compareWithBaseline(R.C, R.Budget, 500, R.M.Time, R.M.MedianSeconds,
                        R.M.MedianCpuSeconds, Runs);
  return 0;
}

//===- planner/GraphLimit.h - One deterministic limit per graph call -*- C++
//-*-===//
//
// `--time-limit` covers a whole planGraphOptimal call. To keep the output
// deterministic (same input, byte-identical plan on any machine), the limit
// is not a clock but a count: the seconds are converted at a fixed rate
// (GraphWorkBudget::OpsPerSecond) into elementary operations, and every phase
// (the keep-set engine, the searches over keep sets and orders, the
// exhaustive search) charges what it does to one shared budget and stops
// when it is spent. The same input therefore stops at the same point
// everywhere. A wall clock at the limit itself (at least MinWallSeconds) is
// only a safety net for a
// machine much slower than the calibration (docs/limits.md); when it trips,
// the result is no longer deterministic, and wallClockTripped() says so.
// CBC, which only knows clocks, gets the budget left converted back to
// seconds and is charged the seconds it used.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_GRAPHLIMIT_H
#define REMAT_PLANNER_GRAPHLIMIT_H

#include <chrono>
#include <cstdint>

namespace remat {

/// A shared, deterministic work budget for one graph planning call.
class GraphWorkBudget {
public:
  /// Elementary operations (an op emitted or an input edge visited by the
  /// keep-set engine, a state of the exhaustive search) per second of the
  /// time limit. Calibrated on the development machine, a shared 2-core
  /// server, where the keep-set engine runs 4-8 times faster than this in a
  /// Release build: the budget is spent well before the clock.
  static constexpr double OpsPerSecond = 5e7;
  /// Work every call may spend, whatever the limit (a few milliseconds), so
  /// that tiny graphs are always solved, also with --time-limit 0.
  static constexpr uint64_t MinOps = 200'000;
  /// Least time the safety-net clock allows, seconds: MinOps take about
  /// 4 ms at the rate, but a slow build (sanitizers) must not lose the
  /// floor to the clock.
  static constexpr double MinWallSeconds = 1;

  /// A budget of \p Seconds (negative counts as 0; at least MinOps); the
  /// safety-net clock starts now.
  explicit GraphWorkBudget(double Seconds);

  /// Adds \p Ops to the work done.
  void charge(uint64_t Ops) { Used += Ops; }
  /// Charges \p Seconds of wall-clock time spent in a solver that only knows
  /// clocks (CBC), at OpsPerSecond.
  void chargeSeconds(double Seconds);
  /// The work is spent, or the safety-net clock has passed the limit.
  bool exhausted() const;
  /// Work done and the budget, in elementary operations.
  uint64_t used() const { return Used; }
  uint64_t limit() const { return Limit; }
  /// Work left (0 once spent).
  uint64_t left() const { return Used >= Limit ? 0 : Limit - Used; }
  /// Work left as seconds, capped by the clock's time left: for CBC.
  double secondsLeft() const;
  /// Seconds left before the safety-net clock trips: the clock of a search
  /// that counts its own work (the exhaustive search).
  double wallSecondsLeft() const;
  /// Whether the safety-net clock, rather than the count, stopped a phase:
  /// the result may then differ between runs.
  bool wallClockTripped() const;

private:
  uint64_t Used = 0, Limit = 0;
  double WallSeconds = 0;
  std::chrono::steady_clock::time_point Start;
  mutable bool Tripped = false;
};

} // namespace remat

#endif // REMAT_PLANNER_GRAPHLIMIT_H

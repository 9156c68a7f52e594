//===- planner/graph/GraphLimit.cpp - Deterministic limit -----------------===//

#include "planner/GraphLimit.h"

#include <algorithm>
#include <cmath>

namespace remat {

namespace {

double secondsSince(std::chrono::steady_clock::time_point T) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - T)
      .count();
}

} // namespace

GraphWorkBudget::GraphWorkBudget(double Seconds)
    : Start(std::chrono::steady_clock::now()) {
  // NaN and negatives count as 0; the cap keeps the product finite.
  double S = std::isfinite(Seconds) ? std::max(0.0, Seconds)
             : Seconds > 0          ? 1e9
                                    : 0.0;
  S = std::min(S, 1e9);
  WallSeconds = S;
  double Ops = S * OpsPerSecond;
  Limit = std::max<uint64_t>(MinOps, uint64_t(std::min(Ops, 1.8e19)));
}

void GraphWorkBudget::chargeSeconds(double Seconds) {
  if (Seconds > 0)
    charge(uint64_t(std::min(Seconds * OpsPerSecond, 1e18)));
}

bool GraphWorkBudget::wallClockTripped() const {
  // The net is the limit itself, but never below what MinOps needs.
  if (!Tripped && wallSecondsLeft() <= 0)
    Tripped = true;
  return Tripped;
}

bool GraphWorkBudget::exhausted() const {
  return Used >= Limit || wallClockTripped();
}

double GraphWorkBudget::wallSecondsLeft() const {
  return std::max(0.0,
                  std::max(WallSeconds, MinWallSeconds) - secondsSince(Start));
}

double GraphWorkBudget::secondsLeft() const {
  return std::min(double(left()) / OpsPerSecond, wallSecondsLeft());
}

} // namespace remat

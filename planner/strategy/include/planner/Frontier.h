//===- planner/Frontier.h - The budget -> time Pareto curve -----*- C++ -*-===//
//
// The optimal planner's whole budget -> time curve in one DP run, with the
// classic strategies placed on the same axes and the knee marked. Chain
// models only for now; graph models get a clear error (see
// computeGraphFrontier in Frontier.cpp, the hook for the graph planner).
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_FRONTIER_H
#define REMAT_PLANNER_FRONTIER_H

#include "graph/Graph.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace remat {

struct FrontierOptions {
  /// Memory slots for a discretised curve (each point a valid plan, times
  /// upper bounds on the exact curve); 0 means exact. Negative is not
  /// possible; `AutoSlots` picks exact for short chains.
  unsigned MemorySlots = 0;
  /// When set, chains longer than `ExactMaxStages` use 2000 slots, fewer
  /// for long chains (about 4e9 / (L^3 / 6), at least 100).
  bool AutoSlots = true;
  /// Longest chain for which the automatic choice is exact, stages.
  unsigned ExactMaxStages = 40;
  /// Place the classic strategies on the curve.
  bool WithStrategies = true;
};

/// One breakpoint: from BudgetBytes on the least time is Time.
struct FrontierPoint {
  /// Activation budget, bytes.
  uint64_t BudgetBytes = 0;
  /// Least time within it, model time unit.
  double Time = 0;
  /// Time / baseline time - 1.
  double Overhead = 0;
};

/// A classic strategy's plan as a point (peak, time).
struct StrategyPoint {
  /// E.g. "sequential --segments 4".
  std::string Label;
  /// Strategy name, e.g. "sequential".
  std::string Strategy;
  uint64_t PeakBytes = 0;
  /// Model time unit.
  double Time = 0;
  double Overhead = 0;
};

struct Frontier {
  std::vector<FrontierPoint> Points;
  std::vector<StrategyPoint> Strategies;
  /// Index into Points of the knee (see kneeIndex).
  size_t Knee = 0;
  /// Store-all plan: time (model unit) and peak (bytes).
  double BaselineTime = 0;
  uint64_t BaselinePeakBytes = 0;
  /// Memory slots used; 0 when exact.
  unsigned MemorySlots = 0;
  /// Graph models: the points were sampled with the scalable graph planner
  /// at evenly spaced budgets (each a simulated plan; an upper bound on the
  /// exact curve) rather than computed exactly.
  bool Sampled = false;
  std::string TimeUnit;
};

/// The knee of a curve: the breakpoint farthest from the chord between the
/// first (least budget) and last (least time) points, both axes scaled to
/// [0, 1]. Ties go to the smaller budget; 0 for fewer than three points.
size_t kneeIndex(llvm::ArrayRef<FrontierPoint> Points);

/// The curve of \p M: exact or discretised for chains (planner/ChainDP.h),
/// sampled with the scalable planner for graph models.
llvm::Expected<Frontier> computeFrontier(const Model &M,
                                         const FrontierOptions &Opts = {});

} // namespace remat

#endif // REMAT_PLANNER_FRONTIER_H

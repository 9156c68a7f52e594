//===- planner/Defaults.h - Option defaults and named values ----*- C++ -*-===//
//
// One named constant for each default an option of several planners shares,
// and the enums that replace option strings. The CLI's help texts print
// these values; change them here only.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_DEFAULTS_H
#define REMAT_PLANNER_DEFAULTS_H

#include "llvm/ADT/StringRef.h"

#include <optional>

namespace remat {

/// Solver time limit of the exact graph planner (`plan --time-limit`),
/// seconds; also what the graph frontier gives each scalable call.
constexpr double DefaultTimeLimitSeconds = 60;

/// Time limit of each optimal planner call of `maxbatch` on graphs, seconds.
constexpr double DefaultMaxBatchTimeLimitSeconds = 10;

/// How `optimal` plans a graph (`plan --mode`).
enum class GraphMode {
  /// Exact up to a size, else scalable.
  Auto,
  /// The exhaustive search or the MILP (CBC).
  Exact,
  /// The keep-set planner of planner/GraphScalable.h.
  Scalable,
};

/// The mode's CLI spelling: "auto", "exact" or "scalable".
inline llvm::StringRef graphModeName(GraphMode M) {
  switch (M) {
  case GraphMode::Auto:
    return "auto";
  case GraphMode::Exact:
    return "exact";
  case GraphMode::Scalable:
    return "scalable";
  }
  return "auto";
}

/// The mode spelled \p S; none for an unknown spelling.
inline std::optional<GraphMode> parseGraphMode(llvm::StringRef S) {
  for (GraphMode M : {GraphMode::Auto, GraphMode::Exact, GraphMode::Scalable})
    if (S == graphModeName(M))
      return M;
  return std::nullopt;
}

} // namespace remat

#endif // REMAT_PLANNER_DEFAULTS_H

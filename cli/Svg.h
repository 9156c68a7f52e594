//===- cli/Svg.h - SVG plots for papers and reports -------------*- C++ -*-===//
//
// Self-contained SVG (no scripts, no external fonts): the budget -> time
// frontier with the classic strategies as points, and a schedule's memory
// over time. Output is deterministic for the same input.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_CLI_SVG_H
#define REMAT_CLI_SVG_H

#include "graph/Graph.h"
#include "planner/Frontier.h"
#include "planner/Schedule.h"
#include "planner/Simulator.h"

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>

namespace remat::cli {

/// The frontier as a step line (budget on x in a binary unit, time on y in
/// \p F's time unit), strategies as labelled markers with a legend, the knee
/// circled, and \p Title on top.
std::string renderFrontierSvg(const Frontier &F, llvm::StringRef Title);

/// Resident memory over the run of \p S: x is cumulative time in the model's
/// unit (op index when every op takes zero time), y resident bytes. Draws
/// the saw-tooth of resident memory, each op's peak (resident plus its
/// workspace) where it exceeds the resident line, and a dashed budget line
/// when \p BudgetBytes is set. \p Sim must have been run with
/// SimOptions::RecordTimeline.
std::string renderMemoryTimelineSvg(const Model &M, const Schedule &S,
                                    const SimResult &Sim,
                                    std::optional<uint64_t> BudgetBytes);

} // namespace remat::cli

#endif // REMAT_CLI_SVG_H

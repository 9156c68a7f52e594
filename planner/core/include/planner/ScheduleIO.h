//===- planner/ScheduleIO.h - Schedule files --------------------*- C++ -*-===//
//
// Reading and writing schedule files (spec §3), both dialects. Output is
// deterministic: the same schedule gives byte-identical text.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_SCHEDULEIO_H
#define REMAT_PLANNER_SCHEDULEIO_H

#include "graph/Graph.h"
#include "planner/Schedule.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace remat {

/// Serialises \p S as a schedule file (pretty JSON, trailing newline). Op
/// names come from \p M.
std::string scheduleToJson(const Schedule &S, const Model &M);

/// Parses schedule text. \p M resolves graph-dialect node names and checks
/// chain layer indices; it may be null for a chain-dialect file, in which
/// case indices are unchecked. \p Path is used in messages.
llvm::Expected<Schedule>
parseScheduleText(llvm::StringRef Text, llvm::StringRef Path, const Model *M);

/// Reads a schedule file; see parseScheduleText.
llvm::Expected<Schedule> loadScheduleFile(llvm::StringRef Path, const Model *M);

/// Fails unless \p S was made for \p M (model_sha256 equal) or \p Force.
llvm::Error checkScheduleModel(const Schedule &S, const Model &M, bool Force);

} // namespace remat

#endif // REMAT_PLANNER_SCHEDULEIO_H

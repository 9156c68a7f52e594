//===- cli/Common.h - Helpers shared by the commands ------------*- C++ -*-===//
#ifndef REMAT_CLI_COMMON_H
#define REMAT_CLI_COMMON_H

#include "cli/Args.h"
#include "graph/Graph.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <optional>
#include <string>

namespace remat::cli {

/// Exit codes of spec §4.
enum ExitCode : int {
  ExitOk = 0,
  ExitMismatch = 1,
  ExitBadInput = 2,
  ExitInfeasible = 3,
  ExitInternal = 4,
};

/// Prints "remat: error: <message>" for \p E on \p Err and returns the exit
/// code its kind maps to: InfeasibleBudgetError -> 3, InvalidScheduleError ->
/// 1, InternalError -> 4, anything else -> 2.
int reportError(llvm::Error E, llvm::raw_ostream &Err);

/// As reportError; in addition, with \p Json and an InvalidScheduleError,
/// first prints {"schedule": \p SchedulePath, "valid": false, "error": ...}
/// on \p Out, so that `--json` answers with one object even then.
int reportScheduleError(llvm::Error E, bool Json, llvm::StringRef SchedulePath,
                        llvm::raw_ostream &Out, llvm::raw_ostream &Err);

/// Parses \p Args into \p P. Returns the exit code when the command must stop
/// here: 0 after printing --help to \p Out, 2 after reporting a usage error
/// to \p Err. Returns none when the command should go on.
std::optional<int> parseArgs(ArgParser &P, llvm::ArrayRef<std::string> Args,
                             unsigned MinPos, unsigned MaxPos,
                             llvm::raw_ostream &Out, llvm::raw_ostream &Err);

/// Writes \p Contents to \p Path; "-" means \p Out. A regular file is
/// replaced through a temporary file and a rename, so a failure never
/// leaves a partial file, and keeps its mode; a symbolic link is followed
/// (the link stays); a device or FIFO is written through. Refused, with
/// errors that name \p Path: an empty path, a directory, a read-only file,
/// and a path that is the same file as one of \p Inputs (the command's
/// input files, which the output would destroy).
llvm::Error writeOutput(llvm::StringRef Path, llvm::StringRef Contents,
                        llvm::raw_ostream &Out,
                        llvm::ArrayRef<std::string> Inputs = {});

/// \p Text (a name or other text from an input file) safe to print in text
/// output: control bytes, Unicode line separators and bidirectional
/// overrides are escaped (remat::safeName), so a name cannot move the
/// cursor, hide text or start a line of its own.
std::string printable(llvm::StringRef Text);

/// Adds --budget and --device-memory to \p P.
void addBudgetOptions(ArgParser &P);

/// The activation budget from --budget, or from --device-memory minus the
/// model's static bytes; none when neither is given. Both at once, or device
/// memory below the static bytes, is an error.
llvm::Expected<std::optional<uint64_t>> budgetFromArgs(const ArgParser &P,
                                                       const Model &M);

/// Fixed-point formatting for tables and JSON-free output: "%.*f".
std::string fixed(double V, int Digits);

} // namespace remat::cli

#endif // REMAT_CLI_COMMON_H

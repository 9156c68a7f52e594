//===- cli/Driver.h - Entry point of the remat command line -----*- C++ -*-===//
#ifndef REMAT_CLI_DRIVER_H
#define REMAT_CLI_DRIVER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace remat::cli {

/// Runs `remat Args...` (Args excludes the program name) and returns the exit
/// code: 0 ok, 1 validation mismatch, 2 usage or bad input, 3 infeasible
/// budget. Normal output goes to \p Out, diagnostics to \p Err.
int runRemat(llvm::ArrayRef<std::string> Args, llvm::raw_ostream &Out,
             llvm::raw_ostream &Err);

/// Runs \p Fn and returns its exit code; a std::bad_alloc or other
/// std::exception that escapes it becomes one line on \p Err and exit code 2
/// (never "terminate called"). runRemat runs every command through it.
int runGuarded(llvm::function_ref<int()> Fn, llvm::raw_ostream &Err);

} // namespace remat::cli

#endif // REMAT_CLI_DRIVER_H

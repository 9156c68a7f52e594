//===- graph/Errors.h - The one way to report bad input ---------*- C++ -*-===//
//
// Bad input (exit 2) is a plain llvm::StringError. badInput builds one from
// an fmt format string, so no call site spells out inconvertibleErrorCode.
// The error kinds with their own exit codes live in planner/Errors.h.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_GRAPH_ERRORS_H
#define REMAT_GRAPH_ERRORS_H

#include "llvm/Support/Error.h"

#include <fmt/format.h>

#include <utility>

namespace remat {

/// A bad-input error whose message is fmt::format(Fmt, Args...); the
/// message should name the file, the place and the bad value.
template <typename... Args>
llvm::Error badInput(fmt::format_string<Args...> Fmt, Args &&...A) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 fmt::format(Fmt, std::forward<Args>(A)...));
}

} // namespace remat

#endif // REMAT_GRAPH_ERRORS_H

//===- cli/main.cpp - The remat tool --------------------------------------===//
//
// Thin by design: everything lives in the testable cli library.
//
//===----------------------------------------------------------------------===//

#include "cli/Driver.h"

#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <unistd.h>
#include <vector>

/// LLVM's containers (SmallVector, DenseMap) report a failed allocation here
/// instead of throwing std::bad_alloc; without a handler LLVM prints "LLVM
/// ERROR: out of memory" and aborts. The handler must not return, and LLVM
/// is built without exceptions, so it writes one line and ends the process
/// with the bad-input exit code, like runRemat's guard for std::bad_alloc.
static void outOfMemory(void *, const char *Reason, bool) {
  static const char Msg[] =
      "remat: error: out of memory: the input needs more memory than this "
      "machine gives (see docs/limits.md for the limits that are checked "
      "before starting)\n";
  // Nothing that allocates: write(2) directly.
  ssize_t Ignored = ::write(2, Msg, sizeof(Msg) - 1);
  (void)Ignored;
  (void)Reason;
  ::_exit(2);
}

int main(int argc, char **argv) {
  llvm::install_bad_alloc_error_handler(outOfMemory);
  std::vector<std::string> Args(argv + 1, argv + argc);
  int Code = remat::cli::runRemat(Args, llvm::outs(), llvm::errs());
  llvm::outs().flush();
  return Code;
}

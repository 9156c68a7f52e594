//===- cli/main.cpp - The remat tool --------------------------------------===//
//
// Thin by design: everything lives in the testable cli library.
//
//===----------------------------------------------------------------------===//

#include "cli/Driver.h"

#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

int main(int argc, char **argv) {
  std::vector<std::string> Args(argv + 1, argv + argc);
  int Code = remat::cli::runRemat(Args, llvm::outs(), llvm::errs());
  llvm::outs().flush();
  return Code;
}

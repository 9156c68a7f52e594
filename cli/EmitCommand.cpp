//===- cli/EmitCommand.cpp - placeholder until its issue lands -----------------===//
#include "cli/Commands.h"
#include "cli/Common.h"
namespace remat::cli {
int runEmit(llvm::ArrayRef<std::string>, llvm::raw_ostream &, llvm::raw_ostream &Err) {
  Err << "remat: error: this command is not implemented yet\n";
  return ExitBadInput;
}
} // namespace remat::cli

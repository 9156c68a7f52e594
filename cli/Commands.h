//===- cli/Commands.h - One function per remat command ----------*- C++ -*-===//
//
// Each command lives in cli/<Name>Command.cpp. It parses its own options,
// writes normal output to Out and diagnostics to Err, and returns an exit
// code from cli/Common.h.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_CLI_COMMANDS_H
#define REMAT_CLI_COMMANDS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace remat::cli {

using CommandFn = int (*)(llvm::ArrayRef<std::string> Args,
                          llvm::raw_ostream &Out, llvm::raw_ostream &Err);

int runInspect(llvm::ArrayRef<std::string>, llvm::raw_ostream &,
               llvm::raw_ostream &);
int runGen(llvm::ArrayRef<std::string>, llvm::raw_ostream &,
           llvm::raw_ostream &);
int runPlan(llvm::ArrayRef<std::string>, llvm::raw_ostream &,
            llvm::raw_ostream &);
int runSimulate(llvm::ArrayRef<std::string>, llvm::raw_ostream &,
                llvm::raw_ostream &);
int runCompare(llvm::ArrayRef<std::string>, llvm::raw_ostream &,
               llvm::raw_ostream &);
int runFrontier(llvm::ArrayRef<std::string>, llvm::raw_ostream &,
                llvm::raw_ostream &);
int runMaxbatch(llvm::ArrayRef<std::string>, llvm::raw_ostream &,
                llvm::raw_ostream &);
int runValidate(llvm::ArrayRef<std::string>, llvm::raw_ostream &,
                llvm::raw_ostream &);
int runProfile(llvm::ArrayRef<std::string>, llvm::raw_ostream &,
               llvm::raw_ostream &);
int runEmit(llvm::ArrayRef<std::string>, llvm::raw_ostream &,
            llvm::raw_ostream &);

} // namespace remat::cli

#endif // REMAT_CLI_COMMANDS_H

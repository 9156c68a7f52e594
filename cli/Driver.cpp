//===- cli/Driver.cpp - Entry point of the remat command line -------------===//

#include "cli/Driver.h"

#include "cli/Commands.h"
#include "cli/Common.h"

#include "llvm/ADT/StringRef.h"

#include <exception>
#include <new>

namespace remat::cli {

namespace {
struct CommandEntry {
  const char *Name;
  CommandFn Fn;
  const char *Summary;
};
} // namespace

// The table is constant data, not mutable global state.
static constexpr CommandEntry Commands[] = {
    {"inspect", runInspect, "summarise a model file"},
    {"plan", runPlan, "write a checkpointing schedule for a strategy"},
    {"simulate", runSimulate, "re-check a schedule: validity, peak, time"},
    {"compare", runCompare, "table of strategies: peak, time, overhead"},
    {"frontier", runFrontier, "the budget -> time Pareto curve"},
    {"maxbatch", runMaxbatch, "the largest batch that fits, per strategy"},
    {"validate", runValidate, "run a schedule; predicted versus measured"},
    {"profile", runProfile, "measure real layers and write a model file"},
    {"emit", runEmit, "trainer-facing output for a schedule"},
    {"gen", runGen, "generate model files analytically"},
};

static void printUsage(llvm::raw_ostream &OS) {
  OS << "usage: remat COMMAND [options]\n\n"
        "remat plans which activations to keep and which to recompute when "
        "training\na deep network under a memory budget, verifies every plan "
        "with a simulator,\nand measures it on a real executor.\n\n"
        "commands:\n";
  for (const CommandEntry &C : Commands) {
    llvm::StringRef Name = C.Name;
    OS << "  " << Name;
    OS.indent(12 - Name.size());
    OS << C.Summary << "\n";
  }
  OS << "\nRun 'remat COMMAND --help' for a command's options.\n"
        "Exit codes: 0 ok, 1 validation mismatch, 2 usage or bad input, "
        "3 infeasible budget.\n";
}

int runGuarded(llvm::function_ref<int()> Fn, llvm::raw_ostream &Err) {
  try {
    return Fn();
  } catch (const std::bad_alloc &) {
    Err << "remat: error: out of memory: the input needs more memory than "
           "this machine gives (see docs/limits.md for the limits that are "
           "checked before starting)\n";
  } catch (const std::exception &E) {
    Err << "remat: error: internal error: " << E.what() << "\n";
  }
  return ExitBadInput;
}

int runRemat(llvm::ArrayRef<std::string> Args, llvm::raw_ostream &Out,
             llvm::raw_ostream &Err) {
  if (Args.empty()) {
    printUsage(Err);
    return ExitBadInput;
  }
  llvm::StringRef Cmd = Args.front();
  if (Cmd == "--help" || Cmd == "-h" || Cmd == "help") {
    printUsage(Out);
    return ExitOk;
  }
  for (const CommandEntry &C : Commands)
    if (Cmd == C.Name)
      return runGuarded([&] { return C.Fn(Args.drop_front(), Out, Err); }, Err);
  Err << "remat: error: unknown command '" << Cmd
      << "' (run 'remat --help' for the list)\n";
  return ExitBadInput;
}

} // namespace remat::cli

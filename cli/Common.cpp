//===- cli/Common.cpp - Helpers shared by the commands --------------------===//

#include "cli/Common.h"

#include "graph/Size.h"
#include "planner/Errors.h"

#include "llvm/Support/raw_ostream.h"

#include <fmt/format.h>

using namespace llvm;

namespace remat::cli {

int reportError(Error E, raw_ostream &Err) {
  int Code = ExitBadInput;
  handleAllErrors(
      std::move(E),
      [&](const InfeasibleBudgetError &IE) {
        Code = ExitInfeasible;
        Err << "remat: error: " << IE.message() << "\n";
      },
      [&](const InvalidScheduleError &SE) {
        Code = ExitMismatch;
        Err << "remat: error: invalid schedule: " << SE.Msg << "\n";
      },
      [&](const InternalError &IE) {
        Code = ExitInternal;
        Err << "remat: error: " << IE.message() << "\n";
      },
      [&](const ErrorInfoBase &EI) {
        Err << "remat: error: " << EI.message() << "\n";
      });
  return Code;
}

std::optional<int> parseArgs(ArgParser &P, ArrayRef<std::string> Args,
                             unsigned MinPos, unsigned MaxPos, raw_ostream &Out,
                             raw_ostream &Err) {
  if (Error E = P.parse(Args, MinPos, MaxPos))
    return reportError(std::move(E), Err);
  if (P.helpRequested()) {
    P.printHelp(Out);
    return ExitOk;
  }
  return std::nullopt;
}

Error writeOutput(StringRef Path, StringRef Contents, raw_ostream &Out) {
  if (Path.empty() || Path == "-") {
    Out << Contents;
    return Error::success();
  }
  // writeToOutput writes a temporary file beside the target and renames it.
  return llvm::writeToOutput(Path, [&](raw_ostream &OS) {
    OS << Contents;
    return Error::success();
  });
}

void addBudgetOptions(ArgParser &P) {
  P.option("budget", "SIZE",
           "activation budget: x_0, activations, saved tensors, gradients "
           "and workspaces (e.g. 8GiB, 500MB, 123456)");
  P.option("device-memory", "SIZE",
           "total device memory; the model's static_bytes (parameters, "
           "gradients, optimizer) are subtracted to get the budget");
}

Expected<std::optional<uint64_t>> budgetFromArgs(const ArgParser &P,
                                                 const Model &M) {
  auto Budget = P.getSize("budget");
  if (!Budget)
    return Budget.takeError();
  auto Device = P.getSize("device-memory");
  if (!Device)
    return Device.takeError();
  if (*Budget && *Device)
    return createStringError(inconvertibleErrorCode(),
                             "give either --budget or --device-memory, not "
                             "both");
  if (*Budget)
    return *Budget;
  if (!*Device)
    return std::optional<uint64_t>();
  uint64_t Static = M.Static.total();
  if (**Device < Static)
    return createStringError(
        inconvertibleErrorCode(),
        "--device-memory %s is smaller than the model's static bytes %s "
        "(parameters + gradients + optimizer); nothing is left for "
        "activations",
        formatSize(**Device).c_str(), formatSize(Static).c_str());
  return std::optional<uint64_t>(**Device - Static);
}

std::string fixed(double V, int Digits) {
  return fmt::format("{:.{}f}", V, Digits);
}

} // namespace remat::cli

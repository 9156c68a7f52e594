//===- cli/Common.cpp - Helpers shared by the commands --------------------===//

#include "cli/Common.h"
#include "graph/Errors.h"

#include "emit/Emit.h"
#include "graph/Size.h"
#include "planner/Errors.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

using namespace llvm;

namespace remat::cli {

int reportScheduleError(Error E, bool Json, StringRef SchedulePath,
                        raw_ostream &Out, raw_ostream &Err) {
  if (!Json || !E.isA<InvalidScheduleError>())
    return reportError(std::move(E), Err);
  std::string Msg = toString(std::move(E));
  Out << nlohmann::ordered_json{{"schedule", SchedulePath.str()},
                                {"valid", false},
                                {"error", Msg}}
             .dump(2)
      << "\n";
  return reportError(make_error<InvalidScheduleError>(Msg), Err);
}

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

static Error fileError(StringRef Path, const Twine &Msg) {
  return badInput("{}", (Path + ": " + Msg).str());
}

/// Writes straight into \p Path (a device, a FIFO, or a dangling link's
/// target): no temporary file, which would replace the node.
static Error writeThrough(StringRef Path, StringRef Contents) {
  std::error_code EC;
  raw_fd_ostream OS(Path, EC, sys::fs::OF_None);
  if (EC)
    return fileError(Path, "cannot write: " + EC.message());
  OS << Contents;
  OS.close();
  if (OS.has_error()) {
    std::error_code WE = OS.error();
    OS.clear_error();
    return fileError(Path, "cannot write: " + WE.message());
  }
  return Error::success();
}

/// Writes \p Contents to a temporary file beside \p Path with \p Mode and
/// renames it over \p Path.
static Error replaceFile(StringRef Path, StringRef Contents,
                         sys::fs::perms Mode) {
  SmallString<256> Tmp(Path);
  Tmp += ".tmp-%%%%%%";
  int FD;
  SmallString<256> TmpPath;
  if (std::error_code EC =
          sys::fs::createUniqueFile(Tmp, FD, TmpPath, sys::fs::OF_None, Mode))
    return fileError(Path, "cannot write: " + EC.message());
  {
    raw_fd_ostream OS(FD, /*shouldClose=*/true);
    OS << Contents;
    OS.close();
    if (OS.has_error()) {
      std::error_code WE = OS.error();
      OS.clear_error();
      sys::fs::remove(TmpPath);
      return fileError(Path, "cannot write: " + WE.message());
    }
  }
  // createUniqueFile applies the umask; the target's own mode wins.
  sys::fs::setPermissions(TmpPath, Mode);
  if (std::error_code EC = sys::fs::rename(TmpPath, Path)) {
    sys::fs::remove(TmpPath);
    return fileError(Path, "cannot write: " + EC.message());
  }
  return Error::success();
}

Error writeOutput(StringRef Path, StringRef Contents, raw_ostream &Out,
                  ArrayRef<std::string> Inputs) {
  if (Path == "-") {
    Out << Contents;
    return Error::success();
  }
  if (Path.empty())
    return badInput("the output path is empty (use - for stdout)");
  for (const std::string &In : Inputs)
    if (sys::fs::equivalent(Path, In))
      return fileError(Path, "is also an input of this command (" + In +
                                 "); refusing to overwrite it");
  // Follow a symbolic link to the file it names, so the link stays.
  SmallString<256> Real;
  if (sys::fs::is_symlink_file(Path) && !sys::fs::real_path(Path, Real))
    Path = Real;
  sys::fs::file_status St;
  if (sys::fs::status(Path, St))
    return sys::fs::is_symlink_file(Path)
               ? writeThrough(Path, Contents) // a dangling link: create it
               : replaceFile(Path, Contents, sys::fs::perms(0666));
  if (St.type() == sys::fs::file_type::directory_file)
    return fileError(Path, "cannot write: it is a directory");
  if (St.type() != sys::fs::file_type::regular_file)
    return writeThrough(Path, Contents); // a device, a FIFO, a socket
  // A read-only file stays as it is, even for root (who may rename over it).
  if (!(St.permissions() & sys::fs::all_write) || !sys::fs::can_write(Path))
    return fileError(Path, "is read-only; refusing to replace it");
  return replaceFile(Path, Contents, St.permissions());
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
    return badInput("give either --budget or --device-memory, not "
                    "both");
  if (*Budget)
    return *Budget;
  if (!*Device)
    return std::optional<uint64_t>();
  uint64_t Static = M.Static.total();
  if (**Device < Static)
    return badInput(
        "--device-memory {} is smaller than the model's static bytes {} "
        "(parameters + gradients + optimizer); nothing is left for "
        "activations",
        formatSize(**Device), formatSize(Static));
  return std::optional<uint64_t>(**Device - Static);
}

std::string printable(StringRef Text) { return safeName(Text); }

std::string fixed(double V, int Digits) {
  return fmt::format("{:.{}f}", V, Digits);
}

} // namespace remat::cli

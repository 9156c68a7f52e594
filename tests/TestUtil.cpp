//===- tests/TestUtil.cpp - Shared helpers for the doctest suites ---------===//

#include "TestUtil.h"

#include "cli/Driver.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <cstdlib>

namespace remat::test {

static bool UpdateGolden = [] {
  const char *E = std::getenv("REMAT_UPDATE_GOLDEN");
  return E && *E && std::string(E) != "0";
}();

bool updateGolden() { return UpdateGolden; }
void setUpdateGolden(bool On) { UpdateGolden = On; }

void skipTest(const std::string &Why) {
  std::printf("SKIPPED: %s\n", Why.c_str());
  std::fflush(stdout);
  const char *Env = std::getenv("REMAT_CTEST_SKIP");
  // _Exit, not exit: the case is abandoned mid-way, so neither doctest's
  // report nor static destructors should run over its half-built state.
  if (Env && std::string(Env) == "1")
    std::_Exit(77);
}

std::string sourcePath(const std::string &Rel) {
  return std::string(REMAT_SOURCE_DIR) + "/" + Rel;
}

static std::string readAll(const std::string &Path, bool &Ok) {
  auto Buf = llvm::MemoryBuffer::getFile(Path);
  Ok = bool(Buf);
  return Ok ? (*Buf)->getBuffer().str() : std::string();
}

std::string checkGolden(const std::string &Name, const std::string &Actual) {
  std::string Path = sourcePath("tests/golden/" + Name);
  if (UpdateGolden) {
    llvm::sys::fs::create_directories(llvm::sys::path::parent_path(Path));
    std::error_code EC;
    llvm::raw_fd_ostream OS(Path, EC);
    if (EC)
      return "cannot write " + Path + ": " + EC.message();
    OS << Actual;
    return "";
  }
  bool Ok = false;
  std::string Expected = readAll(Path, Ok);
  if (!Ok)
    return "missing golden file " + Path +
           " (run the test binary with --update-golden)";
  if (Expected == Actual)
    return "";
  // Report the first differing line, which is what a reader needs.
  size_t Pos = 0;
  while (Pos < Expected.size() && Pos < Actual.size() &&
         Expected[Pos] == Actual[Pos])
    ++Pos;
  size_t LineStart = Expected.rfind('\n', Pos);
  LineStart = LineStart == std::string::npos ? 0 : LineStart + 1;
  auto lineAt = [&](const std::string &S) {
    size_t End = S.find('\n', LineStart);
    return S.substr(LineStart, End == std::string::npos ? std::string::npos
                                                        : End - LineStart);
  };
  return "golden " + Name + " differs at byte " + std::to_string(Pos) +
         "\n  expected: " + lineAt(Expected) +
         "\n  actual:   " + lineAt(Actual);
}

CliResult runCli(const std::vector<std::string> &Args) {
  CliResult R;
  llvm::raw_string_ostream Out(R.Out), Err(R.Err);
  R.Code = remat::cli::runRemat(Args, Out, Err);
  Out.flush();
  Err.flush();
  return R;
}

TempFile::TempFile(const std::string &Name, const std::string &Contents) {
  llvm::SmallString<128> D;
  llvm::sys::fs::createUniqueDirectory("remat-test", D);
  Dir = std::string(D);
  Path = Dir + "/" + Name;
  if (!Contents.empty()) {
    std::error_code EC;
    llvm::raw_fd_ostream OS(Path, EC);
    OS << Contents;
  }
}

TempFile::~TempFile() {
  llvm::sys::fs::remove(Path);
  llvm::sys::fs::remove_directories(Dir);
}

std::string TempFile::read() const {
  bool Ok = false;
  return readAll(Path, Ok);
}

} // namespace remat::test

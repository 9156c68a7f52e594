//===- tests/cli/OutputTest.cpp - Where -o and --svg write ----------------===//
//
// An output never destroys an input, a device or a link: the same file as
// an input is refused, devices and FIFOs are written through, links are
// followed, modes are kept and read-only files are refused (issue 17).
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace remat::test;

namespace {
std::string slurp(const std::string &Path) {
  std::ifstream In(Path);
  std::stringstream SS;
  SS << In.rdbuf();
  return SS.str();
}

std::string chain4Text() { return slurp(sourcePath("tests/data/chain4.json")); }

/// The schedule of chain4 for sqrt, written by plan.
std::string sqrtPlan(const std::string &Model) {
  auto R = runCli({"plan", Model, "--strategy", "sqrt"});
  REQUIRE(R.Code == 0);
  return R.Out;
}
} // namespace

TEST_CASE("output: naming an input is refused and the input stays") {
  TempFile M("m.json", chain4Text());
  const std::string Model = chain4Text();
  auto R = runCli({"plan", M.path(), "--strategy", "sqrt", "-o", M.path()});
  CHECK(R.Code == 2);
  CHECK(R.Err == "remat: error: " + M.path() +
                     ": is also an input of this command (" + M.path() +
                     "); refusing to overwrite it\n");
  CHECK(M.read() == Model);
  // Through a symbolic link, and through another spelling of the path.
  std::string Link = M.path() + ".link";
  REQUIRE(::symlink(M.path().c_str(), Link.c_str()) == 0);
  R = runCli({"plan", M.path(), "--strategy", "sqrt", "-o", Link});
  CHECK(R.Code == 2);
  std::string Dotted = llvm::sys::path::parent_path(M.path()).str() + "/./" +
                       llvm::sys::path::filename(M.path()).str();
  R = runCli({"plan", M.path(), "--strategy", "sqrt", "-o", Dotted});
  CHECK(R.Code == 2);
  ::unlink(Link.c_str());
  CHECK(M.read() == Model);

  TempFile S("s.json", sqrtPlan(M.path()));
  const std::string Sched = S.read();
  for (const std::vector<std::string> &Args :
       std::vector<std::vector<std::string>>{
           {"emit", S.path(), "--target", "pytorch", "-o", S.path()},
           {"emit", S.path(), "--target", "pytorch", "--model", M.path(), "-o",
            M.path()},
           {"simulate", M.path(), S.path(), "--svg", S.path()},
           {"simulate", M.path(), S.path(), "--svg", M.path()},
           {"frontier", M.path(), "--svg", M.path()}}) {
    CAPTURE(Args[0]);
    R = runCli(Args);
    CHECK(R.Code == 2);
    CHECK(R.Err.find("is also an input of this command") != std::string::npos);
  }
  CHECK(M.read() == Model);
  CHECK(S.read() == Sched);
}

TEST_CASE("output: links are followed, modes kept, read-only refused") {
  TempFile M("m.json", chain4Text());
  TempFile Target("t.json", "old\n");
  std::string Link = Target.path() + ".link";
  REQUIRE(::symlink(Target.path().c_str(), Link.c_str()) == 0);
  REQUIRE(::chmod(Target.path().c_str(), 0600) == 0);
  auto R = runCli({"plan", M.path(), "--strategy", "sqrt", "-o", Link});
  CHECK(R.Code == 0);
  // The link is still a link, and its target holds the schedule.
  CHECK(llvm::sys::fs::is_symlink_file(Link));
  CHECK(Target.read() == sqrtPlan(M.path()));
  struct stat St;
  REQUIRE(::stat(Target.path().c_str(), &St) == 0);
  CHECK((St.st_mode & 07777) == 0600);
  ::unlink(Link.c_str());

  // Read-only: refused even for root, who could rename over it.
  REQUIRE(::chmod(Target.path().c_str(), 0444) == 0);
  const std::string Before = Target.read();
  R = runCli({"plan", M.path(), "--strategy", "chen", "-o", Target.path()});
  CHECK(R.Code == 2);
  CHECK(R.Err == "remat: error: " + Target.path() +
                     ": is read-only; refusing to replace it\n");
  CHECK(Target.read() == Before);
  REQUIRE(::stat(Target.path().c_str(), &St) == 0);
  CHECK((St.st_mode & 07777) == 0444);
  ::chmod(Target.path().c_str(), 0600);
}

TEST_CASE("output: devices and FIFOs are written through, not replaced") {
  TempFile M("m.json", chain4Text());
  // /dev/full takes no bytes: an error, and the node stays a device.
  if (llvm::sys::fs::exists("/dev/full")) {
    auto R =
        runCli({"plan", M.path(), "--strategy", "sqrt", "-o", "/dev/full"});
    CHECK(R.Code == 2);
    CHECK(R.Err ==
          "remat: error: /dev/full: cannot write: No space left on device\n");
    llvm::sys::fs::file_status St;
    REQUIRE(!llvm::sys::fs::status("/dev/full", St));
    CHECK(St.type() == llvm::sys::fs::file_type::character_file);
  }
  // A FIFO: the reader gets the schedule, and the FIFO stays a FIFO.
  TempFile Fifo("fifo");
  REQUIRE(::mkfifo(Fifo.path().c_str(), 0600) == 0);
  std::string Got;
  std::thread Reader([&] { Got = slurp(Fifo.path()); });
  auto R = runCli({"plan", M.path(), "--strategy", "sqrt", "-o", Fifo.path()});
  Reader.join();
  CHECK(R.Code == 0);
  CHECK(Got == sqrtPlan(M.path()));
  struct stat St;
  REQUIRE(::stat(Fifo.path().c_str(), &St) == 0);
  CHECK(S_ISFIFO(St.st_mode));
}

TEST_CASE("output: an empty path or a directory is an error naming it") {
  TempFile M("m.json", chain4Text());
  auto R = runCli({"plan", M.path(), "--strategy", "sqrt", "-o", ""});
  CHECK(R.Code == 2);
  CHECK(R.Out.empty());
  CHECK(R.Err == "remat: error: the output path is empty (use - for stdout)\n");
  std::string Dir = llvm::sys::path::parent_path(M.path()).str();
  R = runCli({"plan", M.path(), "--strategy", "sqrt", "-o", Dir});
  CHECK(R.Code == 2);
  CHECK(R.Err ==
        "remat: error: " + Dir + ": cannot write: it is a directory\n");
}

//===- tests/cli/DriverTest.cpp - The top-level guard and resource caps ---===//
//
// No std::bad_alloc or "terminate called" reaches the user: runRemat runs
// every command under a guard, and the planners refuse inputs whose
// estimated memory is over their cap (docs/limits.md) before allocating.
//
//===----------------------------------------------------------------------===//

#include "cli/Driver.h"

#include "TestUtil.h"

#include <doctest/doctest.h>

#include <new>
#include <stdexcept>

using namespace remat::test;

TEST_CASE("driver: an escaping bad_alloc or exception is exit 2") {
  std::string Err;
  llvm::raw_string_ostream ES(Err);
  int Code =
      remat::cli::runGuarded([]() -> int { throw std::bad_alloc(); }, ES);
  CHECK(Code == 2);
  CHECK(Err == "remat: error: out of memory: the input needs more memory "
               "than this machine gives (see docs/limits.md for the limits "
               "that are checked before starting)\n");
  Err.clear();
  Code = remat::cli::runGuarded(
      []() -> int { throw std::runtime_error("boom"); }, ES);
  CHECK(Code == 2);
  CHECK(Err == "remat: error: internal error: boom\n");
  Err.clear();
  CHECK(remat::cli::runGuarded([] { return 3; }, ES) == 3);
  CHECK(Err.empty());
}

namespace {
/// The issue's reproducer: L stages of fwd 1, bwd 2, output 8, saved 16.
std::string uniformModel(unsigned L) {
  std::string S = R"({"format":"remat-model","version":1,"name":"u",)"
                  R"("input_bytes":4,"layers":[)";
  for (unsigned I = 0; I != L; ++I)
    S += (I ? "," : "") + std::string(R"({"name":"l)") + std::to_string(I) +
         R"(","fwd_time":1,"bwd_time":2,"output_bytes":8,"saved_bytes":16})";
  return S + "]}";
}
} // namespace

TEST_CASE("driver: the optimal chain DP on 100000 stages is refused") {
  // Before the cap: "terminate called ... std::bad_alloc", exit 134, in
  // plan, frontier, compare --budget and maxbatch.
  TempFile M("l.json", uniformModel(100000));
  const std::string Msg =
      "remat: error: optimal: the chain DP needs an estimated 298.03 GiB of "
      "tables for 100000 stages, over the limit of 16.00 GiB; use "
      "--strategy revolve or sqrt, which keep no tables, or a model with "
      "fewer stages (see docs/limits.md)\n";
  auto R =
      runCli({"plan", M.path(), "--strategy", "optimal", "--budget", "5000"});
  CHECK(R.Code == 2);
  CHECK(R.Out.empty());
  CHECK(R.Err == Msg);
  R = runCli({"frontier", M.path()});
  CHECK(R.Code == 2);
  CHECK(R.Err == Msg);
  R = runCli({"maxbatch", M.path(), "--device-memory", "1GiB"});
  CHECK(R.Code == 2);
  CHECK(R.Err == Msg);
  // compare keeps its other rows and names why optimal is missing.
  R = runCli({"compare", M.path(), "--budget", "5000"});
  CHECK(R.Err.find("terminate") == std::string::npos);
}

TEST_CASE("driver: frontier with too many slots names the option") {
  // resnet-1001 (335 stages) with 10^6 slots: the discretised tables of
  // the whole curve (no budget clips them) are estimated far over 16 GiB;
  // they were allocated before.
  std::string Resnet = sourcePath("data/models/resnet-1001.json");
  auto R = runCli({"frontier", Resnet, "--slots", "1000000"});
  CHECK(R.Code == 2);
  CHECK(R.Out.empty());
  CHECK(R.Err.find("remat: error: optimal: the chain DP needs an estimated ") ==
        0);
  CHECK(R.Err.find("for 335 stages, over the limit of 16.00 GiB; use fewer "
                   "slots (frontier --slots; this curve used 1000000)") !=
        std::string::npos);
}

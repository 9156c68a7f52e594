//===- tests/TestUtil.h - Shared helpers for the doctest suites -*- C++ -*-===//
//
// Golden-file comparison with an update flag, an in-process runner for the
// `remat` command line, and temporary files that clean themselves up.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_TESTS_TESTUTIL_H
#define REMAT_TESTS_TESTUTIL_H

#include "graph/Graph.h"

#include <string>
#include <vector>

namespace remat::test {

/// Whether golden files are rewritten rather than compared. Set by
/// `--update-golden` on a test binary or REMAT_UPDATE_GOLDEN=1.
bool updateGolden();
void setUpdateGolden(bool On);

/// Reports the running test case as skipped because of \p Why (no GPU, a
/// missing package). Under ctest (REMAT_CTEST_SKIP=1, set for every
/// discovered case) the process ends with code 77, which ctest's
/// SKIP_RETURN_CODE turns into "Not Run (Skipped)"; run by hand, the test
/// binary prints the reason and the caller returns from the case.
void skipTest(const std::string &Why);

/// Absolute path of a file in the source tree, e.g. "data/models/x.json".
std::string sourcePath(const std::string &Rel);

/// Compares \p Actual with tests/golden/<Name>; on update, rewrites it.
/// Returns an empty string on match, else a diff-like message.
std::string checkGolden(const std::string &Name, const std::string &Actual);

/// The result of one in-process run of the command line.
struct CliResult {
  int Code = 0;
  std::string Out;
  std::string Err;
};

/// Runs `remat Args...` in-process through the cli library.
CliResult runCli(const std::vector<std::string> &Args);

/// A file in a fresh temporary directory, removed with the object.
class TempFile {
public:
  explicit TempFile(const std::string &Name, const std::string &Contents = "");
  ~TempFile();
  TempFile(const TempFile &) = delete;
  TempFile &operator=(const TempFile &) = delete;
  const std::string &path() const { return Path; }
  std::string read() const;

private:
  std::string Dir;
  std::string Path;
};

/// A chain of \p L stages: x_0 and every output \p Out bytes, every x̄
/// \p Saved bytes, no workspace, fwd time 1, bwd time 2.
inline Chain uniformChain(unsigned L, uint64_t Out, uint64_t Saved) {
  Chain C;
  C.InputBytes = Out;
  for (unsigned I = 0; I < L; ++I) {
    Stage S;
    S.Name = "s" + std::to_string(I);
    S.Kind = I % 2 ? "mlp" : "attention";
    S.FwdTime = 1;
    S.BwdTime = 2;
    S.OutputBytes = Out;
    S.SavedBytes = Saved;
    C.Stages.push_back(S);
  }
  return C;
}

} // namespace remat::test

#endif // REMAT_TESTS_TESTUTIL_H

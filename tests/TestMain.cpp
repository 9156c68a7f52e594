//===- tests/TestMain.cpp - doctest entry point ---------------------------===//
//
// Shared main for every test binary. `--update-golden` (or REMAT_UPDATE_GOLDEN
// set in the environment) rewrites golden files instead of comparing them.
//
//===----------------------------------------------------------------------===//
#define DOCTEST_CONFIG_IMPLEMENT
#include "TestUtil.h"

#include <cstring>
#include <doctest/doctest.h>

int main(int argc, char **argv) {
  doctest::Context Ctx;
  for (int I = 1; I < argc; ++I)
    if (std::strcmp(argv[I], "--update-golden") == 0)
      remat::test::setUpdateGolden(true);
  Ctx.applyCommandLine(argc, argv);
  return Ctx.run();
}

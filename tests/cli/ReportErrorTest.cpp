//===- tests/cli/ReportErrorTest.cpp - error kinds to exit codes ----------===//

#include "cli/Common.h"
#include "planner/Errors.h"

#include "llvm/Support/raw_ostream.h"

#include <doctest/doctest.h>

using namespace remat;

TEST_CASE("cli reportError: each error kind has its exit code") {
  std::string Text;
  llvm::raw_string_ostream Err(Text);
  CHECK(cli::reportError(
            llvm::make_error<InfeasibleBudgetError>("optimal", 10, 20), Err) ==
        3);
  CHECK(cli::reportError(llvm::make_error<InvalidScheduleError>("op 2"), Err) ==
        1);
  CHECK(cli::reportError(
            llvm::createStringError(llvm::inconvertibleErrorCode(), "bad file"),
            Err) == 2);
  Text.clear();
  CHECK(cli::reportError(
            llvm::make_error<InternalError>("bound 7 above plan time 5"),
            Err) == 4);
  CHECK(Text.find("remat: error: internal error: bound 7 above plan time 5") !=
        std::string::npos);
  CHECK(Text.find("bug in remat") != std::string::npos);
}

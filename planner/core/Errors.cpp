//===- planner/core/Errors.cpp - Error kinds the CLI maps to exit codes ---===//

#include "planner/Errors.h"

#include "graph/Size.h"

#include "llvm/Support/raw_ostream.h"

namespace remat {

char InfeasibleBudgetError::ID = 0;
char InvalidScheduleError::ID = 0;
char InternalError::ID = 0;

void InfeasibleBudgetError::log(llvm::raw_ostream &OS) const {
  if (LimitReached) {
    OS << "strategy '" << Strategy << "': no plan within budget "
       << formatSize(BudgetBytes) << " (" << BudgetBytes
       << " bytes) found within the time limit; not proven infeasible; the "
       << "least budget proven feasible is " << formatSize(MinFeasibleBytes)
       << " (" << MinFeasibleBytes << " bytes); a larger --time-limit may "
       << "find a plan";
    return;
  }
  OS << "strategy '" << Strategy << "': budget " << formatSize(BudgetBytes)
     << " (" << BudgetBytes << " bytes) is infeasible; the smallest feasible "
     << "budget " << (Class.empty() ? "" : "for " + Class + " ") << "is "
     << formatSize(MinFeasibleBytes) << " (" << MinFeasibleBytes << " bytes)";
}

void InternalError::log(llvm::raw_ostream &OS) const {
  OS << "internal error: " << Msg
     << " (this is a bug in remat; please report it with the input)";
}

} // namespace remat

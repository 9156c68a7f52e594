// placeholder: implemented by the optimal-chain issue
#include "planner/ChainDP.h"
using namespace llvm;
namespace remat {
Expected<ChainDPResult> planOptimalChain(const Chain &, const ChainDPOptions &) { return createStringError(inconvertibleErrorCode(), "not implemented yet"); }
uint64_t minFeasibleChainBudget(const Chain &) { return 0; }
}

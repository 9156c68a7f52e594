// placeholder: implemented by the optimal-chain issue
#include "planner/Revolve.h"
using namespace llvm;
namespace remat {
Expected<std::vector<ChainOp>> revolveOps(const Chain &, unsigned) { return createStringError(inconvertibleErrorCode(), "not implemented yet"); }
uint64_t revolveRecomputations(uint64_t, uint64_t) { return 0; }
}

// placeholder: implemented by the schedules issue
#include "planner/ChainStrategies.h"
using namespace llvm;
namespace remat {
static Error todo() { return createStringError(inconvertibleErrorCode(), "not implemented yet"); }
std::vector<ChainOp> storeAllOps(const Chain &) { return {}; }
std::vector<ChainOp> segmentOps(const Chain &, ArrayRef<unsigned>, ArrayRef<bool>) { return {}; }
Expected<std::vector<ChainOp>> sequentialOps(const Chain &, unsigned) { return todo(); }
Expected<std::vector<ChainOp>> everyOps(const Chain &, unsigned) { return todo(); }
std::vector<ChainOp> sqrtOps(const Chain &) { return {}; }
Expected<std::vector<ChainOp>> selectiveOps(const Chain &, ArrayRef<std::string>) { return todo(); }
Expected<std::vector<ChainOp>> chenOps(const Chain &, std::optional<uint64_t>) { return todo(); }
}

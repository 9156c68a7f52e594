// placeholder: implemented by the schedules issue
#include "planner/Simulator.h"
using namespace llvm;
namespace remat {
static Error todo() { return createStringError(inconvertibleErrorCode(), "not implemented yet"); }
Expected<SimResult> simulateChain(const Chain &, ArrayRef<ChainOp>, const SimOptions &) { return todo(); }
Expected<SimResult> simulateGraph(const Graph &, ArrayRef<GraphOp>, const SimOptions &) { return todo(); }
Expected<SimResult> simulate(const Model &, const Schedule &, const SimOptions &) { return todo(); }
Expected<Schedule> finalizeChainSchedule(const Model &, StringRef, std::optional<uint64_t>, std::vector<ChainOp>) { return todo(); }
Expected<Schedule> finalizeGraphSchedule(const Model &, StringRef, std::optional<uint64_t>, std::vector<GraphOp>) { return todo(); }
}

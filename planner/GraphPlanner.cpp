// placeholder: implemented by the graph-planning issue
#include "planner/GraphPlanner.h"
using namespace llvm;
namespace remat {
Expected<GraphPlanResult> planGraphOptimal(const Graph &, const GraphPlanOptions &) { return createStringError(inconvertibleErrorCode(), "not implemented yet"); }
Expected<std::vector<GraphOp>> graphBaselineOps(const Graph &, StringRef, std::optional<uint64_t>) { return createStringError(inconvertibleErrorCode(), "not implemented yet"); }
}

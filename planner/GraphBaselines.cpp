// placeholder: implemented by the schedules issue (store-everything on graphs)
#include "planner/GraphPlanner.h"
namespace remat {
std::vector<GraphOp> storeAllGraphOps(const Graph &) { return {}; }
}

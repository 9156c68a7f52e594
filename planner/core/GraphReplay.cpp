//===- planner/core/GraphReplay.cpp - Words for the graph replay's faults -===//
//
// The rules themselves are inline in GraphReplay.h.
//
//===----------------------------------------------------------------------===//

#include "planner/GraphReplay.h"

#include <fmt/format.h>

namespace remat {

std::string graphOpLabel(size_t Index, const GraphOp &Op, const Graph &G) {
  return fmt::format("op {} ({} {})", Index,
                     Op.Kind == GraphOpKind::Compute ? "compute" : "free",
                     G.Nodes[Op.Node].Name);
}

std::string graphFaultText(size_t Index, const GraphOp &Op, const GraphStep &S,
                           const Graph &G) {
  switch (S.Fault) {
  case GraphFault::None:
    return "";
  case GraphFault::NodeOutOfRange:
    return fmt::format("op {}: node id {} is out of range (the graph has {} "
                       "nodes)",
                       Index, Op.Node, G.size());
  case GraphFault::NotResident:
  case GraphFault::InputNotResident:
    return graphOpLabel(Index, Op, G) + ": " + G.Nodes[S.Culprit].Name +
           " is not resident";
  case GraphFault::AlreadyResident:
    return graphOpLabel(Index, Op, G) + ": " + G.Nodes[S.Culprit].Name +
           " is already resident";
  }
  return "";
}

} // namespace remat

//===- graph/Graph.cpp - The model IR -------------------------------------===//

#include "graph/Graph.h"

namespace remat {

llvm::StringRef phaseName(Phase P) {
  switch (P) {
  case Phase::Forward:
    return "forward";
  case Phase::Loss:
    return "loss";
  case Phase::Backward:
    return "backward";
  }
  return "forward";
}

void Graph::finalize() {
  Users.assign(Nodes.size(), {});
  for (unsigned V = 0, E = size(); V != E; ++V)
    for (unsigned In : Nodes[V].Inputs)
      Users[In].push_back(V);
}

std::optional<unsigned> Graph::find(llvm::StringRef Name) const {
  for (unsigned V = 0, E = size(); V != E; ++V)
    if (Nodes[V].Name == Name)
      return V;
  return std::nullopt;
}

} // namespace remat

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

unsigned Graph::add(std::string Name, Phase P, double Time, uint64_t Bytes,
                    llvm::ArrayRef<unsigned> Inputs, uint64_t Workspace,
                    std::string Kind) {
  Node N;
  N.Name = std::move(Name);
  N.Kind = std::move(Kind);
  N.NodePhase = P;
  N.Time = Time;
  N.Bytes = Bytes;
  N.Workspace = Workspace;
  N.Inputs.assign(Inputs.begin(), Inputs.end());
  Nodes.push_back(std::move(N));
  return size() - 1;
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

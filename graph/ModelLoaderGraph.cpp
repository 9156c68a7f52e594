//===- graph/ModelLoaderGraph.cpp - The graph form of model files ---------===//
//
// Reads `graph.nodes` (spec §2, the Checkmate model): validates each node,
// resolves input names, rejects cycles (naming one), and orders the nodes
// topologically with Kahn's algorithm, ties broken by file position, so the
// same file always gives the same ids.
//
//===----------------------------------------------------------------------===//

#include "graph/ModelLoaderImpl.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSwitch.h"

#include <functional>
#include <queue>
#include <vector>

using namespace llvm;

namespace remat {

namespace {

/// A node as written, before its inputs are resolved to ids.
struct RawNode {
  Node N;
  std::string Place;
  std::vector<std::string> InputNames;
};

Expected<Phase> readPhase(const ObjectReader &R) {
  Expected<std::string> Text = R.string("phase");
  if (!Text)
    return Text.takeError();
  std::optional<Phase> P = StringSwitch<std::optional<Phase>>(*Text)
                               .Case("forward", Phase::Forward)
                               .Case("loss", Phase::Loss)
                               .Case("backward", Phase::Backward)
                               .Default(std::nullopt);
  if (!P)
    return R.fieldError("phase", "must be \"forward\", \"loss\" or "
                                 "\"backward\", got \"" +
                                     *Text + "\"");
  return *P;
}

Expected<std::vector<std::string>> readInputNames(const ObjectReader &R) {
  const InJson *V = R.get("inputs");
  if (!V)
    return R.error("missing required field \"inputs\"");
  if (!V->is_array())
    return R.fieldError("inputs", "must be a list of node names, got " +
                                      describeJson(*V));
  std::vector<std::string> Names;
  for (const InJson &In : *V) {
    if (!In.is_string())
      return R.fieldError("inputs", "must be a list of node names, got " +
                                        describeJson(In) + " in it");
    Names.push_back(In.get<std::string>());
  }
  return Names;
}

Expected<RawNode> readNode(const InJson &Obj, size_t K) {
  std::string Path = "graph.nodes[" + std::to_string(K) + "]";
  if (!Obj.is_object())
    return jsonError(Path + ": must be an object, got " + describeJson(Obj));
  Expected<std::string> Name = ObjectReader(Obj, Path).string("name");
  if (!Name)
    return Name.takeError();
  if (Name->empty())
    return jsonError(Path + ".name: must not be empty");
  RawNode Raw;
  Raw.Place = Path + " (\"" + *Name + "\")";
  ObjectReader R(Obj, Raw.Place, /*Named=*/true);
  if (Error E = R.checkKnown(
          {"name", "kind", "time", "bytes", "workspace", "inputs", "phase"}))
    return E;
  Raw.N.Name = *Name;
  Expected<std::string> Kind = R.string("kind", std::string());
  if (!Kind)
    return Kind.takeError();
  Raw.N.Kind = *Kind;
  Expected<double> Time = R.time("time");
  if (!Time)
    return Time.takeError();
  Raw.N.Time = *Time;
  Expected<uint64_t> Bytes = R.size("bytes");
  if (!Bytes)
    return Bytes.takeError();
  Raw.N.Bytes = *Bytes;
  Expected<uint64_t> Ws = R.size("workspace", 0);
  if (!Ws)
    return Ws.takeError();
  Raw.N.Workspace = *Ws;
  Expected<std::vector<std::string>> Inputs = readInputNames(R);
  if (!Inputs)
    return Inputs.takeError();
  Raw.InputNames = std::move(*Inputs);
  Expected<Phase> P = readPhase(R);
  if (!P)
    return P.takeError();
  Raw.N.NodePhase = *P;
  return Raw;
}

/// Resolves input names to file positions (stored in Node::Inputs for now).
Error resolveInputs(std::vector<RawNode> &Nodes) {
  StringMap<unsigned> Pos;
  for (unsigned I = 0, E = Nodes.size(); I != E; ++I) {
    auto [It, New] = Pos.try_emplace(Nodes[I].N.Name, I);
    if (!New)
      return jsonError(Nodes[I].Place + ": duplicate name \"" +
                       Nodes[I].N.Name + "\" (first used at graph.nodes[" +
                       Twine(It->second) + "])");
  }
  for (RawNode &Raw : Nodes) {
    for (const std::string &In : Raw.InputNames) {
      auto It = Pos.find(In);
      if (It == Pos.end())
        return jsonError(Raw.Place + ": input \"" + In + "\" is not a node");
      if (In == Raw.N.Name)
        return jsonError(Raw.Place + ": input \"" + In +
                         "\" is the node itself");
      if (is_contained(Raw.N.Inputs, It->second))
        return jsonError(Raw.Place + ": input \"" + In + "\" is listed twice");
      Raw.N.Inputs.push_back(It->second);
    }
  }
  return Error::success();
}

/// Forward nodes compute the forward pass and may read only forward nodes.
Error checkPhases(const std::vector<RawNode> &Nodes) {
  for (const RawNode &Raw : Nodes) {
    if (Raw.N.NodePhase != Phase::Forward)
      continue;
    for (unsigned In : Raw.N.Inputs)
      if (Nodes[In].N.NodePhase != Phase::Forward)
        return jsonError(Raw.Place + ": forward node reads \"" +
                         Nodes[In].N.Name + "\", a " +
                         phaseName(Nodes[In].N.NodePhase) + " node");
  }
  return Error::success();
}

/// Names one cycle among the nodes Kahn's algorithm could not order
/// (\p Left), as "a -> b -> a" in data-flow order, starting from the cycle
/// node that comes first in the file.
std::string describeCycle(const std::vector<RawNode> &Nodes,
                          const std::vector<bool> &Left) {
  // Every node left has an input left, so walking inputs from any of them
  // must revisit a node; the revisited stretch is a cycle.
  unsigned Start = 0;
  while (!Left[Start])
    ++Start;
  std::vector<int> SeenAt(Nodes.size(), -1);
  std::vector<unsigned> Walk;
  unsigned V = Start;
  while (SeenAt[V] < 0) {
    SeenAt[V] = static_cast<int>(Walk.size());
    Walk.push_back(V);
    unsigned Next = V;
    for (unsigned In : Nodes[V].N.Inputs)
      if (Left[In] && (Next == V || In < Next))
        Next = In;
    V = Next;
  }
  std::vector<unsigned> Cycle(Walk.begin() + SeenAt[V], Walk.end());
  std::reverse(Cycle.begin(), Cycle.end());
  auto First = std::min_element(Cycle.begin(), Cycle.end());
  std::rotate(Cycle.begin(), First, Cycle.end());
  // A long cycle names its first 4 and last 2 nodes and its length (a
  // 100000-node cycle was one 988 KB line).
  constexpr size_t Head = 4, Tail = 2;
  std::string Text;
  for (size_t I = 0; I < Cycle.size(); ++I) {
    if (Cycle.size() > Head + Tail + 1 && I == Head) {
      Text += "... -> ";
      I = Cycle.size() - Tail - 1;
      continue;
    }
    Text += Nodes[Cycle[I]].N.Name + " -> ";
  }
  Text += Nodes[Cycle.front()].N.Name;
  if (Cycle.size() > Head + Tail + 1)
    Text += " (" + std::to_string(Cycle.size()) + " nodes)";
  return Text;
}

/// Kahn's algorithm; among ready nodes the one first in the file goes first.
Expected<std::vector<unsigned>>
topologicalOrder(const std::vector<RawNode> &Nodes) {
  size_t N = Nodes.size();
  std::vector<unsigned> Missing(N);
  std::vector<std::vector<unsigned>> Users(N);
  for (unsigned V = 0; V != N; ++V) {
    Missing[V] = Nodes[V].N.Inputs.size();
    for (unsigned In : Nodes[V].N.Inputs)
      Users[In].push_back(V);
  }
  std::priority_queue<unsigned, std::vector<unsigned>, std::greater<>> Ready;
  for (unsigned V = 0; V != N; ++V)
    if (Missing[V] == 0)
      Ready.push(V);
  std::vector<unsigned> Order;
  while (!Ready.empty()) {
    unsigned V = Ready.top();
    Ready.pop();
    Order.push_back(V);
    for (unsigned U : Users[V])
      if (--Missing[U] == 0)
        Ready.push(U);
  }
  if (Order.size() == N)
    return Order;
  std::vector<bool> Left(N, true);
  for (unsigned V : Order)
    Left[V] = false;
  return jsonError("graph.nodes: cycle: " + describeCycle(Nodes, Left));
}

} // namespace

Expected<Graph> readGraphForm(const InJson &GraphValue) {
  if (!GraphValue.is_object())
    return jsonError("graph: must be an object, got " +
                     describeJson(GraphValue));
  ObjectReader R(GraphValue, "graph");
  if (Error E = R.checkKnown({"nodes"}))
    return E;
  if (Error E = R.require("nodes"))
    return E;
  const InJson &List = *R.get("nodes");
  if (!List.is_array())
    return jsonError("graph.nodes: must be a list, got " + describeJson(List));
  if (List.empty())
    return jsonError("graph.nodes: must not be empty");
  std::vector<RawNode> Nodes;
  for (size_t K = 0, E = List.size(); K != E; ++K) {
    Expected<RawNode> Raw = readNode(List[K], K);
    if (!Raw)
      return Raw.takeError();
    Nodes.push_back(std::move(*Raw));
  }
  if (Error E = resolveInputs(Nodes))
    return E;
  if (Error E = checkPhases(Nodes))
    return E;
  Expected<std::vector<unsigned>> Order = topologicalOrder(Nodes);
  if (!Order)
    return Order.takeError();
  std::vector<unsigned> IdOf(Nodes.size());
  for (unsigned I = 0, E = Order->size(); I != E; ++I)
    IdOf[(*Order)[I]] = I;
  Graph G;
  for (unsigned Pos : *Order) {
    Node N = std::move(Nodes[Pos].N);
    for (unsigned &In : N.Inputs)
      In = IdOf[In];
    G.Nodes.push_back(std::move(N));
  }
  G.finalize();
  return G;
}

} // namespace remat

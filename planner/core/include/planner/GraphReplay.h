//===- planner/GraphReplay.h - The one graph replay state machine -*- C++
//-*-===//
//
// The residency rules of spec §3b, written once: a compute needs every input
// resident and the node not resident, and makes it resident; a free needs
// the node resident and drops it. The simulator (planner/Simulator.cpp)
// counts bytes and time over it and the runtime's synthetic graph executor
// (runtime/GraphExecutor.cpp) allocates and frees real buffers along it.
// Like ChainReplay it knows no sizes; step is inline for the simulator.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_GRAPHREPLAY_H
#define REMAT_PLANNER_GRAPHREPLAY_H

#include "graph/Graph.h"
#include "planner/Schedule.h"

#include "llvm/ADT/BitVector.h"

#include <optional>
#include <string>

namespace remat {

/// Why a graph op cannot run, in the order GraphReplay::step checks.
enum class GraphFault : uint8_t {
  None,
  /// The node id is not in the graph (Culprit is the id).
  NodeOutOfRange,
  /// Free: the node is not resident (Culprit is the node).
  NotResident,
  /// Compute: the node already is resident (Culprit is the node).
  AlreadyResident,
  /// Compute: an input is not resident (Culprit is the first such input in
  /// the node's input order).
  InputNotResident,
};

/// What one graph op did, or why it could not.
struct GraphStep {
  GraphFault Fault = GraphFault::None;
  unsigned Culprit = 0;
  bool ok() const { return Fault == GraphFault::None; }
};

/// The resident set of a graph under spec §3b, advanced op by op. Starts
/// empty (the external input is not counted). An op that faults leaves the
/// state as it was.
class GraphReplay {
public:
  explicit GraphReplay(const Graph &G)
      : G(G), Resident(G.size()), Computed(G.size()) {}

  /// Runs \p Op. Checks, in order: the id is in range; a free's node is
  /// resident; a compute's node is not, and then each input is.
  GraphStep step(const GraphOp &Op) {
    if (Op.Node >= G.size())
      return {GraphFault::NodeOutOfRange, Op.Node};
    if (Op.Kind == GraphOpKind::Free) {
      if (!Resident.test(Op.Node))
        return {GraphFault::NotResident, Op.Node};
      Resident.reset(Op.Node);
      return {};
    }
    if (Resident.test(Op.Node))
      return {GraphFault::AlreadyResident, Op.Node};
    for (unsigned In : G.Nodes[Op.Node].Inputs)
      if (!Resident.test(In))
        return {GraphFault::InputNotResident, In};
    Resident.set(Op.Node);
    Computed.set(Op.Node);
    return {};
  }

  bool isResident(unsigned V) const { return Resident.test(V); }
  /// The first node (by id) never computed so far, if any.
  std::optional<unsigned> firstNeverComputed() const {
    int V = Computed.find_first_unset();
    return V < 0 ? std::nullopt : std::optional<unsigned>(V);
  }
  /// Calls \p F on each resident node id, ascending.
  template <typename Fn> void forEachResident(Fn F) const {
    for (unsigned V : Resident.set_bits())
      F(V);
  }

private:
  const Graph &G;
  llvm::BitVector Resident, Computed;
};

/// "op 3 (compute b)" or "op 5 (free a)": how messages name a graph op whose
/// node id is in range.
std::string graphOpLabel(size_t Index, const GraphOp &Op, const Graph &G);

/// The simulator's words for a fault of op \p Index: "op 3 (compute b): a is
/// not resident", or for an id out of range "op 3: node id 9 is out of range
/// (the graph has 4 nodes)".
std::string graphFaultText(size_t Index, const GraphOp &Op, const GraphStep &S,
                           const Graph &G);

} // namespace remat

#endif // REMAT_PLANNER_GRAPHREPLAY_H

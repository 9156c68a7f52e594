//===- graph/Graph.h - The model IR: chains and tensor graphs ---*- C++ -*-===//
//
// The in-memory form of a model file (spec §2). Every model loads into a
// `Model`, which always carries a tensor `Graph` (the graph form, or the chain
// form lowered to one) and, when the model is a chain, the `Chain` view that
// the chain planners use. Node and stage ids are dense integers.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_GRAPH_GRAPH_H
#define REMAT_GRAPH_GRAPH_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>

namespace remat {

/// One stage of a chain: maps activation x_i to x_{i+1} (spec §2).
struct Stage {
  std::string Name;
  /// Free text such as "attention" or "mlp"; empty when the file has none.
  std::string Kind;
  /// Forward time, in the model's time unit.
  double FwdTime = 0;
  /// Backward time, in the model's time unit.
  double BwdTime = 0;
  /// Bytes of x_{i+1}.
  uint64_t OutputBytes = 0;
  /// Bytes of x̄_{i+1}: all the backward needs, output included; >= OutputBytes.
  uint64_t SavedBytes = 0;
  /// Transient bytes during the forward.
  uint64_t FwdWorkspace = 0;
  /// Transient bytes during the backward.
  uint64_t BwdWorkspace = 0;
};

/// The loss between the last forward and the first backward.
struct LossCost {
  /// Time of the loss's backward, in the model's time unit.
  double BwdTime = 0;
  /// Transient bytes of the loss op.
  uint64_t BwdWorkspace = 0;
  /// The loss frees x_L before it produces y_L, also x_L's share of a
  /// resident x̄_L (which then holds SavedBytes - OutputBytes of the last
  /// stage until B_{L-1}): the last stage's backward does not read its own
  /// output, as a language model's head does not read its logits. Spec
  /// §3a ("frees_input"); false is the rotor semantics.
  bool FreesInput = false;
};

/// A chain x_0 -> stage 0 -> x_1 -> ... -> stage L-1 -> x_L -> loss.
struct Chain {
  /// Bytes of x_0.
  uint64_t InputBytes = 0;
  llvm::SmallVector<Stage, 0> Stages;
  LossCost Loss;

  /// Number of stages L.
  unsigned size() const { return static_cast<unsigned>(Stages.size()); }
  /// Bytes of x_I for I in [0, L]: the input for 0, else stage I-1's output.
  uint64_t activationBytes(unsigned I) const {
    return I == 0 ? InputBytes : Stages[I - 1].OutputBytes;
  }
};

/// Which pass of training a graph node belongs to.
enum class Phase : uint8_t { Forward, Loss, Backward };

/// Spelling of a phase in model files: "forward", "loss", "backward".
llvm::StringRef phaseName(Phase P);

/// One op of the graph form; it produces one tensor (the Checkmate model).
struct Node {
  std::string Name;
  /// Free text; empty when the file has none.
  std::string Kind;
  /// Compute time, in the model's time unit.
  double Time = 0;
  /// Bytes of the tensor the node produces.
  uint64_t Bytes = 0;
  /// Transient bytes while the node computes.
  uint64_t Workspace = 0;
  Phase NodePhase = Phase::Forward;
  /// Ids of the nodes whose outputs this node reads, without duplicates, in
  /// the order the file lists them.
  llvm::SmallVector<unsigned, 4> Inputs;
};

/// An acyclic tensor graph. Node ids index `Nodes`, which the loader stores
/// in a deterministic topological order (Kahn's algorithm, ties broken by
/// position in the file), so id order is always a valid execution order.
struct Graph {
  llvm::SmallVector<Node, 0> Nodes;
  /// Users[v]: ids of the nodes that read v, ascending. Filled by finalize().
  llvm::SmallVector<llvm::SmallVector<unsigned, 4>, 0> Users;

  unsigned size() const { return static_cast<unsigned>(Nodes.size()); }
  /// Appends a node reading \p Inputs (ids of earlier nodes) and returns its
  /// id. Call finalize() once every node is in.
  unsigned add(std::string Name, Phase P, double Time, uint64_t Bytes,
               llvm::ArrayRef<unsigned> Inputs, uint64_t Workspace = 0,
               std::string Kind = "");
  /// Recomputes `Users` from the inputs. Call after editing `Nodes`.
  void finalize();
  /// Id of the node named \p Name, if any (linear scan; for tools and tests).
  std::optional<unsigned> find(llvm::StringRef Name) const;
};

/// Memory the schedule cannot change; it counts only against device memory.
struct StaticBytes {
  uint64_t Parameters = 0;
  uint64_t Gradients = 0;
  uint64_t Optimizer = 0;
  uint64_t total() const { return Parameters + Gradients + Optimizer; }
};

/// A loaded model file.
struct Model {
  /// The path it was loaded from, as given; used in messages.
  std::string Path;
  std::string Name;
  std::string Description;
  /// Unit of every time in the file and in plans, default "ms".
  std::string TimeUnit = "ms";
  /// Lower-case hex SHA-256 of the file's bytes.
  std::string Sha256;
  StaticBytes Static;
  /// Set for chain-form files, and for graph-form files recognised as chains.
  std::optional<Chain> AsChain;
  /// Always set: the graph form, or the chain lowered (graph/Lowering.h).
  Graph G;
  /// True when the file used the graph form.
  bool FromGraphForm = false;
  /// Optional batch-scaling information (see docs/model-format.md); 0 when
  /// the file does not declare a batch size.
  uint64_t BatchSize = 0;

  bool isChain() const { return AsChain.has_value(); }
};

} // namespace remat

#endif // REMAT_GRAPH_GRAPH_H

//===- planner/Schedule.h - Schedules in both dialects ----------*- C++ -*-===//
//
// The in-memory form of a schedule file (spec §3). A schedule is either a
// list of chain ops (§3a, rotor's semantics with the x_L fix) or a list of
// graph ops (§3b). Every schedule a planner returns has passed through the
// simulator, which filled `Predicted`.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_SCHEDULE_H
#define REMAT_PLANNER_SCHEDULE_H

#include "graph/Graph.h"

#include "llvm/ADT/StringRef.h"

#include <cassert>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace remat {

/// Chain-dialect ops (spec §3a).
enum class ChainOpKind : uint8_t { FCk, FN, FAll, Loss, B };

/// Spelling in schedule files: "F_ck", "F_n", "F_all", "loss", "B".
llvm::StringRef chainOpName(ChainOpKind K);

struct ChainOp {
  ChainOpKind Kind = ChainOpKind::FCk;
  /// Stage index i; ignored for Loss.
  unsigned Layer = 0;

  bool isForward() const {
    return Kind == ChainOpKind::FCk || Kind == ChainOpKind::FN ||
           Kind == ChainOpKind::FAll;
  }
  friend bool operator==(const ChainOp &A, const ChainOp &B) {
    return A.Kind == B.Kind &&
           (A.Kind == ChainOpKind::Loss || A.Layer == B.Layer);
  }
};

/// Graph-dialect ops (spec §3b).
enum class GraphOpKind : uint8_t { Compute, Free };

struct GraphOp {
  GraphOpKind Kind = GraphOpKind::Compute;
  /// Node id in the model's graph.
  unsigned Node = 0;
  friend bool operator==(const GraphOp &A, const GraphOp &B) {
    return A.Kind == B.Kind && A.Node == B.Node;
  }
};

/// The `predicted` block of a schedule file; all figures come from the
/// simulator.
struct Prediction {
  /// Peak of the plan, bytes (spec §3 accounting).
  uint64_t PeakBytes = 0;
  /// Sum of the times of executed ops, model time unit.
  double Time = 0;
  /// Time of the store-everything plan, model time unit.
  double BaselineTime = 0;
  /// Peak of the store-everything plan, bytes.
  uint64_t BaselinePeakBytes = 0;
  /// Time / BaselineTime - 1.
  double Overhead = 0;
  /// Forward ops beyond the first computation of each forward stage or node.
  uint64_t ForwardRecomputations = 0;
};

enum class Dialect : uint8_t { Chain, Graph };

/// What the planner that made a schedule can prove about it. Not part of the
/// schedule file: the CLI prints it when it plans.
struct OptimalityReport {
  /// How the plan was made: "exact", "N memory slots", "default mode: N
  /// memory slots (exact estimated over the ... promise)", "exhaustive
  /// search", "MILP (CBC)" or "scalable".
  std::string Method;
  /// The class of schedules that LowerBound and ProvenOptimal are proven
  /// for, worded to follow "optimal" or "lower bound": "over all schedules",
  /// "for the file's order of first computations". Empty: unstated.
  std::string Class;
  /// A stable key for Class in JSON output, e.g. "all_schedules",
  /// "file_order"; empty when Class is.
  std::string ClassKey;
  /// Further facts, printed after the claim: "best of 5 orders tried".
  std::string Detail;
  /// A proven lower bound on the time of every plan of `Class` within the
  /// budget, model time unit.
  double LowerBound = 0;
  /// The plan is of `Class` and its time equals LowerBound: proven optimal
  /// in that class.
  bool ProvenOptimal = false;
  /// Whether the plan itself belongs to `Class`, so that LowerBound bounds
  /// it (a graph plan found in another order of first computations does
  /// not belong to the file's order).
  bool PlanInClass = true;
};

/// A schedule and its provenance.
struct Schedule {
  /// The model's name and the SHA-256 of its file.
  std::string ModelName;
  std::string ModelSha256;
  /// Strategy that produced it, e.g. "optimal" or "sequential".
  std::string Strategy;
  /// Activation budget the plan was made for, bytes; none when the strategy
  /// takes no budget.
  std::optional<uint64_t> BudgetBytes;
  Prediction Predicted;
  /// The ops, in one dialect: the alternative held is the schedule's
  /// dialect (an empty chain list by default). Branch on it with std::visit
  /// and an Overloaded set (planner/Overloaded.h) so that a missing dialect
  /// fails to compile.
  std::variant<std::vector<ChainOp>, std::vector<GraphOp>> Ops;
  /// Chain: stage names by layer index; graph: node names by node id. Filled
  /// when read from a file (from the ops' "name" fields or the model).
  std::vector<std::string> Names;
  /// The file it was read from, as given, for messages; empty for schedules
  /// that a planner made.
  std::string Path;
  /// Set by the optimal planners (planStrategy); empty otherwise.
  std::optional<OptimalityReport> Optimality;

  /// The dialect of the ops held.
  Dialect dialect() const {
    return std::holds_alternative<std::vector<GraphOp>>(Ops) ? Dialect::Graph
                                                             : Dialect::Chain;
  }
  /// The chain ops; the schedule must be in the chain dialect.
  const std::vector<ChainOp> &chainOps() const {
    assert(dialect() == Dialect::Chain && "not a chain schedule");
    return std::get<std::vector<ChainOp>>(Ops);
  }
  std::vector<ChainOp> &chainOps() {
    assert(dialect() == Dialect::Chain && "not a chain schedule");
    return std::get<std::vector<ChainOp>>(Ops);
  }
  /// The graph ops; the schedule must be in the graph dialect.
  const std::vector<GraphOp> &graphOps() const {
    assert(dialect() == Dialect::Graph && "not a graph schedule");
    return std::get<std::vector<GraphOp>>(Ops);
  }
  std::vector<GraphOp> &graphOps() {
    assert(dialect() == Dialect::Graph && "not a graph schedule");
    return std::get<std::vector<GraphOp>>(Ops);
  }
  /// The number of ops, in either dialect.
  size_t numOps() const {
    return std::visit([](const auto &List) { return List.size(); }, Ops);
  }
};

} // namespace remat

#endif // REMAT_PLANNER_SCHEDULE_H

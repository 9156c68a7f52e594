//===- planner/graph/milp/GraphMILPBuilder.h - MILP rows --------*- C++ -*-===//
//
// Internal to the exact graph planner (GraphMILP.cpp builds the model,
// GraphMILPSolve.cpp runs CBC on it); see planner/GraphMILP.h.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_GRAPHMILPBUILDER_H
#define REMAT_PLANNER_GRAPHMILPBUILDER_H

// Private to remat_planner_milp: outside it, link remat_planner_milp_internals.
#ifndef REMAT_PLANNER_MILP_INTERNALS
#error "planner/graph/milp/GraphMILPBuilder.h is private to remat_planner_milp"
#endif

#include "planner/GraphMILP.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace remat::milp {

/// A stage-wise solution: R[t] computed in stage t, S[t] resident at its
/// start.
struct StageSets {
  std::vector<std::vector<unsigned>> R, S;
};

/// Stage-wise R and S read back from frontier-advancing ops: stage t holds
/// the computes up to and including node t's first compute.
StageSets opsToStages(const Graph &G, llvm::ArrayRef<GraphOp> Ops);

#ifdef REMAT_HAVE_CBC
/// One row's (column, coefficient) entries, before they join the triplets.
struct RowVec {
  llvm::SmallVector<std::pair<int, double>, 8> Entries;
  void insert(int Col, double Coef) { Entries.push_back({Col, Coef}); }
};

/// The MILP's columns and rows, built once, in a fixed order.
class MilpBuilder {
public:
  MilpBuilder(const Graph &G, const GraphMilpOptions &O) : G(G), O(O) {
    N = G.size();
    computeReach();
    chooseScale();
  }

  /// Adds every column and row.
  void build();
  std::vector<double> startVector(llvm::ArrayRef<GraphOp> Ops) const;
  StageSets readSolution(const double *X) const;

  const Graph &G;
  const GraphMilpOptions &O;
  unsigned N = 0;
  /// Bytes per memory unit of the model (keeps coefficients small).
  double Scale = 1;
  llvm::SmallVector<unsigned, 0> MaxDesc;
  /// Each node's distinct inputs, ascending (an input read twice is still
  /// freed once).
  std::vector<llvm::SmallVector<unsigned, 4>> In;
  /// Column of R[t][k] / S[t][i] at t * N + k, or -1.
  std::vector<int> RCol, SCol;
  /// Per stage: (operand i, compute k, column) of each F, and U's column
  /// per compute slot.
  struct FreeVar {
    unsigned I, K;
    int Col;
  };
  std::vector<std::vector<FreeVar>> FCols;
  std::vector<std::vector<std::pair<unsigned, int>>> UCols;
  int PeakCol = -1;
  /// Covering columns: Y's column, and the tensor and stages (Lo, Hi] whose
  /// recomputations it counts.
  struct CoverVar {
    unsigned Node, Lo, Hi;
    int Col;
  };
  std::vector<CoverVar> YCols;
  std::vector<double> ColLo, ColHi, Obj;
  std::vector<bool> IsInt;
  std::vector<std::string> Names;
  /// The rows as (row, column, coefficient) triplets; appending to a
  /// CoinPackedMatrix row by row reallocates and took seconds at 50 nodes.
  std::vector<int> RowIdx, ColIdx;
  std::vector<double> Coef;
  std::vector<double> RowLo, RowHi;

private:
  void computeReach();
  void chooseScale();
  int addCol(double Lo, double Hi, double Cost, bool Int, std::string Name) {
    ColLo.push_back(Lo);
    ColHi.push_back(Hi);
    Obj.push_back(Cost);
    IsInt.push_back(Int);
    Names.push_back(std::move(Name));
    return int(ColLo.size() - 1);
  }
  void addRow(const RowVec &V, double Lo, double Hi) {
    for (auto [Col, C] : V.Entries) {
      RowIdx.push_back(int(RowLo.size()));
      ColIdx.push_back(Col);
      Coef.push_back(C);
    }
    RowLo.push_back(Lo);
    RowHi.push_back(Hi);
  }
  int r(unsigned T, unsigned K) const { return RCol[size_t(T) * N + K]; }
  int s(unsigned T, unsigned I) const {
    return T < N ? SCol[size_t(T) * N + I] : -1;
  }
  double mem(uint64_t B) const { return double(B) / Scale; }
  void addColumns();
  void addLogicRows();
  void addFreeRows(unsigned T);
  void addMemoryRows(unsigned T);
  void addCoverRows();
};

/// What the covering enumeration of GraphMILPCoverProof.cpp established.
struct CoverProof {
  /// No plan of the model costs at most the limit.
  bool Proven = false;
  /// A plan of the model that costs at most the limit, as column values
  /// (empty when none was found), and its time.
  std::vector<double> X;
  double Objective = 0;
  /// Covering solutions enumerated.
  unsigned Covers = 0;
};

/// Tries to prove that no plan of \p B's model (time objective) costs at
/// most \p Limit, by the covering program of GraphMILPBound.h: such a plan
/// recomputes the tensors of a covering solution whose cost is at most
/// Limit minus the sum of node times, so each covering solution of that
/// cost is enumerated (at most \p MaxCovers) and the model is solved with
/// its recomputations fixed accordingly. Stops, unproven, at \p Deadline.
CoverProof proveNoPlanAtMost(const MilpBuilder &B, double Limit,
                             std::chrono::steady_clock::time_point Deadline,
                             unsigned MaxCovers = 16);

/// A plan of \p B's model that costs at most \p Limit and computes node K
/// in stage T for each (K, T) of \p Forced (other recomputations are
/// free), as X and Objective; X is empty when CBC finds none by
/// \p Deadline or a forced column is not in the model. Exact mode tries the
/// precedence bound's witness this way: a plan found at the bound is
/// optimal.
CoverProof planWithRecomputes(
    const MilpBuilder &B, llvm::ArrayRef<std::pair<unsigned, unsigned>> Forced,
    double Limit, std::chrono::steady_clock::time_point Deadline);

#endif // REMAT_HAVE_CBC

} // namespace remat::milp

#endif // REMAT_PLANNER_GRAPHMILPBUILDER_H

//===- planner/GraphMILPBound.h - Lower bounds on plan time -----*- C++ -*-===//
//
// A lower bound on the time of every plan that computes the nodes for the
// first time in id order (as both graph planners' plans do) and stays within
// a budget. It is much smaller than the MILP of planner/GraphMILP.h (one
// column per edge, one row per node), so it can be solved for graphs of
// hundreds or thousands of nodes.
//
// The argument. Let m_t be the moment node t is computed for the first time.
// At m_t, every node before t has been computed and none after it, and the
// resident bytes plus t's bytes and workspace are at most the budget. A
// tensor i < t that a node after t reads is *live* at m_t. Cut i's lifetime
// at its readers u_1 < u_2 < ... into segments (i, u_1), (u_1, u_2), ...; if
// i is not resident at some m_t with t inside segment (u_j, u_j+1), it must
// be computed again before m_{u_j+1}, and recomputations for different
// segments are different computes. So with y[i][j] = "i is absent at some
// moment of segment j",
//   time >= sum of node times + sum over (i, j) of time(i) * y[i][j],
//   for every t: sum of y[i][j] * bytes(i) over segments containing t
//                >= live bytes at m_t + bytes(t) + workspace(t) - budget.
// This covering program is solved with CBC (its proven bound counts), or
// its LP relaxation; without CBC, the best single-moment fractional
// knapsack is used.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_GRAPHMILPBOUND_H
#define REMAT_PLANNER_GRAPHMILPBOUND_H

#include "graph/Graph.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace remat {

struct GraphBoundOptions {
  /// Activation budget, bytes.
  uint64_t BudgetBytes = 0;
  /// Wall-clock limit for the covering program's branch and bound, seconds;
  /// 0 solves only its LP relaxation.
  double TimeLimitSeconds = 1;
};

struct GraphBoundResult {
  /// Lower bound on the plan time, model time unit (rounded up when every
  /// node time is an integer).
  double Time = 0;
  /// No plan fits: at some m_t even dropping every live tensor is not
  /// enough (the inputs of t, t and its workspace exceed the budget).
  bool Infeasible = false;
  /// "sum" (no recomputation is forced), "knapsack" (one moment, no CBC),
  /// "cover-lp" or "cover-milp" (the covering program's LP or its proven
  /// branch-and-bound bound), "cover-prec" (coverBoundWithPrecedence's
  /// proven bound, when higher).
  std::string Method = "sum";
  /// Wall-clock time, seconds.
  double Seconds = 0;
  /// For "cover-prec" proven optimal: its solution's recomputations (see
  /// PrecedenceBound).
  std::vector<std::pair<unsigned, unsigned>> Recomputes;
};

/// The covering program above. Column c is segment c: tensor SegNode[c]
/// between its reader (or itself) SegLo[c] and its next reader SegHi[c],
/// restricted to moments that need a drop. Row r is the moment of node
/// RowNode[r], which needs Need[r] bytes (more than 0) dropped from the
/// segments RowSegs[r].
struct GraphCover {
  std::vector<unsigned> SegNode, SegLo, SegHi;
  /// The rows segment c covers are SegFirstRow[c]..SegLastRow[c], in a row
  /// (the rows are ordered by moment, so a segment covers consecutive rows).
  std::vector<unsigned> SegFirstRow, SegLastRow;
  std::vector<unsigned> RowNode;
  std::vector<std::vector<unsigned>> RowSegs;
  std::vector<double> Need;
  /// Sum of all node times (each node once).
  double BaseTime = 0;
  /// Some row cannot be covered: no plan fits the budget.
  bool Infeasible = false;
};

/// Builds the covering program of \p G at \p BudgetBytes. Without
/// \p RowLists, RowSegs stays empty (the LP relaxation needs only each
/// segment's first and last row; the lists hold rows x live tensors).
GraphCover buildGraphCover(const Graph &G, uint64_t BudgetBytes,
                           bool RowLists = true);

/// What coverBoundWithPrecedence proves.
struct PrecedenceBound {
  /// Extra time beyond the sum of node times; -1 when not run.
  double Extra = -1;
  /// When proven optimal, the recomputations of the optimal solution as
  /// (node, stage): node computed before the first compute of stage, after
  /// that of stage - 1. Exact mode tries them as a plan.
  std::vector<std::pair<unsigned, unsigned>> Recomputes;
};

/// The covering program refined per moment and by what a recomputation
/// needs; Extra is -1 when it is not run (no CBC, no time, an infeasible
/// or empty cover, or more than \p MaxColumns columns).
///
/// A[c][t] is "c's tensor i is absent at m_t" (t inside segment c), with
/// the covering rows on A. R[c][t] is "i is computed between m_t and
/// m_t+1" (t from c's start to its end, a reader), costing time(i); the
/// intervals of different segments are disjoint. Rows:
///   A[c][t] - A[c][t+1] <= R[c][t]   (absent, then resident: computed;
///                                     A at c's end is 0)
///   R[c][t] + A[c'][t] - R[c'][t] <= 1
/// for each input p of i with segment c' containing m_t: i's computation
/// needs p resident, so p, absent at m_t, is computed in that interval
/// too. Every plan that first-computes in id order has a 0/1 witness (the
/// variables as named) whose cost is at most its recomputation time.
/// Solved with CBC for \p Seconds; its proven bound counts.
PrecedenceBound coverBoundWithPrecedence(const Graph &G, const GraphCover &C,
                                         double Seconds,
                                         unsigned MaxColumns = 20000);

/// The bound described above. Never fails; an empty graph has bound 0.
GraphBoundResult graphTimeLowerBound(const Graph &G,
                                     const GraphBoundOptions &Opts);

} // namespace remat

#endif // REMAT_PLANNER_GRAPHMILPBOUND_H

//===- planner/graph/milp/GraphMILPCoverProof.cpp - Covering proof --------===//
//
// The argument. Let base be the sum of node times and K = Limit - base. A
// plan of the MILP with time at most Limit spends at most K on
// recomputations. Its witness Y (Y[c] = 1 when the plan recomputes c's
// tensor within c's stages) satisfies the covering rows (see
// GraphMILP.cpp, addCoverRows) and costs sum time(c) Y[c] <= K, since
// segments of one tensor cover disjoint stages. So the witness is one of
// the covering solutions of cost at most K, and, with slack = K - its cost:
//   - a segment with Y[c] = 0 holds no recomputation of its tensor;
//   - a recomputation outside every segment with Y[c] = 1 costs at most the
//     slack, so one that costs more does not occur.
// The MILP with those columns fixed, and its time at most Limit, is small;
// if it is infeasible for every covering solution, no plan costs at most
// Limit. When the incumbent is one time unit above the covering bound, the
// slack is 0 and every recomputation outside the chosen segments is fixed.
//
//===----------------------------------------------------------------------===//

#include "planner/GraphMILPBound.h"
#include "planner/graph/milp/GraphMILPBuilder.h"

#ifdef REMAT_HAVE_CBC
#include "planner/graph/milp/GraphMILPCbc.h"

#include <algorithm>
#include <optional>

namespace remat::milp {

namespace {

using Clock = std::chrono::steady_clock;

double secondsUntil(Clock::time_point T) {
  return std::chrono::duration<double>(T - Clock::now()).count();
}

/// The covering program of \p C with binary Y and cost at most \p K; bytes
/// are divided by the largest tensor's.
void loadCover(OsiClpSolverInterface &S, const Graph &G, const GraphCover &C,
               double K) {
  double Scale = 1;
  for (const Node &Nd : G.Nodes)
    Scale = std::max(Scale, double(Nd.Bytes));
  size_t Cols = C.SegNode.size();
  std::vector<double> Lo(Cols, 0), Hi(Cols, 1), Cost(Cols);
  std::vector<int> All(Cols);
  for (size_t Col = 0; Col != Cols; ++Col) {
    Cost[Col] = G.Nodes[C.SegNode[Col]].Time;
    All[Col] = int(Col);
  }
  CoinPackedMatrix Empty(false, 0, 0);
  Empty.setDimensions(0, int(Cols));
  S.messageHandler()->setLogLevel(0);
  S.loadProblem(Empty, Lo.data(), Hi.data(), Cost.data(), nullptr, nullptr);
  for (size_t R = 0; R != C.Need.size(); ++R) {
    std::vector<int> Idx;
    std::vector<double> Bytes;
    for (unsigned Col : C.RowSegs[R]) {
      Idx.push_back(int(Col));
      Bytes.push_back(double(G.Nodes[C.SegNode[Col]].Bytes) / Scale);
    }
    S.addRow(int(Idx.size()), Idx.data(), Bytes.data(), C.Need[R] / Scale,
             1e30);
  }
  S.addRow(int(Cols), All.data(), Cost.data(), -1e30, K + 1e-6);
  for (size_t Col = 0; Col != Cols; ++Col)
    S.setInteger(int(Col));
}

/// Every covering solution of cost at most \p K, each found by CBC and then
/// excluded by a no-good row; nullopt when there are more than \p Max or
/// the deadline comes first.
std::optional<std::vector<std::vector<bool>>>
enumerateCovers(const Graph &G, const GraphCover &C, double K, unsigned Max,
                Clock::time_point Deadline) {
  size_t Cols = C.SegNode.size();
  std::vector<std::vector<bool>> Out;
  // No moment needs a drop: the empty covering is the only one.
  if (Cols == 0)
    return std::optional(std::vector<std::vector<bool>>(1));
  OsiClpSolverInterface S;
  loadCover(S, G, C, K);
  while (Out.size() <= Max) {
    if (secondsUntil(Deadline) <= 0)
      return std::nullopt;
    CbcModel Model(S);
    CbcSolverUsefulData Data;
    quietCbc(Model, Data);
    StopAtDeadline Stop(Deadline);
    Model.passInEventHandler(&Stop);
    runQuietCbc(Model, Data, secondsUntil(Deadline));
    if (!Model.bestSolution())
      return Model.isProvenInfeasible() ? std::optional(Out) : std::nullopt;
    std::vector<bool> Y(Cols);
    // No-good row: at least one column differs from this solution.
    std::vector<int> Idx(Cols);
    std::vector<double> Coef(Cols);
    double Rhs = 1;
    for (size_t Col = 0; Col != Cols; ++Col) {
      Y[Col] = Model.bestSolution()[Col] > 0.5;
      Idx[Col] = int(Col);
      Coef[Col] = Y[Col] ? -1 : 1;
      Rhs -= Y[Col];
    }
    S.addRow(int(Cols), Idx.data(), Coef.data(), Rhs, 1e30);
    Out.push_back(std::move(Y));
  }
  return std::nullopt;
}

enum class SubResult { Infeasible, Feasible, Unknown };

/// \p S (B's model with some columns fixed) with its time at most
/// \p Limit, solved by CBC until \p Deadline.
SubResult runFixed(OsiClpSolverInterface &S, const MilpBuilder &B, double Limit,
                   Clock::time_point Deadline, CoverProof &Out) {
  std::vector<int> Idx;
  std::vector<double> Time;
  for (size_t Col = 0; Col != B.Obj.size(); ++Col)
    if (B.Obj[Col] != 0) {
      Idx.push_back(int(Col));
      Time.push_back(B.Obj[Col]);
    }
  S.addRow(int(Idx.size()), Idx.data(), Time.data(), -1e30, Limit + 1e-6);
  // The root LP, too, stops at the deadline (a plan found then may be
  // dropped by CBC's clean-up; the proof is merely inconclusive).
  S.getModelPtr()->setMaximumWallSeconds(
      std::max(0.01, secondsUntil(Deadline)));
  CbcModel Model(S);
  CbcSolverUsefulData Data;
  quietCbc(Model, Data);
  StopAtDeadline Stop(Deadline);
  Model.passInEventHandler(&Stop);
  // Measured on layered-49 at 60% (five covering solutions, all
  // infeasible): 9.0 s with CBC's defaults, 2.5 s without heuristics and
  // with probing as the only cuts.
  runQuietCbc(
      Model, Data, std::max(0.01, secondsUntil(Deadline)),
      {"-heuristicsOnOff", "off", "-cutsOnOff", "off", "-probingCuts", "on"});
  if (Model.bestSolution()) {
    Out.X.assign(Model.bestSolution(), Model.bestSolution() + B.ColLo.size());
    Out.Objective = Model.getMinimizationObjValue();
    return SubResult::Feasible;
  }
  return Model.isProvenInfeasible() ? SubResult::Infeasible
                                    : SubResult::Unknown;
}

/// The model with the recomputations that covering solution \p Y rules out
/// fixed to 0 and its time at most \p Limit.
SubResult solveFixed(const MilpBuilder &B, const std::vector<bool> &Y,
                     double Slack, double Limit, Clock::time_point Deadline,
                     CoverProof &Out) {
  OsiClpSolverInterface S;
  loadInto(S, B, /*Names=*/false);
  for (size_t Col = 0; Col != Y.size(); ++Col) {
    S.setColLower(B.YCols[Col].Col, Y[Col]);
    S.setColUpper(B.YCols[Col].Col, Y[Col]);
  }
  for (unsigned T = 0; T != B.N; ++T)
    for (unsigned K = 0; K < T; ++K) {
      int Col = B.RCol[size_t(T) * B.N + K];
      if (Col < 0)
        continue;
      int In = -1; // In no segment, in one with Y = 0, in one with Y = 1.
      for (size_t C = 0; C != Y.size(); ++C) {
        const MilpBuilder::CoverVar &V = B.YCols[C];
        if (V.Node == K && V.Lo < T && T <= V.Hi)
          In = Y[C];
      }
      if (In == 0 || (In < 0 && B.G.Nodes[K].Time > Slack + 1e-9))
        S.setColUpper(Col, 0);
    }
  return runFixed(S, B, Limit, Deadline, Out);
}

} // namespace

CoverProof
planWithRecomputes(const MilpBuilder &B,
                   llvm::ArrayRef<std::pair<unsigned, unsigned>> Forced,
                   double Limit, Clock::time_point Deadline) {
  CoverProof Out;
  OsiClpSolverInterface S;
  loadInto(S, B, /*Names=*/false);
  for (auto [K, T] : Forced) {
    int Col = T < B.N ? B.RCol[size_t(T) * B.N + K] : -1;
    if (Col < 0)
      return Out;
    S.setColLower(Col, 1);
  }
  runFixed(S, B, Limit, Deadline, Out);
  return Out;
}

CoverProof proveNoPlanAtMost(const MilpBuilder &B, double Limit,
                             Clock::time_point Deadline, unsigned MaxCovers) {
  CoverProof Out;
  GraphCover C = buildGraphCover(B.G, B.O.BudgetBytes);
  // The builder's covering columns are the segments, in the same order.
  if (B.O.MinimizePeak || C.Infeasible || C.SegNode.size() != B.YCols.size())
    return Out;
  double K = Limit - C.BaseTime;
  if (K < -1e-9) {
    Out.Proven = true;
    return Out;
  }
  auto Covers = enumerateCovers(B.G, C, K, MaxCovers, Deadline);
  if (!Covers)
    return Out;
  Out.Covers = unsigned(Covers->size());
  for (const std::vector<bool> &Y : *Covers) {
    double Cost = 0;
    for (size_t Col = 0; Col != Y.size(); ++Col)
      Cost += Y[Col] ? B.G.Nodes[C.SegNode[Col]].Time : 0;
    SubResult R = solveFixed(B, Y, K - Cost, Limit, Deadline, Out);
    if (R != SubResult::Infeasible)
      return Out;
  }
  Out.Proven = true;
  return Out;
}

} // namespace remat::milp

#endif // REMAT_HAVE_CBC

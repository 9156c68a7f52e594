//===- planner/graph/milp/GraphMILPBoundPrec.cpp - Bound with precedence --===//
//
// The covering program of GraphMILPBound.cpp, split per moment and with
// the inputs a recomputation needs. See coverBoundWithPrecedence in
// planner/GraphMILPBound.h for the argument.
//
//===----------------------------------------------------------------------===//

#include "planner/GraphMILPBound.h"

#include <algorithm>
#include <utility>
#include <vector>

#ifdef REMAT_HAVE_CBC
#include "planner/graph/milp/GraphMILPCbc.h"
#endif

namespace remat {

#ifdef REMAT_HAVE_CBC
namespace {

/// The program, with builders for its columns and rows.
struct Program : milp::BinaryProgram {
  int col(double Cost) {
    Obj.push_back(Cost);
    return int(Obj.size() - 1);
  }
  void row(std::initializer_list<std::pair<int, double>> E, double Lo,
           double Hi) {
    for (auto [C, V] : E)
      push(C, V);
    close(Lo, Hi);
  }
  void push(int C, double V) {
    RowIdx.push_back(int(RowLo.size()));
    ColIdx.push_back(C);
    Coef.push_back(V);
  }
  void close(double Lo, double Hi) {
    RowLo.push_back(Lo);
    RowHi.push_back(Hi);
  }
};

/// Per segment c: A[c][t] (c's tensor absent at m_t) for t in (SegLo,
/// SegHi), and R[c][t] (computed between m_t and m_t+1, cost its time) for
/// t in [SegLo, SegHi); -1 elsewhere.
struct Moments {
  /// Per segment, its start and the columns from there on (index t - Lo):
  /// the graph's size per segment would not fit at thousands of nodes.
  std::vector<unsigned> Lo;
  std::vector<std::vector<int>> AV, RV;
  int &A(size_t C, unsigned T) { return AV[C][T - Lo[C]]; }
  int &R(size_t C, unsigned T) { return RV[C][T - Lo[C]]; }
  int A(size_t C, unsigned T) const { return AV[C][T - Lo[C]]; }
  int R(size_t C, unsigned T) const { return RV[C][T - Lo[C]]; }
};

Moments addMoments(Program &P, const Graph &G, const GraphCover &C,
                   double Scale) {
  size_t Cols = C.SegNode.size();
  Moments M;
  M.Lo = C.SegLo;
  for (size_t Col = 0; Col != Cols; ++Col)
    M.AV.emplace_back(C.SegHi[Col] - C.SegLo[Col] + 1, -1);
  M.RV = M.AV;
  for (size_t Col = 0; Col != Cols; ++Col) {
    unsigned Lo = C.SegLo[Col], Hi = C.SegHi[Col];
    double Time = G.Nodes[C.SegNode[Col]].Time;
    for (unsigned T = Lo; T < Hi; ++T) {
      M.R(Col, T) = P.col(Time);
      if (T > Lo)
        M.A(Col, T) = P.col(0);
    }
    // Absent at m_t, resident at m_t+1 (always at m_Hi, a reader): computed
    // in between. A[t] - A[t+1] - R[t] <= 0.
    for (unsigned T = Lo + 1; T < Hi; ++T) {
      P.push(M.A(Col, T), 1);
      if (T + 1 < Hi)
        P.push(M.A(Col, T + 1), -1);
      P.push(M.R(Col, T), -1);
      P.close(-1e30, 0);
    }
  }
  for (size_t R = 0; R != C.Need.size(); ++R) {
    for (unsigned Col : C.RowSegs[R])
      P.push(M.A(Col, C.RowNode[R]),
             double(G.Nodes[C.SegNode[Col]].Bytes) / Scale);
    P.close(C.Need[R] / Scale, 1e30);
  }
  return M;
}

/// The precedence rows: tensor i computed between m_t and m_t+1 (segment
/// c) while its input p is absent at m_t (segment c' of p) means p is
/// computed in that interval too: R[c][t] + A[c'][t] - R[c'][t] <= 1.
void addPrecedence(Program &P, const Graph &G, const GraphCover &C,
                   const Moments &M) {
  size_t Cols = C.SegNode.size();
  for (size_t Col = 0; Col != Cols; ++Col) {
    const auto &In = G.Nodes[C.SegNode[Col]].Inputs;
    for (size_t Cp = 0; Cp != Cols; ++Cp) {
      if (std::find(In.begin(), In.end(), C.SegNode[Cp]) == In.end())
        continue;
      unsigned Lo = std::max(C.SegLo[Col], C.SegLo[Cp]) + 1;
      unsigned Hi = std::min(C.SegHi[Col], C.SegHi[Cp]);
      for (unsigned T = Lo; T < Hi; ++T)
        P.row({{M.R(Col, T), 1}, {M.A(Cp, T), 1}, {M.R(Cp, T), -1}}, -1e30, 1);
    }
  }
}

} // namespace

PrecedenceBound coverBoundWithPrecedence(const Graph &G, const GraphCover &C,
                                         double Seconds, unsigned MaxColumns) {
  PrecedenceBound Out;
  size_t Moms = 0;
  for (size_t Col = 0; Col != C.SegNode.size(); ++Col)
    Moms += C.SegHi[Col] - C.SegLo[Col];
  // About two columns (A and R) per moment of a segment.
  if (C.Infeasible || C.Need.empty() || Seconds <= 0 || 2 * Moms > MaxColumns)
    return Out;
  double Scale = 1;
  for (const Node &Nd : G.Nodes)
    Scale = std::max(Scale, double(Nd.Bytes));
  Program P;
  Moments M = addMoments(P, G, C, Scale);
  addPrecedence(P, G, C, M);
  milp::BinaryBound R = milp::solveBinaryProgram(P, Seconds);
  if (R.Optimal) {
    Out.Extra = R.Bound;
    for (size_t Col = 0; Col != C.SegNode.size(); ++Col)
      for (unsigned T = C.SegLo[Col]; T < C.SegHi[Col]; ++T)
        if (R.Solution[M.R(Col, T)] > 0.5)
          Out.Recomputes.push_back({C.SegNode[Col], T + 1});
    std::sort(Out.Recomputes.begin(), Out.Recomputes.end());
  } else if (!R.Infeasible) {
    Out.Extra = R.Bound;
  }
  return Out;
}

#else

PrecedenceBound coverBoundWithPrecedence(const Graph &, const GraphCover &,
                                         double, unsigned) {
  return {};
}

#endif // REMAT_HAVE_CBC

} // namespace remat

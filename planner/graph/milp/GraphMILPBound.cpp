//===- planner/graph/milp/GraphMILPBound.cpp - Covering bound -------------===//
//
// See planner/GraphMILPBound.h for the argument. Columns are segments of a
// tensor's lifetime between two of its readers; rows are the first-compute
// moments m_t where the live tensors do not fit.
//
//===----------------------------------------------------------------------===//

#include "planner/GraphMILPBound.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#ifdef REMAT_HAVE_CBC
#include "planner/graph/milp/GraphMILPCbc.h"
#endif

using namespace llvm;

namespace remat {

GraphCover buildGraphCover(const Graph &G, uint64_t Budget, bool RowLists) {
  unsigned N = G.size();
  GraphCover C;
  // Live bytes at m_t: i counts for t in (i, last reader of i].
  std::vector<double> Diff(N + 1, 0), Need(N, 0);
  for (unsigned I = 0; I != N; ++I) {
    C.BaseTime += G.Nodes[I].Time;
    if (G.Users[I].empty())
      continue;
    Diff[I + 1] += double(G.Nodes[I].Bytes);
    Diff[G.Users[I].back() + 1] -= double(G.Nodes[I].Bytes);
  }
  double Live = 0;
  // FirstRowFrom[t]: index of the first row whose moment is >= t.
  std::vector<unsigned> FirstRowFrom(N + 1, 0);
  for (unsigned T = 0; T != N; ++T) {
    FirstRowFrom[T] = unsigned(C.RowNode.size());
    Live += Diff[T];
    Need[T] = Live + double(G.Nodes[T].Bytes) + double(G.Nodes[T].Workspace) -
              double(Budget);
    if (Need[T] > 0) {
      C.RowNode.push_back(T);
      C.Need.push_back(Need[T]);
    }
  }
  FirstRowFrom[N] = unsigned(C.RowNode.size());
  if (RowLists)
    C.RowSegs.assign(C.RowNode.size(), {});
  // Droppable bytes per row, as differences over row indices.
  std::vector<double> Droppable(C.RowNode.size() + 1, 0);
  for (unsigned I = 0; I != N; ++I) {
    // Segments are the open intervals between i and its readers; dropping
    // an empty tensor frees nothing.
    if (G.Nodes[I].Bytes == 0)
      continue;
    unsigned Lo = I;
    for (unsigned U : G.Users[I]) {
      if (U == Lo)
        continue;
      unsigned First = FirstRowFrom[Lo + 1], End = FirstRowFrom[U];
      if (First < End) {
        unsigned Col = unsigned(C.SegNode.size());
        C.SegNode.push_back(I);
        C.SegLo.push_back(Lo);
        C.SegHi.push_back(U);
        C.SegFirstRow.push_back(First);
        C.SegLastRow.push_back(End - 1);
        Droppable[First] += double(G.Nodes[I].Bytes);
        Droppable[End] -= double(G.Nodes[I].Bytes);
        if (RowLists)
          for (unsigned R = First; R != End; ++R)
            C.RowSegs[R].push_back(Col);
      }
      Lo = U;
    }
  }
  double Sum = 0;
  for (size_t R = 0; R != C.Need.size(); ++R) {
    Sum += Droppable[R];
    // Sums of integral byte counts: exact in double up to 2^53.
    C.Infeasible |= Sum < C.Need[R];
  }
  return C;
}

namespace {

/// The best single row's fractional knapsack: cheapest time per byte first.
double knapsackBound(const Graph &G, const GraphCover &C) {
  double Best = 0;
  for (size_t R = 0; R != C.Need.size(); ++R) {
    SmallVector<std::pair<double, unsigned>, 0> Items;
    for (unsigned Col : C.RowSegs[R]) {
      const Node &Nd = G.Nodes[C.SegNode[Col]];
      Items.push_back({Nd.Time / double(Nd.Bytes), C.SegNode[Col]});
    }
    std::sort(Items.begin(), Items.end());
    double Left = C.Need[R], Extra = 0;
    for (auto [PerByte, I] : Items) {
      if (Left <= 0)
        break;
      double Take = std::min(Left, double(G.Nodes[I].Bytes));
      Extra += PerByte * Take;
      Left -= Take;
    }
    Best = std::max(Best, Extra);
  }
  return Best;
}

#ifdef REMAT_HAVE_CBC
/// The covering program's bound on the extra time: its LP optimum, or, with
/// a time limit, CBC's proven bound. Bytes are divided by the largest so the
/// coefficients are at most 1; scaling changes nothing else.
std::pair<double, bool> coverBound(const Graph &G, const GraphCover &C,
                                   double Seconds) {
  double Scale = 1;
  for (const Node &Nd : G.Nodes)
    Scale = std::max(Scale, double(Nd.Bytes));
  milp::BinaryProgram P;
  P.RowLo.resize(C.Need.size());
  P.RowHi.assign(C.Need.size(), 1e30);
  for (size_t R = 0; R != C.Need.size(); ++R) {
    P.RowLo[R] = C.Need[R] / Scale;
    for (unsigned Col : C.RowSegs[R]) {
      P.RowIdx.push_back(int(R));
      P.ColIdx.push_back(int(Col));
      P.Coef.push_back(double(G.Nodes[C.SegNode[Col]].Bytes) / Scale);
    }
  }
  for (unsigned N : C.SegNode)
    P.Obj.push_back(G.Nodes[N].Time);
  milp::BinaryBound R = milp::solveBinaryProgram(P, Seconds);
  return {R.Bound, Seconds > 0 && !R.Infeasible};
}

/// The covering program's LP relaxation as a min-cost flow. With x_c =
/// y_c * bytes(c) the rows read "sum of x over the segments covering row r
/// >= Need[r]", and every column covers consecutive rows; subtracting each
/// row from the next (with a surplus column per row) leaves two nonzeros
/// per column. Same optimum, but rows x live tensors nonzeros become about
/// 2 (segments + rows): at 10,000 nodes Clp's presolve of the dense form
/// took most of the planner's time and 1.5 GB.
double coverLpAsFlow(const Graph &G, const GraphCover &C) {
  double Scale = 1;
  for (const Node &Nd : G.Nodes)
    Scale = std::max(Scale, double(Nd.Bytes));
  size_t M = C.Need.size(), S = C.SegNode.size();
  std::vector<int> RowIdx, ColIdx;
  std::vector<double> Coef, Lo(S + M, 0), Hi(S + M, 1e30), Obj(S + M, 0);
  std::vector<double> Rhs(M + 1, 0);
  for (size_t R = 0; R <= M; ++R)
    Rhs[R] = (R < M ? C.Need[R] : 0) - (R > 0 ? C.Need[R - 1] : 0);
  for (size_t Col = 0; Col != S; ++Col) {
    const Node &Nd = G.Nodes[C.SegNode[Col]];
    Hi[Col] = double(Nd.Bytes) / Scale;
    Obj[Col] = Nd.Time / Hi[Col];
    RowIdx.insert(RowIdx.end(),
                  {int(C.SegFirstRow[Col]), int(C.SegLastRow[Col]) + 1});
    ColIdx.insert(ColIdx.end(), {int(Col), int(Col)});
    Coef.insert(Coef.end(), {1.0, -1.0});
  }
  for (size_t R = 0; R != M; ++R) {
    RowIdx.insert(RowIdx.end(), {int(R), int(R) + 1});
    ColIdx.insert(ColIdx.end(), {int(S + R), int(S + R)});
    Coef.insert(Coef.end(), {-1.0, 1.0});
  }
  for (double &V : Rhs)
    V /= Scale;
  CoinPackedMatrix Mat(false, RowIdx.data(), ColIdx.data(), Coef.data(),
                       CoinBigIndex(Coef.size()));
  Mat.setDimensions(int(M + 1), int(S + M));
  OsiClpSolverInterface Solver;
  Solver.messageHandler()->setLogLevel(0);
  Solver.loadProblem(Mat, Lo.data(), Hi.data(), Obj.data(), Rhs.data(),
                     Rhs.data());
  Solver.initialSolve();
  return Solver.isProvenOptimal() ? Solver.getObjValue() : 0;
}
#endif

} // namespace

GraphBoundResult graphTimeLowerBound(const Graph &G,
                                     const GraphBoundOptions &Opts) {
  auto Start = std::chrono::steady_clock::now();
  GraphBoundResult Res;
  // The LP alone needs no row lists (coverLpAsFlow).
  bool LpOnly = Opts.TimeLimitSeconds <= 0;
#ifndef REMAT_HAVE_CBC
  LpOnly = false;
#endif
  GraphCover C = buildGraphCover(G, Opts.BudgetBytes, !LpOnly);
  Res.Infeasible = C.Infeasible;
  double Extra = 0;
  if (!C.Need.empty() && !C.Infeasible) {
#ifdef REMAT_HAVE_CBC
    if (LpOnly) {
      // The LP optimum is at least every single row's fractional knapsack.
      Extra = coverLpAsFlow(G, C);
      Res.Method = "cover-lp";
    } else {
      Extra = knapsackBound(G, C);
      Res.Method = "knapsack";
      auto [Cov, Mip] = coverBound(G, C, Opts.TimeLimitSeconds);
      if (Cov >= Extra - 1e-9) {
        Extra = Cov;
        Res.Method = Mip ? "cover-milp" : "cover-lp";
      }
      // The per-moment program with precedence, in the time left; it only
      // ever raises the bound (unet-37 at 60%: 2165 -> 2182).
      double Left =
          Opts.TimeLimitSeconds - std::chrono::duration<double>(
                                      std::chrono::steady_clock::now() - Start)
                                      .count();
      PrecedenceBound Prec = coverBoundWithPrecedence(G, C, Left);
      if (Prec.Extra > Extra + 1e-9) {
        Extra = Prec.Extra;
        Res.Method = "cover-prec";
        Res.Recomputes = std::move(Prec.Recomputes);
      }
    }
#else
    Extra = knapsackBound(G, C);
    Res.Method = "knapsack";
#endif
  }
  // Solver tolerances: a bound a hair too high would claim too much.
  double T = C.BaseTime + Extra * (1 - 1e-9) - 1e-6;
  bool Integral = true;
  for (const Node &Nd : G.Nodes)
    Integral &= Nd.Time == std::floor(Nd.Time);
  Res.Time = std::max(C.BaseTime, Integral ? std::ceil(T) : T);
  Res.Seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - Start)
          .count();
  return Res;
}

} // namespace remat

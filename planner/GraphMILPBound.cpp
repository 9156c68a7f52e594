//===- planner/GraphMILPBound.cpp - Covering bound on graph plan time -----===//
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
#include "planner/GraphMILPCbc.h"
#endif

using namespace llvm;

namespace remat {

GraphCover buildGraphCover(const Graph &G, uint64_t Budget) {
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
  std::vector<int> Row(N, -1);
  for (unsigned T = 0; T != N; ++T) {
    Live += Diff[T];
    Need[T] = Live + double(G.Nodes[T].Bytes) + double(G.Nodes[T].Workspace) -
              double(Budget);
    if (Need[T] > 0) {
      Row[T] = int(C.RowNode.size());
      C.RowNode.push_back(T);
      C.Need.push_back(Need[T]);
    }
  }
  C.RowSegs.assign(C.RowNode.size(), {});
  std::vector<double> Droppable(C.RowNode.size(), 0);
  for (unsigned I = 0; I != N; ++I) {
    // Segments are the open intervals between i and its readers; dropping
    // an empty tensor frees nothing.
    if (G.Nodes[I].Bytes == 0)
      continue;
    unsigned Lo = I;
    for (unsigned U : G.Users[I]) {
      if (U == Lo)
        continue;
      int Col = -1;
      for (unsigned T = Lo + 1; T < U; ++T) {
        if (Row[T] < 0)
          continue;
        if (Col < 0) {
          Col = int(C.SegNode.size());
          C.SegNode.push_back(I);
          C.SegLo.push_back(Lo);
          C.SegHi.push_back(U);
        }
        C.RowSegs[Row[T]].push_back(unsigned(Col));
        Droppable[Row[T]] += double(G.Nodes[I].Bytes);
      }
      Lo = U;
    }
  }
  for (size_t R = 0; R != C.Need.size(); ++R)
    C.Infeasible |= Droppable[R] < C.Need[R];
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
#endif

} // namespace

GraphBoundResult graphTimeLowerBound(const Graph &G,
                                     const GraphBoundOptions &Opts) {
  auto Start = std::chrono::steady_clock::now();
  GraphBoundResult Res;
  GraphCover C = buildGraphCover(G, Opts.BudgetBytes);
  Res.Infeasible = C.Infeasible;
  double Extra = 0;
  if (!C.Need.empty() && !C.Infeasible) {
    Extra = knapsackBound(G, C);
    Res.Method = "knapsack";
#ifdef REMAT_HAVE_CBC
    auto [Cov, Mip] = coverBound(G, C, Opts.TimeLimitSeconds);
    if (Cov >= Extra - 1e-9) {
      Extra = Cov;
      Res.Method = Mip ? "cover-milp" : "cover-lp";
    }
    // The per-moment program with precedence, in the time left; it only
    // ever raises the bound (unet-37 at 60%: 2165 -> 2182).
    double Left =
        Opts.TimeLimitSeconds -
        std::chrono::duration<double>(std::chrono::steady_clock::now() - Start)
            .count();
    PrecedenceBound Prec = coverBoundWithPrecedence(G, C, Left);
    if (Prec.Extra > Extra + 1e-9) {
      Extra = Prec.Extra;
      Res.Method = "cover-prec";
      Res.Recomputes = std::move(Prec.Recomputes);
    }
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

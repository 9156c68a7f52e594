//===- planner/graph/milp/GraphMILPCbc.h - Quiet CBC runs -------*- C++ -*-===//
//
// Internal to the exact graph planner: the CBC set-up that GraphMILPSolve.cpp
// (the MILP), GraphMILPBound.cpp and GraphMILPBoundPrec.cpp (the covering
// programs) share. Include
// only where REMAT_HAVE_CBC is defined.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_GRAPHMILPCBC_H
#define REMAT_PLANNER_GRAPHMILPCBC_H

// Private to remat_planner_milp: outside it, link remat_planner_milp_internals.
#ifndef REMAT_PLANNER_MILP_INTERNALS
#error "planner/graph/milp/GraphMILPCbc.h is private to remat_planner_milp"
#endif

#include "planner/graph/milp/GraphMILPBuilder.h"

#include "CbcEventHandler.hpp"
#include "CbcModel.hpp"
#include "CbcSolver.hpp"
#include "CoinPackedMatrix.hpp"
#include "OsiClpSolverInterface.hpp"

#include "llvm/ADT/ArrayRef.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

namespace remat::milp {

/// CBC's standard settings (CbcMain0) on \p Model, with every message off.
/// \p Data must outlive the run: CbcMain0 ties the model to it.
inline void quietCbc(CbcModel &Model, CbcSolverUsefulData &Data) {
  Data.noPrinting_ = true;
  CbcMain0(Model, Data);
  Model.setLogLevel(0);
  Model.messageHandler()->setLogLevel(0);
}

/// Runs CBC's standard solve (cuts, heuristics, search) on \p Model for
/// \p Seconds of wall-clock time, with \p Extra options before "-solve".
/// CBC counts CPU time by default, which on a busy machine lets a solve run
/// far past the limit asked for. Preprocessing is off: CBC 2.10's
/// CglPreProcess::postProcess crashes when the time limit stops a
/// preprocessed solve (seen on a 49-node graph).
inline void runQuietCbc(CbcModel &Model, CbcSolverUsefulData &Data,
                        double Seconds,
                        llvm::ArrayRef<const char *> Extra = {}) {
  std::string Sec = std::to_string(Seconds);
  std::vector<const char *> Argv = {"remat",     "-log",        "0",
                                    "-timeMode", "elapsed",     "-sec",
                                    Sec.c_str(), "-preprocess", "off"};
  Argv.insert(Argv.end(), Extra.begin(), Extra.end());
  Argv.push_back("-solve");
  Argv.push_back("-quit");
  CbcMain1(
      int(Argv.size()), Argv.data(), Model, [](CbcModel *, int) { return 0; },
      Data);
}

/// A minimisation over columns in [0, 1], all integer, with rows as
/// triplets (row, column, coefficient) and bounds RowLo <= row <= RowHi.
struct BinaryProgram {
  std::vector<double> Obj;
  std::vector<int> RowIdx, ColIdx;
  std::vector<double> Coef, RowLo, RowHi;
};

/// What was proved about a BinaryProgram.
struct BinaryBound {
  /// A lower bound on its optimum (0 when nothing was proved).
  double Bound = 0;
  /// CBC solved the 0/1 program: Bound is its optimum, Solution its columns.
  bool Optimal = false;
  /// CBC proved that no 0/1 solution exists.
  bool Infeasible = false;
  std::vector<double> Solution;
};

/// Bounds \p P: with \p Seconds <= 0 by its LP relaxation's optimum, else
/// by CBC's proven bound on the 0/1 program after a quiet run of that many
/// seconds.
inline BinaryBound solveBinaryProgram(const BinaryProgram &P, double Seconds) {
  size_t Cols = P.Obj.size();
  CoinPackedMatrix Mat(false, P.RowIdx.data(), P.ColIdx.data(), P.Coef.data(),
                       CoinBigIndex(P.Coef.size()));
  Mat.setDimensions(int(P.RowLo.size()), int(Cols));
  std::vector<double> Lo(Cols, 0), Hi(Cols, 1);
  OsiClpSolverInterface Solver;
  Solver.messageHandler()->setLogLevel(0);
  Solver.loadProblem(Mat, Lo.data(), Hi.data(), P.Obj.data(), P.RowLo.data(),
                     P.RowHi.data());
  BinaryBound Out;
  if (Seconds <= 0) {
    Solver.initialSolve();
    Out.Bound = Solver.isProvenOptimal() ? Solver.getObjValue() : 0;
    return Out;
  }
  for (size_t Col = 0; Col != Cols; ++Col)
    Solver.setInteger(int(Col));
  CbcModel Model(Solver);
  CbcSolverUsefulData Data;
  quietCbc(Model, Data);
  runQuietCbc(Model, Data, Seconds);
  Out.Infeasible = Model.isProvenInfeasible();
  if (Model.isProvenOptimal() && Model.bestSolution()) {
    Out.Optimal = true;
    Out.Bound = Model.getObjValue();
    Out.Solution.assign(Model.bestSolution(), Model.bestSolution() + Cols);
  } else if (!Out.Infeasible) {
    Out.Bound = std::max(0.0, Model.getBestPossibleObjValue());
  }
  return Out;
}

/// Stops CBC at a wall-clock deadline wherever it next reports: CBC's own
/// limit is checked between tree nodes, not during the root's cut passes
/// and heuristics.
class StopAtDeadline : public CbcEventHandler {
public:
  explicit StopAtDeadline(std::chrono::steady_clock::time_point Deadline)
      : Deadline(Deadline) {}
  CbcAction event(CbcEvent) override {
    return std::chrono::steady_clock::now() >= Deadline ? stop : noAction;
  }
  CbcEventHandler *clone() const override { return new StopAtDeadline(*this); }

private:
  std::chrono::steady_clock::time_point Deadline;
};

/// Loads \p B's columns and rows into Clp; with \p Names, the columns are
/// named (CBC's MIP start finds columns by name).
inline void loadInto(OsiClpSolverInterface &Solver, const MilpBuilder &B,
                     bool Names) {
  Solver.messageHandler()->setLogLevel(0);
  if (Names)
    Solver.setIntParam(OsiNameDiscipline, 2);
  CoinPackedMatrix Rows(false, B.RowIdx.data(), B.ColIdx.data(), B.Coef.data(),
                        CoinBigIndex(B.Coef.size()));
  Rows.setDimensions(int(B.RowLo.size()), int(B.ColLo.size()));
  Solver.loadProblem(Rows, B.ColLo.data(), B.ColHi.data(), B.Obj.data(),
                     B.RowLo.data(), B.RowHi.data());
  for (size_t C = 0; C != B.IsInt.size(); ++C) {
    if (B.IsInt[C])
      Solver.setInteger(int(C));
    if (Names)
      Solver.setColName(int(C), B.Names[C]);
  }
}

} // namespace remat::milp

#endif // REMAT_PLANNER_GRAPHMILPCBC_H

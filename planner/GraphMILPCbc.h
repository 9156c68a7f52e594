//===- planner/GraphMILPCbc.h - Quiet CBC runs for the graph MILPs -*- C++ -*-//
//
// Internal to the exact graph planner: the CBC set-up that GraphMILPSolve.cpp
// (the MILP) and GraphMILPBound.cpp (the covering program) share. Include
// only where REMAT_HAVE_CBC is defined.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_GRAPHMILPCBC_H
#define REMAT_PLANNER_GRAPHMILPCBC_H

#include "planner/GraphMILPBuilder.h"

#include "CbcEventHandler.hpp"
#include "CbcModel.hpp"
#include "CbcSolver.hpp"
#include "CoinPackedMatrix.hpp"
#include "OsiClpSolverInterface.hpp"

#include "llvm/ADT/ArrayRef.h"

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

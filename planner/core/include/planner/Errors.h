//===- planner/Errors.h - Errors with exit codes ----------------*- C++ -*-===//
//
// Most errors are plain llvm::StringError. Three kinds carry meaning that the
// command line turns into distinct exit codes (spec §4): an infeasible budget
// (exit 3, with the smallest feasible budget), an invalid schedule found by
// the simulator (exit 1 from `simulate` and `validate`) and an internal
// contradiction, a bug in remat rather than in the input (exit 4).
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_ERRORS_H
#define REMAT_PLANNER_ERRORS_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace remat {

/// The budget is below what the strategy needs. `MinFeasibleBytes` is the
/// smallest budget under which the same strategy succeeds; when `Class` is
/// set it is the smallest within that class of schedules only (the true
/// least over all schedules may be lower). When `LimitReached` is set, the
/// time limit stopped the search: the budget is not proven infeasible, and
/// `MinFeasibleBytes` is only the least peak of the plans found.
class InfeasibleBudgetError : public llvm::ErrorInfo<InfeasibleBudgetError> {
public:
  static char ID;
  InfeasibleBudgetError(std::string Strategy, uint64_t BudgetBytes,
                        uint64_t MinFeasibleBytes, std::string Class = "",
                        bool LimitReached = false)
      : Strategy(std::move(Strategy)), BudgetBytes(BudgetBytes),
        MinFeasibleBytes(MinFeasibleBytes), Class(std::move(Class)),
        LimitReached(LimitReached) {}

  /// "strategy 'optimal': budget 1.00 KiB (1024 bytes) is infeasible; the
  /// smallest feasible budget is 2.00 KiB (2048 bytes)", with " for <Class>"
  /// after "budget" when the class is set; with LimitReached, "strategy
  /// 'optimal': no plan within budget ... found within the time limit; not
  /// proven infeasible; the least budget proven feasible is ...".
  void log(llvm::raw_ostream &OS) const override;
  std::error_code convertToErrorCode() const override {
    return llvm::inconvertibleErrorCode();
  }

  std::string Strategy;
  uint64_t BudgetBytes;
  uint64_t MinFeasibleBytes;
  /// Words naming the class MinFeasibleBytes is least for, e.g. "plans that
  /// first compute nodes in the file's order"; empty: over all schedules.
  std::string Class;
  /// The time limit stopped the search before it found a plan or a proof.
  bool LimitReached = false;
};

/// The simulator rejected a schedule; the message names the op index, the op
/// and the missing tensor.
class InvalidScheduleError : public llvm::ErrorInfo<InvalidScheduleError> {
public:
  static char ID;
  explicit InvalidScheduleError(std::string Msg) : Msg(std::move(Msg)) {}
  void log(llvm::raw_ostream &OS) const override { OS << Msg; }
  std::error_code convertToErrorCode() const override {
    return llvm::inconvertibleErrorCode();
  }
  std::string Msg;
};

/// remat contradicted itself: for example a lower bound on the time of every
/// schedule of some class lies above the time of a plan of that class that
/// the simulator accepted. This is a bug in remat, never bad input; the
/// message names both sides of the contradiction.
class InternalError : public llvm::ErrorInfo<InternalError> {
public:
  static char ID;
  explicit InternalError(std::string Msg) : Msg(std::move(Msg)) {}
  /// "internal error: <Msg>".
  void log(llvm::raw_ostream &OS) const override;
  std::error_code convertToErrorCode() const override {
    return llvm::inconvertibleErrorCode();
  }
  std::string Msg;
};

} // namespace remat

#endif // REMAT_PLANNER_ERRORS_H

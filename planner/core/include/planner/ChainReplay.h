//===- planner/ChainReplay.h - The one chain replay state machine -*- C++
//-*-===//
//
// The residency rules of spec §3a, written once: which of x_i, x̄_i and y_i
// are resident, what each op needs, makes and frees, and why an op cannot
// run. It knows no sizes and does no work; each client acts on the ChainStep
// an op returns:
//   - the simulator (planner/Simulator.cpp) counts bytes and time;
//   - the emit analysis (emit/Analysis.cpp) records which stages are kept
//     and which recomputed;
//   - the runtime executor (runtime/Executor.cpp) allocates the output,
//     runs the kernel on the step's operands and frees what the step frees.
// The Python executor (remat_torch's _Interpreter) cannot share this code;
// tests/python/test_schedule_rules.py holds it to the simulator's verdicts.
//
// The hot path (step) is inline: the simulator replays ~10^8 ops a second.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_CHAINREPLAY_H
#define REMAT_PLANNER_CHAINREPLAY_H

#include "graph/Graph.h"
#include "planner/Schedule.h"

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace remat {

/// The three families of chain tensors (spec §3a): plain activations x_i,
/// recorded activations x̄_i (i >= 1) and gradients y_i, for i in [0, L].
enum class ChainTensorKind : uint8_t { X, XBar, Y };

/// One chain tensor.
struct ChainTensor {
  ChainTensorKind Kind = ChainTensorKind::X;
  unsigned Index = 0;
};

/// Why an op cannot run. ChainReplay::step checks in a fixed order (see
/// there), so an op with several faults always reports the same one.
enum class ChainFault : uint8_t {
  None,
  /// A forward or B op names a layer >= L (Culprit.Index is the layer).
  LayerOutOfRange,
  /// An operand is missing. For a forward op or the loss, Culprit is x_i and
  /// means "neither x_i nor x̄_i"; for B it is x̄_{i+1} or y_{i+1}.
  NotResident,
  /// The output, or its twin (x_{i+1} for x̄_{i+1} and back), already is.
  AlreadyResident,
  /// The loss has already run.
  LossRepeated,
};

/// What one op did to the resident set, or why it could not run. The
/// tensors it freed go to the callback of ChainReplay::step.
struct ChainStep {
  ChainFault Fault = ChainFault::None;
  /// The tensor a fault names.
  ChainTensor Culprit;
  /// The activation read: for a forward op or the loss the plain x_i when it
  /// is resident, else x̄_i; for B, x̄_{i+1} (y_{i+1} is the other operand).
  ChainTensor Input;
  /// The tensor made: x_{i+1} or x̄_{i+1} (F_all), y_L (loss), y_i (B).
  ChainTensor Output;

  bool ok() const { return Fault == ChainFault::None; }
};

/// The resident set of a chain of L stages under spec §3a, advanced op by
/// op. Starts with x_0 resident. An op that faults leaves the state as it
/// was.
class ChainReplay {
public:
  explicit ChainReplay(unsigned NumStages)
      : L(NumStages), Held(size_t(NumStages) + 1, 0) {
    set(X, 0);
  }

  /// Runs \p Op and calls \p Freed(ChainTensor) for each tensor the op
  /// frees once it has run, in order (F_n: its input; loss: a plain x_L; B:
  /// y_{i+1}, x̄_{i+1}, then a plain x_i); not at all on a fault. Checks, in
  /// order: the layer is in range; the loss has not run (loss); the input
  /// x_i or x̄_i is resident (forward, loss), x̄_{i+1} then y_{i+1} are (B);
  /// the output is not (forward: neither x_{i+1} nor x̄_{i+1}; B: y_i).
  /// A callback rather than a list so that, inlined, the simulator's byte
  /// count sees each freed tensor's kind as a constant.
  template <typename FreeFn> ChainStep step(const ChainOp &Op, FreeFn &&Freed) {
    ChainStep S;
    if (Op.Kind == ChainOpKind::Loss)
      return loss(S, Freed);
    if (Op.Layer >= L)
      return fault(S, ChainFault::LayerOutOfRange, X, Op.Layer);
    if (Op.Kind == ChainOpKind::B)
      return backward(S, Op.Layer, Freed);
    return forward(S, Op, Freed);
  }

  bool isResident(ChainTensor T) const { return test(T.Kind, T.Index); }
  unsigned numStages() const { return L; }
  bool lossDone() const { return LossDone; }
  /// y_0 is resident: the schedule is complete. Nothing frees y_0.
  bool y0Produced() const { return test(Y, 0); }

  /// Calls \p F on each resident tensor: the x_i, then the x̄_i, then the
  /// y_i, each by ascending i.
  template <typename Fn> void forEachResident(Fn F) const {
    for (ChainTensorKind K : {X, XBar, Y})
      for (unsigned I = 0; I <= L; ++I)
        if (test(K, I))
          F(ChainTensor{K, I});
  }

private:
  static constexpr ChainTensorKind X = ChainTensorKind::X;
  static constexpr ChainTensorKind XBar = ChainTensorKind::XBar;
  static constexpr ChainTensorKind Y = ChainTensorKind::Y;

  static uint8_t bit(ChainTensorKind K) { return uint8_t(1u << unsigned(K)); }
  bool test(ChainTensorKind K, unsigned I) const { return Held[I] & bit(K); }
  void set(ChainTensorKind K, unsigned I) { Held[I] |= bit(K); }
  void reset(ChainTensorKind K, unsigned I) { Held[I] &= uint8_t(~bit(K)); }

  static ChainStep &fault(ChainStep &S, ChainFault F, ChainTensorKind K,
                          unsigned I) {
    S.Fault = F;
    S.Culprit = {K, I};
    return S;
  }
  /// Frees \p K_\p I and reports it.
  template <typename FreeFn>
  void free(ChainTensorKind K, unsigned I, FreeFn &Freed) {
    reset(K, I);
    Freed(ChainTensor{K, I});
  }
  /// Sets Input to x_I or x̄_I; false when neither is resident.
  bool input(ChainStep &S, unsigned I) const {
    if (!test(X, I) && !test(XBar, I))
      return false;
    S.Input = {test(X, I) ? X : XBar, I};
    return true;
  }

  template <typename FreeFn>
  ChainStep &forward(ChainStep &S, const ChainOp &Op, FreeFn &Freed) {
    unsigned I = Op.Layer;
    if (!input(S, I))
      return fault(S, ChainFault::NotResident, X, I);
    if (test(X, I + 1))
      return fault(S, ChainFault::AlreadyResident, X, I + 1);
    if (test(XBar, I + 1))
      return fault(S, ChainFault::AlreadyResident, XBar, I + 1);
    S.Output = {Op.Kind == ChainOpKind::FAll ? XBar : X, I + 1};
    set(S.Output.Kind, I + 1);
    // F_n frees its input: the plain x_i when resident, else x̄_i.
    if (Op.Kind == ChainOpKind::FN) {
      if (S.Input.Kind == X)
        free(X, I, Freed);
      else
        free(XBar, I, Freed);
    }
    return S;
  }

  template <typename FreeFn> ChainStep &loss(ChainStep &S, FreeFn &Freed) {
    if (LossDone)
      return fault(S, ChainFault::LossRepeated, Y, L);
    if (!input(S, L))
      return fault(S, ChainFault::NotResident, X, L);
    LossDone = true;
    S.Output = {Y, L};
    set(Y, L);
    if (test(X, L))
      free(X, L, Freed);
    return S;
  }

  template <typename FreeFn>
  ChainStep &backward(ChainStep &S, unsigned I, FreeFn &Freed) {
    if (!test(XBar, I + 1))
      return fault(S, ChainFault::NotResident, XBar, I + 1);
    if (!test(Y, I + 1))
      return fault(S, ChainFault::NotResident, Y, I + 1);
    if (test(Y, I))
      return fault(S, ChainFault::AlreadyResident, Y, I);
    S.Input = {XBar, I + 1};
    S.Output = {Y, I};
    set(Y, I);
    free(Y, I + 1, Freed);
    free(XBar, I + 1, Freed);
    if (test(X, I))
      free(X, I, Freed);
    return S;
  }

  unsigned L;
  /// Per index i in [0, L], one bit per ChainTensorKind: which of x_i, x̄_i
  /// and y_i are resident.
  std::vector<uint8_t> Held;
  bool LossDone = false;
};

/// Bytes of \p T in \p C: x_i and y_i are activationBytes(i), x̄_i is stage
/// i-1's SavedBytes.
inline uint64_t chainTensorBytes(const Chain &C, ChainTensor T) {
  return T.Kind == ChainTensorKind::XBar ? C.Stages[T.Index - 1].SavedBytes
                                         : C.activationBytes(T.Index);
}

/// Bytes \p T releases when an op frees it: chainTensorBytes, except x̄_L
/// under a loss that frees its input (LossCost::FreesInput). Only B_{L-1}
/// frees x̄_L, after the loss, which left SavedBytes - OutputBytes of it.
inline uint64_t chainFreedBytes(const Chain &C, ChainTensor T) {
  uint64_t Bytes = chainTensorBytes(C, T);
  if (C.Loss.FreesInput && T.Kind == ChainTensorKind::XBar &&
      T.Index == C.size())
    Bytes -= C.activationBytes(T.Index);
  return Bytes;
}

/// Bytes below "resident after the output, plus the workspace" at which \p Op
/// peaks: x_L for a loss that frees its input before it makes y_L, else 0.
inline uint64_t chainEarlyFreed(const Chain &C, const ChainOp &Op) {
  return Op.Kind == ChainOpKind::Loss && C.Loss.FreesInput
             ? C.activationBytes(C.size())
             : 0;
}

/// Bytes \p Op frees after it ran beyond the tensors the replay reports (\p R
/// is the replay after the op): under LossCost::FreesInput, x_L's share of
/// x̄_L, which the loss frees when x̄_L is resident and F_all_{L-1} frees at
/// once when it runs after the loss. Else 0.
inline uint64_t chainShareFreed(const Chain &C, const ChainReplay &R,
                                const ChainOp &Op) {
  if (!C.Loss.FreesInput || C.size() == 0)
    return 0;
  unsigned L = C.size();
  bool Share =
      Op.Kind == ChainOpKind::Loss
          ? R.isResident({ChainTensorKind::XBar, L})
          : Op.Kind == ChainOpKind::FAll && Op.Layer + 1 == L && R.lossDone();
  return Share ? C.activationBytes(L) : 0;
}

/// The workspace an op holds while it runs: its stage's forward or backward
/// workspace, or the loss's.
inline uint64_t chainOpWorkspace(const Chain &C, const ChainOp &Op) {
  if (Op.Kind == ChainOpKind::Loss)
    return C.Loss.BwdWorkspace;
  const Stage &S = C.Stages[Op.Layer];
  return Op.isForward() ? S.FwdWorkspace : S.BwdWorkspace;
}

/// The time an op takes, model time unit.
inline double chainOpTime(const Chain &C, const ChainOp &Op) {
  if (Op.Kind == ChainOpKind::Loss)
    return C.Loss.BwdTime;
  const Stage &S = C.Stages[Op.Layer];
  return Op.isForward() ? S.FwdTime : S.BwdTime;
}

/// "x_3", "y_3", and x̄_3 spelled \p Bar "_3" ("xbar_3" in the simulator's
/// messages, "x̄_3" in emit's and the runtime's).
std::string chainTensorName(ChainTensor T, llvm::StringRef Bar = "xbar");

/// "op 7 (B layer 2)" or "op 4 (loss)": how every message names an op.
std::string chainOpLabel(size_t Index, const ChainOp &Op);

/// The simulator's words for a fault of a chain of \p NumStages stages,
/// e.g. "xbar_3 is not resident" or "the loss has already run"; x̄ spelled
/// \p Bar as in chainTensorName.
std::string chainFaultText(const ChainStep &S, unsigned NumStages,
                           llvm::StringRef Bar = "xbar");

} // namespace remat

#endif // REMAT_PLANNER_CHAINREPLAY_H

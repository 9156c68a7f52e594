//===- runtime/Synthetic.h - Ops that cost what the model says --*- C++ -*-===//
//
// The synthetic workload: every op allocates exactly the bytes the model
// declares (through the executor) and keeps the device busy for its declared
// time multiplied by a time scale, so that a schedule's measured peak and
// time can be compared with the simulator's prediction.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_RUNTIME_SYNTHETIC_H
#define REMAT_RUNTIME_SYNTHETIC_H

#include "runtime/Executor.h"

namespace remat {

/// Default time scale: microseconds of busy work per model time unit (with
/// "ms" models, 1 model ms runs as 10 us, so suites stay fast).
constexpr double DefaultMicrosPerUnit = 10.0;

class SyntheticWorkload final : public ChainWorkload {
public:
  /// \p C is the (possibly byte-scaled) chain; \p MicrosPerUnit converts its
  /// times to busy microseconds. Both must outlive the workload.
  SyntheticWorkload(const Chain &C, Backend &B, double MicrosPerUnit)
      : C(C), Dev(B), Scale(MicrosPerUnit) {}

  const Chain &chain() const override { return C; }
  void initInput(Buffer X0) override { Dev.busy(X0.Data, X0.Bytes, 0); }
  void forward(unsigned I, TensorRef, Buffer Out, bool, Buffer) override {
    Dev.busy(Out.Data, Out.Bytes, C.Stages[I].FwdTime * Scale);
  }
  void loss(TensorRef, Buffer YL, Buffer) override {
    Dev.busy(YL.Data, YL.Bytes, C.Loss.BwdTime * Scale);
  }
  void backward(unsigned I, Buffer, Buffer, Buffer DX, Buffer) override {
    Dev.busy(DX.Data, DX.Bytes, C.Stages[I].BwdTime * Scale);
  }
  // Busy kernels read nothing, so x̄_L may come in two parts.
  bool splitsLastRecord() const override { return true; }

private:
  const Chain &C;
  Backend &Dev;
  double Scale;
};

} // namespace remat

#endif // REMAT_RUNTIME_SYNTHETIC_H

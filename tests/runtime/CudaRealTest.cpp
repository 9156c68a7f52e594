//===- tests/runtime/CudaRealTest.cpp - Real layers on the GPU ------------===//
//
// Parity of the device real mode with the CPU real mode, and bit-identity
// of scheduled steps on the GPU. Compiled only in CUDA builds; every case
// reports itself skipped (test::skipTest, exit 77 under ctest) when no
// device is present. scripts/gpu-check.sh runs these cases and fails on a
// skip.
//
// Tolerance (GPU against CPU, same seed, shapes and schedule). The two
// devices run the same formulas in float32 but round differently: cuBLAS
// blocks its sums and nvcc fuses multiply-adds, and the device's tanhf and
// expf are within 2 ulp of glibc's. A sum of K products computed in two
// orders differs by at most 2 gamma_K sum|a b|, gamma_K = K u / (1 - K u),
// u = 2^-24 (Higham, Accuracy and Stability, Thm 3.1); the longest sums
// here have K = 128 (the MLP's inner width 4 x 32), so 2 gamma_128 = 1.5e-5
// relative to the magnitudes, which for these O(1) tensors is within a
// small factor of the result. tiny-gpt with 2 blocks has 10 layers; a
// forward and backward pass chains at most about 3 such sums per layer and
// pass, 60 in all, and residual layers and layer norms keep the Jacobians
// O(1), so to first order the errors add: 60 x 1.5e-5 = 9e-4. We allow
// twice that against the largest CPU gradient (2e-3 of max|g|) and 1e-3
// relative on the loss (forward only, 30 sums: 4.5e-4, doubled). A wrong
// index, stream or mask gives O(1) errors, far outside these.
//
//===----------------------------------------------------------------------===//

#ifdef REMAT_HAVE_CUDA

#include "RuntimeTestUtil.h"
#include "TestUtil.h"

#include "planner/Baselines.h"
#include "planner/Simulator.h"
#include "runtime/RealDevice.h"
#include "runtime/RealMath.h"
#include "runtime/Validate.h"

#include <doctest/doctest.h>

#include <cmath>

using namespace remat;
using namespace remat::real;
using namespace remat::test;

namespace {
constexpr double GradTol = 2e-3, LossTol = 1e-3;

/// The CUDA backend, or null after reporting the case as skipped.
std::unique_ptr<Backend> gpuOrSkip() {
  auto B = createCudaBackend();
  if (!B) {
    test::skipTest("no GPU: " + llvm::toString(B.takeError()));
    return nullptr;
  }
  return std::move(*B);
}

struct Step {
  double Loss = 0;
  std::vector<float> Grads, Input;
};

/// The CPU real mode's store-everything step, and its loss computed here
/// from a plain forward pass (0.5 |x_L - t|^2, t from the target stream
/// ~0 - 1 as RealModel.cpp draws it).
Step cpuStep(RealNet &Net) {
  RealWorkload W(Net);
  auto Cpu = createCpuBackend();
  Net.zeroGrads();
  auto R = runChain(W, storeAllOps(W.chain()), *Cpu);
  REQUIRE(bool(R));
  Step S{0, Net.gradients(), W.inputGradient()};
  const RealShape &Sh = Net.shape();
  std::vector<float> X(Sh.ioFloats()), Y(X.size());
  for (size_t I = 0; I < X.size(); ++I)
    X[I] = 2 * uniform01(Sh.Seed, ~uint64_t(0), I) - 1;
  for (unsigned L = 0; L < Net.size(); ++L) {
    std::vector<float> Inter(Net.layer(L).interFloats());
    Net.layer(L).forward(X.data(), Inter.data(), Y.data());
    X.swap(Y);
  }
  for (size_t I = 0; I < X.size(); ++I) {
    float D = X[I] - (2 * uniform01(Sh.Seed, ~uint64_t(0) - 1, I) - 1);
    S.Loss += 0.5 * double(D) * D;
  }
  return S;
}

/// max |A - B| / max |B|.
double relMaxError(const std::vector<float> &A, const std::vector<float> &B) {
  double Err = 0, Ref = 0;
  for (size_t I = 0; I < B.size(); ++I) {
    Err = std::max(Err, std::fabs(double(A[I]) - B[I]));
    Ref = std::max(Ref, std::fabs(double(B[I])));
  }
  return Ref > 0 ? Err / Ref : Err;
}
} // namespace

TEST_CASE("cuda real: loss and gradients match the CPU real mode, scheduled "
          "steps are bit-identical on the GPU") {
  auto Dev = gpuOrSkip();
  if (!Dev)
    return;
  MESSAGE("running on " << Dev->description());
  for (const char *Preset : {"tiny-gpt", "tiny-mlp"}) {
    RealShape S;
    auto Net = RealNet::fromPreset(Preset, 2, S);
    REQUIRE(bool(Net));
    Step Ref = cpuStep(*Net);
    auto W = createDeviceRealWorkload(*Net, *Dev, /*RecordLoss=*/true);
    REQUIRE_MESSAGE(bool(W), (W ? "" : llvm::toString(W.takeError())));
    unsigned L = Net->size();
    const Chain &C = (*W)->chain();
    std::vector<float> Base, BaseInput;
    for (const auto &Ops :
         {storeAllOps(C), segmentSchedule(L, {0, L / 2}),
          segmentSchedule(L, {0, 3, 6}), recomputeAllSchedule(L)}) {
      REQUIRE(!(*W)->zeroGrads());
      auto R = runChain(**W, Ops, *Dev);
      REQUIRE_MESSAGE(bool(R), (R ? "" : llvm::toString(R.takeError())));
      REQUIRE(!(*W)->takeError());
      auto G = (*W)->gradients();
      REQUIRE(bool(G));
      auto Sim = simulateChain(C, Ops);
      REQUIRE(bool(Sim));
      CHECK(R->PeakBytes == Sim->PeakBytes);
      CHECK(R->Device.PoolUsedHighBytes >= R->PeakBytes);
      MESSAGE(Preset << " " << Ops.size() << " ops: peak " << R->PeakBytes
                     << " B, pool used high " << R->Device.PoolUsedHighBytes
                     << " B, op time " << R->OpMicros << " us");
      if (Base.empty()) {
        Base = *G;
        BaseInput = (*W)->inputGradient();
        double LossErr = std::fabs((*W)->lastLoss() - Ref.Loss) / Ref.Loss;
        double GradErr = relMaxError(*G, Ref.Grads);
        double InErr = relMaxError(BaseInput, Ref.Input);
        MESSAGE(Preset << ": loss gpu " << (*W)->lastLoss() << " cpu "
                       << Ref.Loss << " rel err " << LossErr
                       << "; grad max rel err " << GradErr
                       << "; y_0 max rel err " << InErr);
        CHECK(LossErr <= LossTol);
        CHECK(GradErr <= GradTol);
        CHECK(InErr <= GradTol);
        continue;
      }
      CHECK(bitIdentical(*G, Base));
      CHECK(bitIdentical((*W)->inputGradient(), BaseInput));
    }
  }
}

TEST_CASE(
    "cuda real: negative control, another seed is outside the tolerance") {
  auto Dev = gpuOrSkip();
  if (!Dev)
    return;
  // The GPU net gets the CPU net's weights but seed 2, which draws its
  // dropout masks, input and target at run time: a real difference that
  // the parity tolerance must not absorb.
  RealShape S;
  auto Net = RealNet::fromPreset("tiny-gpt", 2, S);
  REQUIRE(bool(Net));
  Step Ref = cpuStep(*Net);
  RealShape Other = S;
  Other.Seed = 2;
  auto Net2 = RealNet::fromPreset("tiny-gpt", 2, Other);
  REQUIRE(bool(Net2));
  for (unsigned I = 0; I < Net2->size(); ++I)
    Net2->layer(I).Params = Net->layer(I).Params;
  auto W = createDeviceRealWorkload(*Net2, *Dev);
  REQUIRE(bool(W));
  REQUIRE(!(*W)->zeroGrads());
  REQUIRE(bool(runChain(**W, storeAllOps((*W)->chain()), *Dev)));
  auto G = (*W)->gradients();
  REQUIRE(bool(G));
  double Err = relMaxError(*G, Ref.Grads);
  MESSAGE("other seed: grad max rel err " << Err);
  CHECK(Err > GradTol);
}

TEST_CASE("cuda real: validate --mode real passes on the GPU") {
  auto Dev = gpuOrSkip();
  if (!Dev)
    return;
  Dev.reset(); // validateSchedule makes its own backend
  RealShape S;
  auto Net = RealNet::fromPreset("tiny-gpt", 2, S);
  REQUIRE(bool(Net));
  Model M;
  M.Path = "tiny-gpt";
  M.AsChain = Net->chain();
  Schedule Sch;
  Sch.Ops = segmentSchedule(Net->size(), {0, 4, 7});
  ValidateOptions O;
  O.Device = "cuda";
  O.Mode = WorkloadMode::Real;
  O.Shape = S;
  auto R = validateSchedule(M, Sch, O);
  REQUIRE_MESSAGE(bool(R), (R ? "" : llvm::toString(R.takeError())));
  CHECK(R->Passed);
  CHECK(R->GradientsIdentical.value_or(false));
  for (const Comparison &Row : R->Rows)
    MESSAGE(Row.Metric << ": predicted " << Row.Predicted << ", measured "
                       << Row.Measured);
}
#endif

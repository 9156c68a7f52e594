//===- tests/runtime/RealDeviceTest.cpp - Host side of the device real mode
//-===//
//
// What runs on the CPU of the CUDA real mode (runtime/RealDevice.h): the
// parameter and intermediate layouts against the CPU layers' own sizes, the
// row-major to column-major GEMM mapping against a column-major reference
// GEMM written here (BLAS semantics), the shape check, and the refusals
// when there is no GPU or no device real mode in the build.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"
#include "TestUtil.h"

#include "planner/Baselines.h"
#include "runtime/Profile.h"
#include "runtime/RealDevice.h"
#include "runtime/RealMath.h"
#include "runtime/Validate.h"

#include <doctest/doctest.h>

#include <cstring>

using namespace remat;
using namespace remat::real;

TEST_CASE("real device: layouts match the CPU layers' sizes") {
  const LayerType Types[] = {LayerType::Linear, LayerType::LinearGelu,
                             LayerType::LayerNorm, LayerType::Mlp,
                             LayerType::Attention};
  for (uint64_t Seed = 1; Seed <= 20; ++Seed) {
    RealShape S;
    S.Batch = 1 + hash3(Seed, 1, 0) % 3;
    S.Seq = 1 + hash3(Seed, 2, 0) % 7;
    S.Heads = 1 + hash3(Seed, 3, 0) % 3;
    S.Hidden = S.Heads * (1 + hash3(Seed, 4, 0) % 5);
    S.MlpRatio = 1 + hash3(Seed, 5, 0) % 4;
    for (LayerType T : Types) {
      auto L = makeLayer(T, 0, S);
      auto P = paramOffsets(T, S);
      CHECK(P.back() == L->Params.size());
      for (size_t I = 1; I < P.size(); ++I)
        CHECK(P[I] > P[I - 1]);
      CHECK(interOffsets(T, S).back() == L->interFloats());
    }
  }
}

/// C (col-major Rows x Cols, ldc) = op(F) op(S) + Beta C, BLAS semantics:
/// op(F) is Rows x Inner, stored Rows x Inner (ld >= Rows) or, transposed,
/// Inner x Rows; sums over the inner index in order.
static void refColMajorGemm(const ColMajorGemm &G, const float *F,
                            const float *S, float *C) {
  for (int I = 0; I < G.Rows; ++I)
    for (int J = 0; J < G.Cols; ++J) {
      float Sum = 0;
      for (int P = 0; P < G.Inner; ++P) {
        float FV = G.TransFirst ? F[I * G.LdFirst + P] : F[P * G.LdFirst + I];
        float SV =
            G.TransSecond ? S[P * G.LdSecond + J] : S[J * G.LdSecond + P];
        Sum += FV * SV;
      }
      float &Out = C[J * G.LdC + I];
      Out = G.Beta == 0 ? Sum : Out + Sum;
    }
}

TEST_CASE("real device: row-major GEMMs map onto column-major ones") {
  for (unsigned Case = 0; Case < 8 * 6; ++Case) {
    bool TA = Case & 1, TB = Case & 2, Acc = Case & 4;
    size_t M = 1 + hash3(Case, 1, 0) % 6, K = 1 + hash3(Case, 2, 0) % 6,
           N = 1 + hash3(Case, 3, 0) % 6;
    std::vector<float> A(M * K), B(K * N), C1(M * N), C2;
    for (size_t I = 0; I < A.size(); ++I)
      A[I] = 2 * uniform01(Case, 4, I) - 1;
    for (size_t I = 0; I < B.size(); ++I)
      B[I] = 2 * uniform01(Case, 5, I) - 1;
    for (size_t I = 0; I < C1.size(); ++I)
      C1[I] = 2 * uniform01(Case, 6, I) - 1;
    C2 = C1;
    matmul(A.data(), B.data(), C1.data(), M, K, N, TA, TB, Acc);
    ColMajorGemm G = toColMajor(M, K, N, TA, TB, Acc);
    CHECK(G.Rows == int(N));
    CHECK(G.Cols == int(M));
    refColMajorGemm(G, B.data(), A.data(), C2.data());
    // Same products summed in the same order: equal bit for bit.
    CHECK(std::memcmp(C1.data(), C2.data(), C1.size() * 4) == 0);
  }
}

TEST_CASE("real device: the shape check refuses misaligned sub-buffers") {
  RealShape S; // 2 x 16 rows, hidden 32: every offset a multiple of 4
  auto Net = RealNet::fromPreset("tiny-gpt", 1, S);
  REQUIRE(bool(Net));
  CHECK(!checkDeviceShape(*Net));
  // 3 rows: the layer norm's (mean, rstd) pairs take 6 floats, so the
  // output after them starts at float 3 x 32 + 6 = 102, not a multiple of 4.
  S.Batch = 1;
  S.Seq = 3;
  auto Odd = RealNet::fromPreset("tiny-gpt", 1, S);
  REQUIRE(bool(Odd));
  llvm::Error E = checkDeviceShape(*Odd);
  REQUIRE(bool(E));
  std::string Msg = llvm::toString(std::move(E));
  CHECK(Msg.find("--seq 3") != std::string::npos);
  CHECK(Msg.find("offset 102") != std::string::npos);
}

TEST_CASE("real device: refused on the cpu backend and without a GPU") {
  RealShape S;
  auto Net = RealNet::fromPreset("tiny-mlp", 1, S);
  REQUIRE(bool(Net));
  auto Cpu = createCpuBackend();
  auto W = createDeviceRealWorkload(*Net, *Cpu);
  REQUIRE(!W);
  std::string Msg = llvm::toString(W.takeError());
  CHECK(Msg.find("--mode real") != std::string::npos);
  CHECK(Msg.find(deviceRealBuilt() ? "not 'cpu'" : "built without") !=
        std::string::npos);

  if (auto Gpu = createCudaBackend()) {
    test::skipTest("a GPU is present: the no-GPU refusals cannot be seen");
    return;
  } else {
    llvm::consumeError(Gpu.takeError());
  }
  Model M;
  M.Path = "tiny-mlp";
  M.AsChain = Net->chain();
  Schedule Sch;
  Sch.Ops = storeAllOps(*M.AsChain);
  ValidateOptions O;
  O.Device = "cuda";
  O.Mode = WorkloadMode::Real;
  auto R = validateSchedule(M, Sch, O);
  REQUIRE(!R);
  Msg = llvm::toString(R.takeError());
  CHECK(Msg.find("--device cuda") != std::string::npos);

  ProfileOptions PO;
  PO.Device = "cuda";
  PO.Preset = "tiny-mlp";
  PO.Blocks = 1;
  auto P = profileRealLayers(PO);
  REQUIRE(!P);
  Msg = llvm::toString(P.takeError());
  CHECK(Msg.find("--device cuda") != std::string::npos);
}

/// Runs \p W under \p Ops on \p Dev; returns the gradients, then y_0
/// (a failure fails the case).
static std::vector<float> runDevice(DeviceRealWorkload &W,
                                    llvm::ArrayRef<ChainOp> Ops, Backend &Dev) {
  REQUIRE(!W.zeroGrads());
  auto R = runChain(W, Ops, Dev);
  REQUIRE_MESSAGE(bool(R), (R ? "" : llvm::toString(R.takeError())));
  auto G = W.gradients();
  REQUIRE(bool(G));
  G->insert(G->end(), W.inputGradient().begin(), W.inputGradient().end());
  return std::move(*G);
}

TEST_CASE("real device: the device workload on host operations equals the "
          "CPU real mode bit for bit") {
  // Everything of the device real mode above cuBLAS and the kernels (the
  // layers' operation sequences, parameter and intermediate offsets, x̄
  // handling, loss) runs here with the host's operations: each kernel as a
  // loop over its threads, GEMMs by real::matmul. The CPU layers are the
  // independent reference (their backward is checked against finite
  // differences in RealLayersTest.cpp).
  struct Case {
    const char *Preset;
    unsigned Batch, Seq, Hidden, Heads;
  };
  for (Case C : {Case{"tiny-gpt", 2, 16, 32, 4}, Case{"tiny-gpt", 2, 6, 12, 3},
                 Case{"tiny-mlp", 4, 3, 8, 2}}) {
    RealShape S;
    S.Batch = C.Batch;
    S.Seq = C.Seq;
    S.Hidden = C.Hidden;
    S.Heads = C.Heads;
    S.Dropout = 0.2f;
    S.Seed = 5;
    auto Net = RealNet::fromPreset(C.Preset, 2, S);
    REQUIRE(bool(Net));
    auto Cpu = createCpuBackend();
    RealWorkload Ref(*Net);
    Net->zeroGrads();
    REQUIRE(bool(runChain(Ref, storeAllOps(Ref.chain()), *Cpu)));
    std::vector<float> Want = Net->gradients();
    Want.insert(Want.end(), Ref.inputGradient().begin(),
                Ref.inputGradient().end());
    // The loss from a plain CPU forward pass: 0.5 |x_L - t|^2.
    std::vector<float> X(S.ioFloats()), Y(X.size());
    for (size_t I = 0; I < X.size(); ++I)
      X[I] = 2 * uniform01(S.Seed, ~uint64_t(0), I) - 1;
    for (unsigned L = 0; L < Net->size(); ++L) {
      std::vector<float> Inter(Net->layer(L).interFloats());
      Net->layer(L).forward(X.data(), Inter.data(), Y.data());
      X.swap(Y);
    }
    double Loss = 0;
    for (size_t I = 0; I < X.size(); ++I) {
      float D = X[I] - (2 * uniform01(S.Seed, ~uint64_t(0) - 1, I) - 1);
      Loss += 0.5 * double(D) * D;
    }

    auto W = createOpsRealWorkload(*Net, createHostDeviceOps(), true);
    REQUIRE_MESSAGE(bool(W), (W ? "" : llvm::toString(W.takeError())));
    unsigned L = Net->size();
    for (const auto &Ops :
         {storeAllOps((*W)->chain()), test::segmentSchedule(L, {0, L / 2}),
          test::recomputeAllSchedule(L)}) {
      std::vector<float> Got = runDevice(**W, Ops, *Cpu);
      CHECK(bitIdentical(Got, Want));
      CHECK((*W)->lastLoss() == Loss);
    }
  }
}

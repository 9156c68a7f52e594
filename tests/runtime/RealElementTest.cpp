//===- tests/runtime/RealElementTest.cpp - The shared element math --------===//
//
// runtime/RealElement.h is compiled both into the CPU real mode and into the
// CUDA kernels. Here, on the CPU: each function against an independent
// double-precision computation of the same formula, the hash against the
// published splitmix64 value, and the attention backward as the GPU splits
// it (rows for dQ, columns for dK and dV) against the CPU layer's own
// backward, bit for bit (the sums run in the same order).
//
//===----------------------------------------------------------------------===//

#include "runtime/RealElement.h"
#include "runtime/RealLayers.h"
#include "runtime/RealMath.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <vector>

using namespace remat::real;

static double geluDouble(double X) {
  return 0.5 * X *
         (1 + std::tanh(std::sqrt(2 / M_PI) * (X + 0.044715 * X * X * X)));
}

TEST_CASE("real element: gelu and its derivative against double precision") {
  for (int I = -400; I <= 400; ++I) {
    float X = float(I) / 50; // -8 .. 8
    // float32 evaluation of a few operations: a few ulp of max(|gelu|, 1).
    double Tol = 1e-6 * std::max(1.0, std::fabs(double(X)));
    CHECK(std::fabs(elem::gelu(X) - geluDouble(X)) <= Tol);
    // Central difference in double, step 1e-4: truncation O(h^2 f''') and
    // rounding 1e-16/h, both far below the float tolerance of 1e-5.
    double H = 1e-4;
    double FD = (geluDouble(X + H) - geluDouble(X - H)) / (2 * H);
    CHECK(std::fabs(elem::geluGrad(X) - FD) <= 1e-5);
    // The CPU real mode's functions are these (bit for bit).
    CHECK(gelu(X) == elem::gelu(X));
    CHECK(geluGrad(X) == elem::geluGrad(X));
  }
}

TEST_CASE("real element: splitmix64 and the dropout draw") {
  // splitmix64 seeded with 0: first output 0xe220a8397b1dcdaf (Steele,
  // Lea and Flood 2014; Vigna's reference splitmix64.c).
  CHECK(elem::splitmix(0) == 0xe220a8397b1dcdafull);
  // The dropout rate: 200,000 draws at P = 0.25; the count of zeros is
  // binomial, sd = sqrt(n p (1-p)) = 193.6; allow 5 sd.
  const float P = 0.25f;
  size_t Zeros = 0;
  for (size_t I = 0; I < 200000; ++I) {
    float S = elem::dropoutScale(7, 3, I, P);
    CHECK((S == 0.0f || S == 1.0f / (1.0f - P)));
    Zeros += S == 0.0f;
    CHECK(S == dropoutScale(7, 3, I, P)); // the CPU real mode's draw
  }
  CHECK(std::fabs(double(Zeros) - 50000) <= 5 * 193.6);
  CHECK(elem::dropoutScale(7, 3, 5, 0.0f) == 1.0f);
  CHECK(elem::uniform01(1, 2, 3) == uniform01(1, 2, 3));
}

TEST_CASE("real element: layer norm statistics and softmax rows") {
  std::vector<float> X(37);
  for (size_t I = 0; I < X.size(); ++I)
    X[I] = 3 * uniform01(5, 1, I) - 1;
  double M = 0, V = 0;
  for (float F : X)
    M += F;
  M /= X.size();
  for (float F : X)
    V += (F - M) * (F - M);
  double RStd = 1 / std::sqrt(V / X.size() + 1e-5);
  float Mean, RS;
  elem::layerNormStats(X.data(), X.size(), Mean, RS);
  CHECK(std::fabs(Mean - M) <= 1e-6);
  CHECK(std::fabs(RS - RStd) <= 1e-5 * RStd);

  // Row 4 of 9: softmax of the first five scores, zeros after.
  std::vector<float> P(9);
  for (size_t J = 0; J < P.size(); ++J)
    P[J] = 4 * uniform01(5, 2, J) - 2;
  std::vector<double> E(5);
  double Sum = 0;
  for (size_t J = 0; J < 5; ++J)
    Sum += E[J] = std::exp(double(P[J]));
  elem::causalSoftmaxRow(P.data(), 4, 9);
  for (size_t J = 0; J < 9; ++J)
    CHECK(std::fabs(P[J] - (J < 5 ? E[J] / Sum : 0.0)) <= 1e-6);
}

namespace {
/// An attention layer on small shapes, run forward once.
struct AttnProbe {
  RealShape S;
  std::unique_ptr<RealLayer> L;
  std::vector<float> X, Inter, Y, DY;
  explicit AttnProbe(uint64_t Seed) {
    S.Batch = 2;
    S.Seq = 5;
    S.Hidden = 12;
    S.Heads = 3;
    S.Dropout = 0.3f;
    S.Seed = Seed;
    L = makeLayer(LayerType::Attention, 2, S);
    for (size_t I = 0; I < S.ioFloats(); ++I) {
      X.push_back(2 * uniform01(Seed, 50, I) - 1);
      DY.push_back(2 * uniform01(Seed, 51, I) - 1);
    }
    Inter.resize(L->interFloats());
    Y.resize(S.ioFloats());
    L->forward(X.data(), Inter.data(), Y.data());
  }
  elem::AttnDims dims() const {
    return {S.Seq, S.Hidden, S.Heads, S.Hidden / S.Heads};
  }
  // Layer 2's dropout stream: RealLayer::stream(1) = 2 * 16 + 1.
  elem::Dropout drop() const { return {S.Seed, 2 * 16 + 1, S.Dropout}; }
};

bool sameBits(const std::vector<float> &A, const float *B) {
  return std::memcmp(A.data(), B, A.size() * 4) == 0;
}
} // namespace

TEST_CASE("real element: attention rows as the GPU runs them equal the CPU "
          "layer") {
  for (uint64_t Seed : {3, 4}) {
    AttnProbe A(Seed);
    size_t N = A.S.ioFloats(), Probs = A.L->interFloats() - 4 * N;
    const float *Q = &A.Inter[0], *K = Q + N, *V = Q + 2 * N;
    std::vector<float> P(Probs), O(N);
    // One "thread" per (batch, head, row), in any order: here reversed.
    for (size_t T = A.S.Batch * A.S.Heads * A.S.Seq; T-- > 0;)
      elem::attnRowForward(A.dims(), T / A.S.Seq / A.S.Heads,
                           T / A.S.Seq % A.S.Heads, T % A.S.Seq, Q, K, V,
                           P.data(), O.data(), A.drop());
    CHECK(sameBits(O, &A.Inter[3 * N]));
    CHECK(sameBits(P, &A.Inter[4 * N]));
  }
}

TEST_CASE("real element: attention backward split into rows and columns "
          "equals the CPU layer's") {
  for (uint64_t Seed : {3, 4}) {
    AttnProbe A(Seed);
    size_t N = A.S.ioFloats(), H = A.S.Hidden, R = A.S.rows();
    std::vector<float> DX(N), Ws(A.L->bwdWsFloats());
    A.L->backward(A.X.data(), A.Inter.data(), A.DY.data(), DX.data(),
                  Ws.data());
    // The GPU's order (runtime/cuda/CudaReal.cpp): dO = dY Wo^T, then rows
    // (Dots, dQ), then columns (dK, dV), then the input gradient.
    const float *Q = &A.Inter[0], *K = Q + N, *V = Q + 2 * N, *P = Q + 4 * N;
    const float *Wq = &A.L->Params[0], *Wo = Wq + 3 * H * H;
    std::vector<float> DO(N), DQ(N), DK(N), DV(N);
    std::vector<float> Dots(A.S.Batch * A.S.Heads * A.S.Seq);
    matmul(A.DY.data(), Wo, DO.data(), R, H, H, false, true, false);
    size_t Rows = Dots.size();
    for (size_t T = Rows; T-- > 0;)
      elem::attnRowBackward(A.dims(), T / A.S.Seq / A.S.Heads,
                            T / A.S.Seq % A.S.Heads, T % A.S.Seq, Q, K, V, P,
                            DO.data(), DQ.data(), &Dots[T], A.drop());
    for (size_t T = 0; T < Rows; ++T)
      elem::attnColBackward(A.dims(), T / A.S.Seq / A.S.Heads,
                            T / A.S.Seq % A.S.Heads, T % A.S.Seq, Q, V, P,
                            DO.data(), Dots.data(), DK.data(), DV.data(),
                            A.drop());
    // The CPU layer's scratch holds dO, dQ, dK, dV after its backward.
    CHECK(sameBits(DO, &Ws[0]));
    CHECK(sameBits(DQ, &Ws[N]));
    CHECK(sameBits(DK, &Ws[2 * N]));
    CHECK(sameBits(DV, &Ws[3 * N]));
    std::vector<float> DX2 = A.DY;
    for (int W = 0; W < 3; ++W)
      matmul(W == 0   ? DQ.data()
             : W == 1 ? DK.data()
                      : DV.data(),
             Wq + W * H * H, DX2.data(), R, H, H, false, true, true);
    CHECK(sameBits(DX2, DX.data()));
  }
}

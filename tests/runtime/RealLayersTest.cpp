//===- tests/runtime/RealLayersTest.cpp - Backward vs differences ---------===//
//
// Each layer's backward is checked against central finite differences of
// L(X) = sum(f(X) * R) for a fixed random R, in double-checked float: the
// tolerance allows for float32 rounding with a step of 1e-2.
//
//===----------------------------------------------------------------------===//

#include "runtime/RealLayers.h"
#include "runtime/RealMath.h"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

using namespace remat::real;

namespace {
struct Probe {
  RealShape S;
  std::unique_ptr<RealLayer> L;
  std::vector<float> X, R;

  Probe(LayerType T) {
    S.Batch = 2;
    S.Seq = 4;
    S.Hidden = 8;
    S.Heads = 2;
    S.MlpRatio = 2;
    S.Dropout = 0.25f; // masks are fixed by the hash, so differentiable
    L = makeLayer(T, 3, S);
    for (size_t I = 0; I < S.ioFloats(); ++I) {
      X.push_back(2 * uniform01(7, 1, I) - 1);
      R.push_back(2 * uniform01(7, 2, I) - 1);
    }
  }
  double lossAt(const std::vector<float> &In) const {
    std::vector<float> Inter(L->interFloats()), Y(S.ioFloats());
    L->forward(In.data(), Inter.data(), Y.data());
    double Sum = 0;
    for (size_t I = 0; I < Y.size(); ++I)
      Sum += double(Y[I]) * R[I];
    return Sum;
  }
};
} // namespace

static void checkLayer(LayerType T) {
  Probe P(T);
  std::vector<float> Inter(P.L->interFloats()), Y(P.S.ioFloats()),
      DX(P.S.ioFloats()), Ws(P.L->bwdWsFloats());
  P.L->forward(P.X.data(), Inter.data(), Y.data());
  P.L->backward(P.X.data(), Inter.data(), P.R.data(), DX.data(), Ws.data());
  const float Eps = 1e-2f;
  for (size_t I = 0; I < P.X.size(); I += 5) {
    std::vector<float> Plus = P.X, Minus = P.X;
    Plus[I] += Eps;
    Minus[I] -= Eps;
    double Num = (P.lossAt(Plus) - P.lossAt(Minus)) / (2 * Eps);
    INFO(layerTypeName(T) << " dX[" << I << "]");
    CHECK(std::fabs(Num - DX[I]) <= 2e-2 * (1 + std::fabs(Num)));
  }
  // One parameter in every 7: dL/dp by finite differences.
  for (size_t I = 0; I < P.L->Params.size(); I += 7) {
    float Orig = P.L->Params[I];
    P.L->Params[I] = Orig + Eps;
    double Up = P.lossAt(P.X);
    P.L->Params[I] = Orig - Eps;
    double Down = P.lossAt(P.X);
    P.L->Params[I] = Orig;
    double Num = (Up - Down) / (2 * Eps);
    INFO(layerTypeName(T) << " dParam[" << I << "]");
    CHECK(std::fabs(Num - P.L->Grads[I]) <= 2e-2 * (1 + std::fabs(Num)));
  }
}

TEST_CASE("real layers: linear backward matches finite differences") {
  checkLayer(LayerType::Linear);
  checkLayer(LayerType::LinearGelu);
}

TEST_CASE("real layers: layernorm backward matches finite differences") {
  checkLayer(LayerType::LayerNorm);
}

TEST_CASE("real layers: mlp backward matches finite differences") {
  checkLayer(LayerType::Mlp);
}

TEST_CASE("real layers: attention backward matches finite differences") {
  checkLayer(LayerType::Attention);
}

TEST_CASE("real layers: attention is causal") {
  // Changing the last token of a sequence must not change earlier outputs.
  Probe P(LayerType::Attention);
  std::vector<float> Inter(P.L->interFloats()), Y1(P.S.ioFloats()),
      Y2(P.S.ioFloats());
  P.L->forward(P.X.data(), Inter.data(), Y1.data());
  std::vector<float> X2 = P.X;
  size_t H = P.S.Hidden, T = P.S.Seq;
  for (size_t C = 0; C < H; ++C)
    X2[(T - 1) * H + C] += 1.0f; // batch 0, last token
  P.L->forward(X2.data(), Inter.data(), Y2.data());
  for (size_t I = 0; I < (T - 1) * H; ++I)
    CHECK(Y1[I] == Y2[I]);
  CHECK(Y1[(T - 1) * H] != Y2[(T - 1) * H]);
}

TEST_CASE("real math: dropout draws are a pure function of the counter") {
  CHECK(dropoutScale(1, 2, 3, 0.5f) == dropoutScale(1, 2, 3, 0.5f));
  CHECK(dropoutScale(1, 2, 3, 0.0f) == 1.0f);
  // About half of 10000 draws at p = 0.5 are dropped (binomial: sd 50).
  int Dropped = 0;
  for (uint64_t I = 0; I < 10000; ++I)
    Dropped += dropoutScale(9, 4, I, 0.5f) == 0.0f;
  CHECK(Dropped > 4700);
  CHECK(Dropped < 5300);
  // Kept elements are scaled by 1 / (1 - p).
  float Kept = 0;
  for (uint64_t I = 0; I < 100 && Kept == 0; ++I)
    Kept = dropoutScale(9, 4, I, 0.5f);
  CHECK(Kept == 2.0f);
}

TEST_CASE("real math: matmul with transposes by hand") {
  // A = [[1,2],[3,4]], B = [[5,6],[7,8]]: AB = [[19,22],[43,50]],
  // A^T B = [[26,30],[38,44]], A B^T = [[17,23],[39,53]].
  float A[] = {1, 2, 3, 4}, B[] = {5, 6, 7, 8}, C[4];
  matmul(A, B, C, 2, 2, 2, false, false, false);
  CHECK(std::vector<float>(C, C + 4) == std::vector<float>{19, 22, 43, 50});
  matmul(A, B, C, 2, 2, 2, true, false, false);
  CHECK(std::vector<float>(C, C + 4) == std::vector<float>{26, 30, 38, 44});
  matmul(A, B, C, 2, 2, 2, false, true, false);
  CHECK(std::vector<float>(C, C + 4) == std::vector<float>{17, 23, 39, 53});
  matmul(A, B, C, 2, 2, 2, false, true, true); // accumulate doubles it
  CHECK(std::vector<float>(C, C + 4) == std::vector<float>{34, 46, 78, 106});
}

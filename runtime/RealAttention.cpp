//===- runtime/RealAttention.cpp - Causal multi-head self-attention -------===//
//
// Y = X + concat_h(dropout(softmax(Q_h K_h^T / sqrt(d) + causal)) V_h) Wo,
// with Q = X Wq, K = X Wk, V = X Wv and d = Hidden / Heads (Vaswani et al.
// 2017, without biases). Inter holds Q, K, V, the head outputs O and the
// probabilities P before dropout; the backward regenerates the dropout mask
// from the counter-based hash instead of storing it.
//
//===----------------------------------------------------------------------===//

#include "runtime/RealLayers.h"

#include "runtime/RealElement.h"
#include "runtime/RealMath.h"

#include <algorithm>
#include <cmath>

namespace remat::real {

namespace {
class AttentionLayer final : public RealLayer {
public:
  AttentionLayer(unsigned Index, const RealShape &S)
      : RealLayer(LayerType::Attention, Index, S) {
    size_t H = S.Hidden;
    float Bound = 1.0f / std::sqrt(float(H));
    for (size_t &Off : Ws)
      Off = addParams(H * H, Bound);
  }
  size_t probFloats() const {
    return size_t(Shape.Batch) * Shape.Heads * Shape.Seq * Shape.Seq;
  }
  size_t interFloats() const override {
    return 4 * Shape.ioFloats() + probFloats();
  }
  size_t bwdWsFloats() const override {
    return 4 * Shape.ioFloats() + Shape.Seq;
  }

  void forward(const float *X, float *Inter, float *Y) const override;
  void backward(const float *X, const float *Inter, const float *DY, float *DX,
                float *Scratch) override;

private:
  enum { Wq, Wk, Wv, Wo };
  size_t headDim() const { return Shape.Hidden / Shape.Heads; }
  /// Index of P[b, h, i, j] and of its dropout draw.
  size_t probIndex(size_t B, size_t Hd, size_t I, size_t J) const {
    return ((B * Shape.Heads + Hd) * Shape.Seq + I) * Shape.Seq + J;
  }
  float drop(size_t Idx) const {
    return dropoutScale(Shape.Seed, stream(1), Idx, Shape.Dropout);
  }
  void headForward(size_t B, size_t Hd, const float *Q, const float *K,
                   const float *V, float *P, float *O) const;
  void headBackward(size_t B, size_t Hd, const float *Q, const float *K,
                    const float *V, const float *P, const float *DO, float *DQ,
                    float *DK, float *DV, float *Row) const;

  size_t Ws[4] = {0, 0, 0, 0};
};

void AttentionLayer::headForward(size_t B, size_t Hd, const float *Q,
                                 const float *K, const float *V, float *P,
                                 float *O) const {
  elem::AttnDims D{Shape.Seq, Shape.Hidden, Shape.Heads, headDim()};
  for (size_t I = 0; I < Shape.Seq; ++I)
    elem::attnRowForward(D, B, Hd, I, Q, K, V, P, O,
                         [this](size_t Idx) { return drop(Idx); });
}

void AttentionLayer::forward(const float *X, float *Inter, float *Y) const {
  size_t R = Shape.rows(), H = Shape.Hidden, N = Shape.ioFloats();
  float *Q = Inter, *K = Inter + N, *V = Inter + 2 * N, *O = Inter + 3 * N;
  float *P = Inter + 4 * N;
  matmul(X, &Params[Ws[Wq]], Q, R, H, H, false, false, false);
  matmul(X, &Params[Ws[Wk]], K, R, H, H, false, false, false);
  matmul(X, &Params[Ws[Wv]], V, R, H, H, false, false, false);
  for (size_t B = 0; B < Shape.Batch; ++B)
    for (size_t Hd = 0; Hd < Shape.Heads; ++Hd)
      headForward(B, Hd, Q, K, V, P, O);
  std::copy(X, X + N, Y);
  matmul(O, &Params[Ws[Wo]], Y, R, H, H, false, false, true);
}

void AttentionLayer::headBackward(size_t B, size_t Hd, const float *Q,
                                  const float *K, const float *V,
                                  const float *P, const float *DO, float *DQ,
                                  float *DK, float *DV, float *Row) const {
  size_t T = Shape.Seq, H = Shape.Hidden, D = headDim();
  float Scale = 1.0f / std::sqrt(float(D));
  for (size_t I = 0; I < T; ++I) {
    const float *DOI = DO + (B * T + I) * H + Hd * D;
    const float *PI = P + probIndex(B, Hd, I, 0);
    // Row[j] = dL/dP[i, j] through the dropout; dV gets Pd^T dO.
    float Dot = 0;
    for (size_t J = 0; J <= I; ++J) {
      float M = drop(probIndex(B, Hd, I, J));
      const float *VJ = V + (B * T + J) * H + Hd * D;
      float *DVJ = DV + (B * T + J) * H + Hd * D;
      float G = 0;
      for (size_t C = 0; C < D; ++C) {
        G += DOI[C] * VJ[C];
        DVJ[C] += PI[J] * M * DOI[C];
      }
      Row[J] = G * M;
      Dot += Row[J] * PI[J];
    }
    // Softmax backward, then the scores' two factors.
    float *DQI = DQ + (B * T + I) * H + Hd * D;
    const float *QI = Q + (B * T + I) * H + Hd * D;
    for (size_t J = 0; J <= I; ++J) {
      float DS = PI[J] * (Row[J] - Dot) * Scale;
      const float *KJ = K + (B * T + J) * H + Hd * D;
      float *DKJ = DK + (B * T + J) * H + Hd * D;
      for (size_t C = 0; C < D; ++C) {
        DQI[C] += DS * KJ[C];
        DKJ[C] += DS * QI[C];
      }
    }
  }
}

void AttentionLayer::backward(const float *X, const float *Inter,
                              const float *DY, float *DX, float *Scratch) {
  size_t R = Shape.rows(), H = Shape.Hidden, N = Shape.ioFloats();
  const float *Q = Inter, *K = Inter + N, *V = Inter + 2 * N,
              *O = Inter + 3 * N, *P = Inter + 4 * N;
  float *DO = Scratch, *DQ = Scratch + N, *DK = Scratch + 2 * N,
        *DV = Scratch + 3 * N, *Row = Scratch + 4 * N;
  matmul(O, DY, &Grads[Ws[Wo]], H, R, H, true, false, true);
  matmul(DY, &Params[Ws[Wo]], DO, R, H, H, false, true, false);
  std::fill(DQ, DQ + 3 * N, 0.0f);
  for (size_t B = 0; B < Shape.Batch; ++B)
    for (size_t Hd = 0; Hd < Shape.Heads; ++Hd)
      headBackward(B, Hd, Q, K, V, P, DO, DQ, DK, DV, Row);
  matmul(X, DQ, &Grads[Ws[Wq]], H, R, H, true, false, true);
  matmul(X, DK, &Grads[Ws[Wk]], H, R, H, true, false, true);
  matmul(X, DV, &Grads[Ws[Wv]], H, R, H, true, false, true);
  std::copy(DY, DY + N, DX);
  matmul(DQ, &Params[Ws[Wq]], DX, R, H, H, false, true, true);
  matmul(DK, &Params[Ws[Wk]], DX, R, H, H, false, true, true);
  matmul(DV, &Params[Ws[Wv]], DX, R, H, H, false, true, true);
}
} // namespace

std::unique_ptr<RealLayer> makeAttentionLayer(unsigned Index,
                                              const RealShape &S) {
  return std::make_unique<AttentionLayer>(Index, S);
}

} // namespace remat::real

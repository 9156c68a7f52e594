//===- runtime/RealLayers.cpp - Real float32 layers with hand backward ----===//

#include "runtime/RealLayers.h"

#include "runtime/RealElement.h"
#include "runtime/RealMath.h"

#include <algorithm>
#include <cmath>

namespace remat::real {

const char *layerTypeName(LayerType T) {
  switch (T) {
  case LayerType::Linear:
    return "linear";
  case LayerType::LinearGelu:
    return "linear+gelu";
  case LayerType::LayerNorm:
    return "layernorm";
  case LayerType::Mlp:
    return "mlp";
  case LayerType::Attention:
    return "attention";
  }
  return "?";
}

// Streams of the counter-based hash within one layer.
enum : uint64_t { StreamParams = 0, StreamDropA = 1, StreamDropB = 2 };

size_t RealLayer::addParams(size_t N, float Bound, float Fill) {
  size_t Off = Params.size();
  for (size_t I = 0; I < N; ++I)
    Params.push_back(
        Bound == 0
            ? Fill
            : (2 * uniform01(Shape.Seed, stream(StreamParams), Off + I) - 1) *
                  Bound);
  Grads.assign(Params.size(), 0.0f);
  return Off;
}

/// Adds the column sums of \p D (Rows x Cols) into \p G.
static void addColSums(const float *D, size_t Rows, size_t Cols, float *G) {
  for (size_t R = 0; R < Rows; ++R)
    for (size_t C = 0; C < Cols; ++C)
      G[C] += D[R * Cols + C];
}

/// Y[r, c] = Y[r, c] + B[c] for every row.
static void addBias(float *Y, const float *B, size_t Rows, size_t Cols) {
  for (size_t R = 0; R < Rows; ++R)
    for (size_t C = 0; C < Cols; ++C)
      Y[R * Cols + C] += B[C];
}

namespace {
/// Y = X W + b, optionally followed by GELU (then Inter holds X W + b).
class LinearLayer final : public RealLayer {
public:
  LinearLayer(bool Act, unsigned Index, const RealShape &S)
      : RealLayer(Act ? LayerType::LinearGelu : LayerType::Linear, Index, S),
        Act(Act) {
    size_t H = S.Hidden;
    W = addParams(H * H, 1.0f / std::sqrt(float(H)));
    B = addParams(H, 0, 0.01f);
  }
  size_t interFloats() const override { return Act ? Shape.ioFloats() : 0; }
  size_t bwdWsFloats() const override { return Act ? Shape.ioFloats() : 0; }

  void forward(const float *X, float *Inter, float *Y) const override {
    size_t R = Shape.rows(), H = Shape.Hidden;
    float *Pre = Act ? Inter : Y;
    matmul(X, &Params[W], Pre, R, H, H, false, false, false);
    addBias(Pre, &Params[B], R, H);
    if (Act)
      for (size_t I = 0; I < R * H; ++I)
        Y[I] = gelu(Pre[I]);
  }

  void backward(const float *X, const float *Inter, const float *DY, float *DX,
                float *Ws) override {
    size_t R = Shape.rows(), H = Shape.Hidden;
    const float *DH = DY;
    if (Act) {
      for (size_t I = 0; I < R * H; ++I)
        Ws[I] = DY[I] * geluGrad(Inter[I]);
      DH = Ws;
    }
    matmul(X, DH, &Grads[W], H, R, H, true, false, true);
    addColSums(DH, R, H, &Grads[B]);
    matmul(DH, &Params[W], DX, R, H, H, false, true, false);
  }

private:
  bool Act;
  size_t W = 0, B = 0;
};

/// Per-token layer normalisation with gain and bias; Inter holds each row's
/// mean and reciprocal standard deviation.
class LayerNormLayer final : public RealLayer {
public:
  LayerNormLayer(unsigned Index, const RealShape &S)
      : RealLayer(LayerType::LayerNorm, Index, S) {
    G = addParams(S.Hidden, 0, 1.0f);
    B = addParams(S.Hidden, 0, 0.0f);
  }
  size_t interFloats() const override { return 2 * Shape.rows(); }
  size_t bwdWsFloats() const override { return 0; }

  void forward(const float *X, float *Inter, float *Y) const override {
    size_t R = Shape.rows(), H = Shape.Hidden;
    for (size_t Row = 0; Row < R; ++Row) {
      float Mean, RStd;
      elem::layerNormStats(X + Row * H, H, Mean, RStd);
      Inter[2 * Row] = Mean;
      Inter[2 * Row + 1] = RStd;
      elem::layerNormRow(X + Row * H, H, Mean, RStd, &Params[G], &Params[B],
                         Y + Row * H);
    }
  }

  void backward(const float *X, const float *Inter, const float *DY, float *DX,
                float *) override {
    size_t R = Shape.rows(), H = Shape.Hidden;
    for (size_t Row = 0; Row < R; ++Row) {
      float Mean = Inter[2 * Row], RStd = Inter[2 * Row + 1];
      const float *XR = X + Row * H, *DR = DY + Row * H;
      for (size_t C = 0; C < H; ++C) {
        float XHat = (XR[C] - Mean) * RStd;
        Grads[G + C] += DR[C] * XHat;
        Grads[B + C] += DR[C];
      }
      elem::layerNormRowBackward(XR, DR, H, Mean, RStd, &Params[G],
                                 DX + Row * H);
    }
  }

private:
  size_t G = 0, B = 0;
};

/// Y = X + dropout(gelu(X W1 + b1)) W2 + b2; Inter holds X W1 + b1 and the
/// dropped-out activation.
class MlpLayer final : public RealLayer {
public:
  MlpLayer(unsigned Index, const RealShape &S)
      : RealLayer(LayerType::Mlp, Index, S) {
    size_t H = S.Hidden, F = inner();
    W1 = addParams(H * F, 1.0f / std::sqrt(float(H)));
    B1 = addParams(F, 0, 0.01f);
    W2 = addParams(F * H, 1.0f / std::sqrt(float(F)));
    B2 = addParams(H, 0, 0.0f);
  }
  size_t inner() const { return size_t(Shape.Hidden) * Shape.MlpRatio; }
  size_t interFloats() const override { return 2 * Shape.rows() * inner(); }
  size_t bwdWsFloats() const override { return Shape.rows() * inner(); }

  void forward(const float *X, float *Inter, float *Y) const override {
    size_t R = Shape.rows(), H = Shape.Hidden, F = inner();
    float *H1 = Inter, *A1 = Inter + R * F;
    matmul(X, &Params[W1], H1, R, H, F, false, false, false);
    addBias(H1, &Params[B1], R, F);
    for (size_t I = 0; I < R * F; ++I)
      A1[I] = gelu(H1[I]) *
              dropoutScale(Shape.Seed, stream(StreamDropA), I, Shape.Dropout);
    std::copy(X, X + R * H, Y);
    matmul(A1, &Params[W2], Y, R, F, H, false, false, true);
    addBias(Y, &Params[B2], R, H);
  }

  void backward(const float *X, const float *Inter, const float *DY, float *DX,
                float *Ws) override {
    size_t R = Shape.rows(), H = Shape.Hidden, F = inner();
    const float *H1 = Inter, *A1 = Inter + R * F;
    matmul(A1, DY, &Grads[W2], F, R, H, true, false, true);
    addColSums(DY, R, H, &Grads[B2]);
    float *D = Ws; // dA1, then dH1 in place
    matmul(DY, &Params[W2], D, R, H, F, false, true, false);
    for (size_t I = 0; I < R * F; ++I)
      D[I] *= dropoutScale(Shape.Seed, stream(StreamDropA), I, Shape.Dropout) *
              geluGrad(H1[I]);
    matmul(X, D, &Grads[W1], H, R, F, true, false, true);
    addColSums(D, R, F, &Grads[B1]);
    std::copy(DY, DY + R * H, DX);
    matmul(D, &Params[W1], DX, R, F, H, false, true, true);
  }

private:
  size_t W1 = 0, B1 = 0, W2 = 0, B2 = 0;
};
} // namespace

std::unique_ptr<RealLayer> makeLayer(LayerType T, unsigned Index,
                                     const RealShape &S) {
  switch (T) {
  case LayerType::Linear:
    return std::make_unique<LinearLayer>(false, Index, S);
  case LayerType::LinearGelu:
    return std::make_unique<LinearLayer>(true, Index, S);
  case LayerType::LayerNorm:
    return std::make_unique<LayerNormLayer>(Index, S);
  case LayerType::Mlp:
    return std::make_unique<MlpLayer>(Index, S);
  case LayerType::Attention:
    return makeAttentionLayer(Index, S);
  }
  return nullptr;
}

} // namespace remat::real

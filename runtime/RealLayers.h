//===- runtime/RealLayers.h - Real float32 layers ---------------*- C++ -*-===//
//
// The layers of real mode. Each maps a [Batch*Seq, Hidden] activation to one
// of the same shape and has a hand-written backward. A layer's recorded
// state x̄ is laid out as [input copy | intermediates | output], so x̄ holds
// x_{i+1} inside it and the backward needs nothing else; when a forward does
// not record, the intermediates go to the forward workspace instead.
// Dropout masks come from a counter-based hash of (seed, layer, element), so
// a recomputed forward is bit-identical to the first.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_RUNTIME_REALLAYERS_H
#define REMAT_RUNTIME_REALLAYERS_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace remat::real {

/// Shapes and randomness shared by all layers of a real model.
struct RealShape {
  /// Sequences per batch.
  unsigned Batch = 2;
  /// Tokens per sequence.
  unsigned Seq = 16;
  /// Hidden size (features per token); divisible by Heads.
  unsigned Hidden = 32;
  /// Attention heads.
  unsigned Heads = 4;
  /// MLP inner size as a multiple of Hidden.
  unsigned MlpRatio = 4;
  /// Dropout probability in attention and MLP, in [0, 1).
  float Dropout = 0.1f;
  /// Seed of parameters, inputs, targets and dropout masks.
  uint64_t Seed = 1;

  size_t rows() const { return size_t(Batch) * Seq; }
  size_t ioFloats() const { return rows() * Hidden; }
};

/// The layer types: Linear (no activation), LinearGelu, LayerNorm, MLP
/// (residual, GELU, dropout) and causal multi-head Attention (residual,
/// dropout on the probabilities).
enum class LayerType : uint8_t {
  Linear,
  LinearGelu,
  LayerNorm,
  Mlp,
  Attention
};

/// Name of a layer type as docs and reports spell it.
const char *layerTypeName(LayerType T);

class RealLayer {
public:
  RealLayer(LayerType T, unsigned Index, const RealShape &S)
      : Type(T), Index(Index), Shape(S) {}
  virtual ~RealLayer() = default;

  LayerType type() const { return Type; }
  /// Floats of the intermediates kept between forward and backward.
  virtual size_t interFloats() const = 0;
  /// Floats of backward scratch.
  virtual size_t bwdWsFloats() const = 0;
  /// Floats of x̄: input copy, intermediates, output.
  size_t savedFloats() const { return 2 * Shape.ioFloats() + interFloats(); }
  /// Y = f(X); fills Inter.
  virtual void forward(const float *X, float *Inter, float *Y) const = 0;
  /// DX from DY and the recorded X and Inter; accumulates into Grads.
  virtual void backward(const float *X, const float *Inter, const float *DY,
                        float *DX, float *Ws) = 0;

  /// Parameters, then their gradients (same layout).
  std::vector<float> Params, Grads;

protected:
  /// Appends \p N parameters drawn from U(-Bound, Bound) (or set to
  /// \p Fill when Bound is 0); returns their offset.
  size_t addParams(size_t N, float Bound, float Fill = 0);
  uint64_t stream(uint64_t Sub) const { return uint64_t(Index) * 16 + Sub; }

  LayerType Type;
  unsigned Index;
  RealShape Shape;
};

/// The attention layer (runtime/RealAttention.cpp); use makeLayer.
std::unique_ptr<RealLayer> makeAttentionLayer(unsigned Index,
                                              const RealShape &S);

/// Makes the layer of type \p T for stage \p Index.
std::unique_ptr<RealLayer> makeLayer(LayerType T, unsigned Index,
                                     const RealShape &S);

} // namespace remat::real

#endif // REMAT_RUNTIME_REALLAYERS_H

//===- runtime/RealElement.h - Per-element math of the real layers -*- C++
//-*-===//
//
// The arithmetic that the CPU real mode (RealMath.cpp, RealLayers.cpp,
// RealAttention.cpp) and the CUDA real kernels (runtime/cuda/RealKernels.cu)
// share: GELU and its derivative, the counter-based dropout hash, layer-norm
// row statistics and row backward, causal softmax rows and the attention
// backward split into rows (dQ) and columns (dK, dV). Every function is
// inline and __host__ __device__ under nvcc, plain inline otherwise, so one
// definition serves both devices and a CPU unit test. Self-contained: no
// project headers, so the .cu files need only this and the CUDA runtime.
//
// The loops run in the order the CPU real mode always used, so the CPU's
// results are unchanged by sharing them. On the GPU the same expressions
// may round differently (nvcc contracts a*b+c into fused multiply-adds, and
// the device's tanhf/expf differ from glibc's by up to 2 ulp); the parity
// check's tolerance allows for that (docs/runtime.md).
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_RUNTIME_REALELEMENT_H
#define REMAT_RUNTIME_REALELEMENT_H

#include <cmath>
#include <cstddef>
#include <cstdint>

#ifdef __CUDACC__
#define REMAT_HD __host__ __device__ inline
#else
#define REMAT_HD inline
#endif

namespace remat::real::elem {

/// sqrt(2 / pi), GELU's constant.
constexpr float GeluC = 0.7978845608028654f;
/// Layer norm's epsilon.
constexpr float LayerNormEps = 1e-5f;

REMAT_HD float tanhF(float X) {
#ifdef __CUDA_ARCH__
  return tanhf(X);
#else
  return std::tanh(X);
#endif
}
REMAT_HD float expF(float X) {
#ifdef __CUDA_ARCH__
  return expf(X);
#else
  return std::exp(X);
#endif
}
REMAT_HD float sqrtF(float X) {
#ifdef __CUDA_ARCH__
  return sqrtf(X);
#else
  return std::sqrt(X);
#endif
}

/// GELU, tanh approximation (Hendrycks and Gimpel 2016).
REMAT_HD float gelu(float X) {
  float U = GeluC * (X + 0.044715f * X * X * X);
  return 0.5f * X * (1.0f + tanhF(U));
}

/// d gelu(X) / dX.
REMAT_HD float geluGrad(float X) {
  float U = GeluC * (X + 0.044715f * X * X * X);
  float T = tanhF(U);
  float DU = GeluC * (1.0f + 3.0f * 0.044715f * X * X);
  return 0.5f * (1.0f + T) + 0.5f * X * (1.0f - T * T) * DU;
}

/// splitmix64's finaliser (Steele et al. 2014).
REMAT_HD uint64_t splitmix(uint64_t Z) {
  Z += 0x9e3779b97f4a7c15ull;
  Z = (Z ^ (Z >> 30)) * 0xbf58476d1ce4e5b9ull;
  Z = (Z ^ (Z >> 27)) * 0x94d049bb133111ebull;
  return Z ^ (Z >> 31);
}

/// Counter-based hash of (Seed, Stream, Index): two rounds of splitmix64.
REMAT_HD uint64_t hash3(uint64_t Seed, uint64_t Stream, uint64_t Index) {
  return splitmix(splitmix(Seed ^ splitmix(Stream)) ^ Index);
}

/// hash3 mapped to [0, 1) with 24 bits of precision (exact in float).
REMAT_HD float uniform01(uint64_t Seed, uint64_t Stream, uint64_t Index) {
  return float(hash3(Seed, Stream, Index) >> 40) * (1.0f / 16777216.0f);
}

/// The dropout multiplier of element \p Index: 0 with probability \p P,
/// else 1 / (1 - P); 1 everywhere when P <= 0.
REMAT_HD float dropoutScale(uint64_t Seed, uint64_t Stream, uint64_t Index,
                            float P) {
  if (P <= 0)
    return 1.0f;
  return uniform01(Seed, Stream, Index) < P ? 0.0f : 1.0f / (1.0f - P);
}

/// dropoutScale of one stream as a function of the element index.
struct Dropout {
  uint64_t Seed, Stream;
  float P;
  REMAT_HD float operator()(size_t Index) const {
    return dropoutScale(Seed, Stream, Index, P);
  }
};

/// Mean and reciprocal standard deviation of the \p H values at \p X,
/// summed in index order.
REMAT_HD void layerNormStats(const float *X, size_t H, float &Mean,
                             float &RStd) {
  float M = 0, Var = 0;
  for (size_t C = 0; C < H; ++C)
    M += X[C];
  M /= float(H);
  for (size_t C = 0; C < H; ++C)
    Var += (X[C] - M) * (X[C] - M);
  Mean = M;
  RStd = 1.0f / sqrtF(Var / float(H) + LayerNormEps);
}

/// One row of layer norm: Y = (X - Mean) * RStd * G + B.
REMAT_HD void layerNormRow(const float *X, size_t H, float Mean, float RStd,
                           const float *G, const float *B, float *Y) {
  for (size_t C = 0; C < H; ++C)
    Y[C] = (X[C] - Mean) * RStd * G[C] + B[C];
}

/// One row of layer norm's backward: DX from DY, X, the row's statistics
/// and the gain G. Parameter gradients are left to the caller (they sum
/// over rows).
REMAT_HD void layerNormRowBackward(const float *X, const float *DY, size_t H,
                                   float Mean, float RStd, const float *G,
                                   float *DX) {
  float SumD = 0, SumDX = 0;
  for (size_t C = 0; C < H; ++C) {
    float XHat = (X[C] - Mean) * RStd;
    float D = DY[C] * G[C];
    SumD += D;
    SumDX += D * XHat;
  }
  for (size_t C = 0; C < H; ++C) {
    float XHat = (X[C] - Mean) * RStd;
    float D = DY[C] * G[C];
    DX[C] = RStd * (D - SumD / float(H) - XHat * SumDX / float(H));
  }
}

/// Causal softmax of row \p I of \p T scores, in place: entries 0..I
/// become probabilities (max subtracted, exponentials summed in index
/// order), entries after I become 0.
REMAT_HD void causalSoftmaxRow(float *P, size_t I, size_t T) {
  float Max = P[0];
  for (size_t J = 1; J <= I; ++J)
    Max = P[J] > Max ? P[J] : Max;
  float Sum = 0;
  for (size_t J = 0; J <= I; ++J) {
    P[J] = expF(P[J] - Max);
    Sum += P[J];
  }
  for (size_t J = 0; J < T; ++J)
    P[J] = J <= I ? P[J] / Sum : 0.0f;
}

/// The layout of one attention head's rows: element c of token t of batch b
/// of head h lives at (b * Seq + t) * Hidden + h * HeadDim + c; the
/// probabilities of (b, h, i) at ((b * Heads + h) * Seq + i) * Seq.
struct AttnDims {
  size_t Seq, Hidden, Heads, HeadDim;
  REMAT_HD size_t tok(size_t B, size_t Hd, size_t T) const {
    return (B * Seq + T) * Hidden + Hd * HeadDim;
  }
  REMAT_HD size_t prob(size_t B, size_t Hd, size_t I) const {
    return ((B * Heads + Hd) * Seq + I) * Seq;
  }
};

/// Forward of row \p I of head (\p B, \p Hd): the scaled scores of Q_i
/// against K_0..K_i, causal softmax into P's row (kept before dropout), and
/// O_i = sum_j dropout(P_ij) V_j. \p Drop(index) is the dropout multiplier
/// of probability element index.
template <typename DropFn>
REMAT_HD void attnRowForward(const AttnDims &D, size_t B, size_t Hd, size_t I,
                             const float *Q, const float *K, const float *V,
                             float *P, float *O, DropFn Drop) {
  float Scale = 1.0f / sqrtF(float(D.HeadDim));
  const float *QI = Q + D.tok(B, Hd, I);
  float *PI = P + D.prob(B, Hd, I);
  for (size_t J = 0; J <= I; ++J) {
    const float *KJ = K + D.tok(B, Hd, J);
    float S = 0;
    for (size_t C = 0; C < D.HeadDim; ++C)
      S += QI[C] * KJ[C];
    PI[J] = S * Scale;
  }
  causalSoftmaxRow(PI, I, D.Seq);
  float *OI = O + D.tok(B, Hd, I);
  for (size_t C = 0; C < D.HeadDim; ++C)
    OI[C] = 0.0f;
  for (size_t J = 0; J <= I; ++J) {
    float Pd = PI[J] * Drop(D.prob(B, Hd, I) + J);
    const float *VJ = V + D.tok(B, Hd, J);
    for (size_t C = 0; C < D.HeadDim; ++C)
      OI[C] += Pd * VJ[C];
  }
}

/// dL/dS_ij / Scale for row \p I, column \p J: the gradient through the
/// dropout (G = dO_i . V_j times the mask) and the softmax, given the row's
/// Dot = sum_j G_ij P_ij.
REMAT_HD float attnGradThroughDrop(const AttnDims &D, size_t B, size_t Hd,
                                   size_t I, size_t J, const float *V,
                                   const float *DO, float M) {
  const float *DOI = DO + D.tok(B, Hd, I), *VJ = V + D.tok(B, Hd, J);
  float G = 0;
  for (size_t C = 0; C < D.HeadDim; ++C)
    G += DOI[C] * VJ[C];
  return G * M;
}

/// Backward of row \p I of head (\p B, \p Hd), the part that only row I
/// writes: the row's Dot (returned and stored in \p DotOut) and
/// dQ_i += sum_j dS_ij K_j, with j in index order.
template <typename DropFn>
REMAT_HD void attnRowBackward(const AttnDims &D, size_t B, size_t Hd, size_t I,
                              const float *Q, const float *K, const float *V,
                              const float *P, const float *DO, float *DQ,
                              float *DotOut, DropFn Drop) {
  (void)Q;
  float Scale = 1.0f / sqrtF(float(D.HeadDim));
  const float *PI = P + D.prob(B, Hd, I);
  float Dot = 0;
  for (size_t J = 0; J <= I; ++J)
    Dot +=
        attnGradThroughDrop(D, B, Hd, I, J, V, DO, Drop(D.prob(B, Hd, I) + J)) *
        PI[J];
  *DotOut = Dot;
  float *DQI = DQ + D.tok(B, Hd, I);
  for (size_t J = 0; J <= I; ++J) {
    float Row =
        attnGradThroughDrop(D, B, Hd, I, J, V, DO, Drop(D.prob(B, Hd, I) + J));
    float DS = PI[J] * (Row - Dot) * Scale;
    const float *KJ = K + D.tok(B, Hd, J);
    for (size_t C = 0; C < D.HeadDim; ++C)
      DQI[C] += DS * KJ[C];
  }
}

/// Backward of column \p J of head (\p B, \p Hd), the part that only column
/// J writes: dV_j += sum_i dropout(P_ij) dO_i and dK_j += sum_i dS_ij Q_i,
/// i from J upwards in index order, given every row's Dot (\p Dots, indexed
/// like the probability rows divided by Seq).
template <typename DropFn>
REMAT_HD void attnColBackward(const AttnDims &D, size_t B, size_t Hd, size_t J,
                              const float *Q, const float *V, const float *P,
                              const float *DO, const float *Dots, float *DK,
                              float *DV, DropFn Drop) {
  float Scale = 1.0f / sqrtF(float(D.HeadDim));
  float *DKJ = DK + D.tok(B, Hd, J), *DVJ = DV + D.tok(B, Hd, J);
  for (size_t I = J; I < D.Seq; ++I) {
    float M = Drop(D.prob(B, Hd, I) + J);
    float PIJ = P[D.prob(B, Hd, I) + J];
    const float *DOI = DO + D.tok(B, Hd, I), *QI = Q + D.tok(B, Hd, I);
    for (size_t C = 0; C < D.HeadDim; ++C)
      DVJ[C] += PIJ * M * DOI[C];
    float Row = attnGradThroughDrop(D, B, Hd, I, J, V, DO, M);
    float DS = PIJ * (Row - Dots[D.prob(B, Hd, I) / D.Seq]) * Scale;
    for (size_t C = 0; C < D.HeadDim; ++C)
      DKJ[C] += DS * QI[C];
  }
}

} // namespace remat::real::elem

#endif // REMAT_RUNTIME_REALELEMENT_H

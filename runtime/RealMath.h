//===- runtime/RealMath.h - Small deterministic float kernels ---*- C++ -*-===//
//
// The arithmetic under the real-mode layers: a plain matrix product, GELU and
// a counter-based random stream. Every loop runs in a fixed order on one
// thread, so the same inputs always give bit-identical outputs; that is what
// lets a recomputed forward reproduce the stored one exactly.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_RUNTIME_REALMATH_H
#define REMAT_RUNTIME_REALMATH_H

#include <cstddef>
#include <cstdint>

namespace remat::real {

/// C[M x N] (+)= op(A) op(B), with op(A) M x K and op(B) K x N. A is stored
/// M x K row-major, or K x M when \p TransA; B is K x N, or N x K when
/// \p TransB. Overwrites C unless \p Accumulate.
void matmul(const float *A, const float *B, float *C, size_t M, size_t K,
            size_t N, bool TransA, bool TransB, bool Accumulate);

/// GELU, tanh approximation (Hendrycks and Gimpel 2016).
float gelu(float X);
/// d gelu(X) / dX.
float geluGrad(float X);

/// A counter-based hash: the same (Seed, Stream, Index) always gives the
/// same 64 bits, with no state. Two rounds of splitmix64 (Steele et al.
/// 2014's finaliser) over the three words.
uint64_t hash3(uint64_t Seed, uint64_t Stream, uint64_t Index);

/// hash3 mapped to [0, 1) with 24 bits of precision.
float uniform01(uint64_t Seed, uint64_t Stream, uint64_t Index);

/// The dropout multiplier of element \p Index: 0 with probability \p P,
/// else 1 / (1 - P). P == 0 gives 1 everywhere.
float dropoutScale(uint64_t Seed, uint64_t Stream, uint64_t Index, float P);

} // namespace remat::real

#endif // REMAT_RUNTIME_REALMATH_H

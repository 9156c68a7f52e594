//===- runtime/RealMath.cpp - Small deterministic float kernels -----------===//

#include "runtime/RealMath.h"

#include "runtime/RealElement.h"

namespace remat::real {

void matmul(const float *A, const float *B, float *C, size_t M, size_t K,
            size_t N, bool TransA, bool TransB, bool Accumulate) {
  for (size_t I = 0; I < M; ++I) {
    for (size_t J = 0; J < N; ++J) {
      float Sum = 0;
      for (size_t P = 0; P < K; ++P) {
        float AV = TransA ? A[P * M + I] : A[I * K + P];
        float BV = TransB ? B[J * K + P] : B[P * N + J];
        Sum += AV * BV;
      }
      C[I * N + J] = Accumulate ? C[I * N + J] + Sum : Sum;
    }
  }
}

// The element math lives in RealElement.h, shared with the CUDA kernels.
float gelu(float X) { return elem::gelu(X); }

float geluGrad(float X) { return elem::geluGrad(X); }

uint64_t hash3(uint64_t Seed, uint64_t Stream, uint64_t Index) {
  return elem::hash3(Seed, Stream, Index);
}

float uniform01(uint64_t Seed, uint64_t Stream, uint64_t Index) {
  return elem::uniform01(Seed, Stream, Index);
}

float dropoutScale(uint64_t Seed, uint64_t Stream, uint64_t Index, float P) {
  return elem::dropoutScale(Seed, Stream, Index, P);
}

} // namespace remat::real

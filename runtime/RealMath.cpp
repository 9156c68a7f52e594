//===- runtime/RealMath.cpp - Small deterministic float kernels -----------===//

#include "runtime/RealMath.h"

#include <cmath>

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

static constexpr float GeluC = 0.7978845608028654f; // sqrt(2 / pi)

float gelu(float X) {
  float U = GeluC * (X + 0.044715f * X * X * X);
  return 0.5f * X * (1.0f + std::tanh(U));
}

float geluGrad(float X) {
  float U = GeluC * (X + 0.044715f * X * X * X);
  float T = std::tanh(U);
  float DU = GeluC * (1.0f + 3.0f * 0.044715f * X * X);
  return 0.5f * (1.0f + T) + 0.5f * X * (1.0f - T * T) * DU;
}

static uint64_t splitmix(uint64_t Z) {
  Z += 0x9e3779b97f4a7c15ull;
  Z = (Z ^ (Z >> 30)) * 0xbf58476d1ce4e5b9ull;
  Z = (Z ^ (Z >> 27)) * 0x94d049bb133111ebull;
  return Z ^ (Z >> 31);
}

uint64_t hash3(uint64_t Seed, uint64_t Stream, uint64_t Index) {
  return splitmix(splitmix(Seed ^ splitmix(Stream)) ^ Index);
}

float uniform01(uint64_t Seed, uint64_t Stream, uint64_t Index) {
  return float(hash3(Seed, Stream, Index) >> 40) * (1.0f / 16777216.0f);
}

float dropoutScale(uint64_t Seed, uint64_t Stream, uint64_t Index, float P) {
  if (P <= 0)
    return 1.0f;
  return uniform01(Seed, Stream, Index) < P ? 0.0f : 1.0f / (1.0f - P);
}

} // namespace remat::real

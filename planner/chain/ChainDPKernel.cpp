//===- planner/chain/ChainDPKernel.cpp - Dense DP kernel ------------------===//
//
// The loops are vectorised; where the CPU has AVX2 a second copy with
// 256-bit vectors is picked at load time (GCC function multiversioning).
// Sums associate as (Cost + R) + L, the order reconstruction repeats.
//
//===----------------------------------------------------------------------===//

#include "planner/chain/ChainDPKernel.h"

#include <algorithm>

namespace remat::chaindp {

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) &&         \
    !defined(__SANITIZE_ADDRESS__)
#define REMAT_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define REMAT_MULTIVERSION
#endif

namespace {
template <typename V>
[[gnu::always_inline]] inline void
minPlusBody(V *Out, const V *RR, const V *LL, V Cost, V RLast, V LLast,
            size_t REnd, size_t LEnd, size_t N) {
  size_t Both = std::min({REnd, LEnd, N}),
         One = std::min(std::max(REnd, LEnd), N);
  for (size_t K = 0; K < Both; ++K)
    Out[K] = std::min(Out[K], Cost + RR[K] + LL[K]);
  if (REnd > LEnd) {
    for (size_t K = Both; K < One; ++K)
      Out[K] = std::min(Out[K], Cost + RR[K] + LLast);
  } else {
    for (size_t K = Both; K < One; ++K)
      Out[K] = std::min(Out[K], Cost + RLast + LL[K]);
  }
  V Flat = Cost + RLast + LLast;
  for (size_t K = One; K < N; ++K)
    Out[K] = std::min(Out[K], Flat);
}
} // namespace

REMAT_MULTIVERSION
void minPlus(double *Out, const double *RR, const double *LL, double Cost,
             double RLast, double LLast, size_t REnd, size_t LEnd, size_t N) {
  minPlusBody(Out, RR, LL, Cost, RLast, LLast, REnd, LEnd, N);
}

REMAT_MULTIVERSION
void minPlus(float *Out, const float *RR, const float *LL, float Cost,
             float RLast, float LLast, size_t REnd, size_t LEnd, size_t N) {
  minPlusBody(Out, RR, LL, Cost, RLast, LLast, REnd, LEnd, N);
}

} // namespace remat::chaindp

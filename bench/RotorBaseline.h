//===- bench/RotorBaseline.h - Rotor-style DP to compare --------*- C++ -*-===//
//
// The baseline for bench/chain_dp: the same recurrence
// (planner/chain/ChainDPTables.h, with every peak term of spec §3a) computed
// the way rotor's C code computes it (Beaumont et al., ACM TOMS 2024): one
// dense table over (m, i, l), memory in the outermost loop, then the sub-chain
// length, then i, and every split j tried for every entry, with no clipping or
// pruning. It returns only the optimal time, which must equal the planner's on
// the same rounded chain, so the bench also checks the planner against an
// independent implementation. Written for this project from the recurrence; no
// rotor code is used.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_BENCH_ROTORBASELINE_H
#define REMAT_BENCH_ROTORBASELINE_H

#include "planner/chain/ChainDPTables.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace remat::bench {

/// opt_{0,L}(Budget - A[0]) for \p C in memory units; infinity when no plan
/// fits. Needs every A[k] and ABar[k] (k >= 1) to be at least one unit, so
/// that the m-outer order only reads finished entries. Memory: (L+1)^2 *
/// (Budget+1) doubles.
inline double rotorStyleOptimum(const chaindp::DPChain &C, uint64_t Budget) {
  constexpr double Inf = std::numeric_limits<double>::infinity();
  if (Budget < C.A[0])
    return Inf;
  unsigned L = C.L;
  uint64_t M0 = Budget - C.A[0];
  size_t N = L + 1;
  std::vector<double> T((M0 + 1) * N * N, Inf);
  auto At = [&](uint64_t M, unsigned I, unsigned Lp) -> double & {
    return T[(M * N + I) * N + Lp];
  };
  for (uint64_t M = 0; M <= M0; ++M)
    for (unsigned D = 0; D <= L; ++D)
      for (unsigned I = 0; I + D <= L; ++I) {
        unsigned Lp = I + D;
        if (I == L) {
          At(M, I, Lp) = M >= C.A[L] + C.LossWs ? C.LossTime : Inf;
          continue;
        }
        uint64_t Y = C.A[Lp + 1], Bar = C.ABar[I + 1];
        double Best = Inf;
        // Record stage I, then the rest from x̄_{I+1}.
        if (M >= std::max(Y + Bar + C.FwdWs[I],
                          Bar + C.A[I + 1] + C.A[I] + C.BwdWs[I])) {
          double Cost = C.Fwd[I] + C.Bwd[I];
          Best = I == Lp ? Cost : Cost + At(M - Bar, I + 1, Lp);
        }
        // Advance to x_J, solve J..Lp, then I..J-1.
        uint64_t Thr = Y + C.A[I + 1] + C.FwdWs[I];
        double Cost = 0;
        for (unsigned J = I + 1; J <= Lp; ++J) {
          Cost += C.Fwd[J - 1];
          if (J - 1 > I)
            Thr = std::max(Thr, Y + C.A[J - 1] + C.A[J] + C.FwdWs[J - 1]);
          if (M < Thr || M < C.A[J])
            continue;
          Best = std::min(Best, Cost + At(M - C.A[J], J, Lp) + At(M, I, J - 1));
        }
        At(M, I, Lp) = Best;
      }
  return At(M0, 0, L);
}

} // namespace remat::bench

#endif // REMAT_BENCH_ROTORBASELINE_H

//===- planner/chain/ChainDPKernel.h - Dense DP kernel ----------*- C++ -*-===//
//
// Internal to planner/chain/ChainDPDense.cpp: the element-wise update of one
// split over a run of memory units, in double and in float.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_CHAINDPKERNEL_H
#define REMAT_PLANNER_CHAINDPKERNEL_H

// Private to remat_planner_chain: outside it, link
// remat_planner_chain_internals.
#ifndef REMAT_PLANNER_CHAIN_INTERNALS
#error "planner/chain/ChainDPKernel.h is private to remat_planner_chain"
#endif

#include <cstddef>

namespace remat::chaindp {

/// Out[k] = min(Out[k], Cost + R + L) for k < N, with R = RR[k] for
/// k < REnd and RLast after (likewise L with LL, LEnd, LLast). RR and LL may
/// be null when REnd or LEnd is 0.
void minPlus(double *Out, const double *RR, const double *LL, double Cost,
             double RLast, double LLast, size_t REnd, size_t LEnd, size_t N);
void minPlus(float *Out, const float *RR, const float *LL, float Cost,
             float RLast, float LLast, size_t REnd, size_t LEnd, size_t N);

} // namespace remat::chaindp

#endif // REMAT_PLANNER_CHAINDPKERNEL_H

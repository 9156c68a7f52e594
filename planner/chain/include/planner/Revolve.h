//===- planner/Revolve.h - Binomial checkpointing ---------------*- C++ -*-===//
//
// Griewank & Walther's Revolve (ACM TOMS 26, 2000): the optimal schedule on a
// uniform chain with S checkpoint slots, in the chain dialect.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_REVOLVE_H
#define REMAT_PLANNER_REVOLVE_H

#include "graph/Graph.h"
#include "planner/Schedule.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace remat {

/// The default cap on the ops of one Revolve schedule: 10^8 ops (800 MB of
/// ChainOp, several GB as a schedule file). See docs/limits.md.
constexpr uint64_t DefaultMaxRevolveOps = 100'000'000;

/// The ops of revolveOps(C, Slots) for an \p L-stage chain: t(L,S) + L
/// forward ops, L backward ops and the loss (saturating).
uint64_t revolveOpCount(uint64_t L, uint64_t S);

/// Binomial schedule with at most \p Slots stored checkpoints including x_0.
/// Its forward-op count is t(L,S) + L with t(L,S) = r*L - C(S+r, S+1) and r
/// the least integer with C(S+r, S) >= L. Errors when Slots == 0, and,
/// before building anything, when the schedule would have more than
/// \p MaxOps ops (the message names the least --slots within it).
llvm::Expected<std::vector<ChainOp>>
revolveOps(const Chain &C, unsigned Slots,
           uint64_t MaxOps = DefaultMaxRevolveOps);

/// t(L,S) above: the forward recomputations of Revolve.
uint64_t revolveRecomputations(uint64_t L, uint64_t S);

} // namespace remat

#endif // REMAT_PLANNER_REVOLVE_H

//===- planner/ChainStrategies.h - Classic chain strategies -----*- C++ -*-===//
//
// The baseline strategies of spec §4 for chains. Each returns ops only; the
// dispatcher (planner/Strategy.h) simulates them into a Schedule.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_CHAINSTRATEGIES_H
#define REMAT_PLANNER_CHAINSTRATEGIES_H

#include "graph/Graph.h"
#include "planner/Baselines.h"
#include "planner/Schedule.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace remat {

/// Ops that checkpoint the inputs of the segments starting at \p Starts
/// (ascending, Starts[0] == 0) and record the stages of segments whose
/// `Recorded[s]` is set (no recomputation for them). Segment s covers stages
/// [Starts[s], Starts[s+1]). The building block of sequential/every/sqrt.
std::vector<ChainOp> segmentOps(const Chain &C, llvm::ArrayRef<unsigned> Starts,
                                llvm::ArrayRef<bool> Recorded);

/// PyTorch checkpoint_sequential: segments of floor(L/N) stages; the last
/// segment takes the remainder and is not checkpointed.
llvm::Expected<std::vector<ChainOp>> sequentialOps(const Chain &C,
                                                   unsigned Segments);

/// Checkpoint the input of every K-th stage (stages 0, K, 2K, ...).
llvm::Expected<std::vector<ChainOp>> everyOps(const Chain &C, unsigned K);

/// every with K = ceil(sqrt(L)).
std::vector<ChainOp> sqrtOps(const Chain &C);

/// Stages whose kind is in \p Kinds are recomputed; all others recorded.
llvm::Expected<std::vector<ChainOp>>
selectiveOps(const Chain &C, llvm::ArrayRef<std::string> Kinds);

/// Chen et al. 2016, Algorithm 3 (greedy segmenting under a per-segment
/// budget b), with the appendix's search over b on the sqrt(x*y) grid. With
/// \p BudgetBytes, returns the fastest plan found whose peak fits it (error
/// when none does, with the least peak found); without, the least-peak plan.
llvm::Expected<std::vector<ChainOp>>
chenOps(const Chain &C, std::optional<uint64_t> BudgetBytes);

} // namespace remat

#endif // REMAT_PLANNER_CHAINSTRATEGIES_H

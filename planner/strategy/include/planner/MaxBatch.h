//===- planner/MaxBatch.h - The largest batch that fits ---------*- C++ -*-===//
//
// Per strategy, the largest batch whose plan fits the device memory. The
// model's costs describe batch Model::BatchSize (1 when the file declares
// none); at batch b every activation byte figure (input, outputs, saved
// tensors, workspaces, the loss's workspace) scales by b / BatchSize,
// rounded up to whole bytes, and every time scales by the same factor.
// static_bytes do not scale. The activation budget is device memory minus
// static bytes. Graph models scale every node's bytes, workspace and time
// the same way. See docs/optimal-chain.md.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_MAXBATCH_H
#define REMAT_PLANNER_MAXBATCH_H

#include "graph/Graph.h"
#include "planner/Defaults.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace remat {

struct MaxBatchOptions {
  /// Total device memory, bytes.
  uint64_t DeviceMemoryBytes = 0;
  /// Overhead caps for the optimal planner, as fractions (0.10 = 10%).
  std::vector<double> OverheadCaps = {0.10, 0.33};
  /// Largest batch considered; a row that reaches it shows only that at
  /// least this batch fits, and the CLI says so.
  uint64_t BatchLimit = uint64_t(1) << 24;
  /// Graph models: the scalable planner's time limit per call, seconds.
  double TimeLimitSeconds = DefaultMaxBatchTimeLimitSeconds;
};

/// One strategy's answer.
struct MaxBatchRow {
  /// E.g. "sequential --segments 4" or "optimal, overhead <= 10%".
  std::string Label;
  std::string Strategy;
  /// Largest batch that fits; 0 when not even batch 1 does.
  uint64_t MaxBatch = 0;
  /// Peak at that batch, bytes (the least feasible budget for optimal).
  uint64_t PeakBytes = 0;
  /// Overhead of the plan at that batch (time / store-all time - 1).
  double Overhead = 0;
};

struct MaxBatchResult {
  /// The batch the file's costs describe; BatchDeclared is false when the
  /// file has no batch_size and 1 was assumed.
  uint64_t FileBatch = 1;
  bool BatchDeclared = false;
  uint64_t StaticBytes = 0;
  /// The largest batch searched (MaxBatchOptions::BatchLimit): a row at it
  /// only shows that at least this batch fits.
  uint64_t BatchLimit = 0;
  /// Device memory minus static bytes.
  uint64_t BudgetBytes = 0;
  std::vector<MaxBatchRow> Rows;
  /// Largest batch storing everything ("none") and with the optimal plan.
  uint64_t StandardBatch = 0;
  uint64_t CheckpointedBatch = 0;
  /// At StandardBatch: store-all peak, and the optimal planner's least
  /// feasible budget (the memory checkpointing needs at that batch).
  uint64_t StandardPeakBytes = 0;
  uint64_t OptimalPeakAtStandard = 0;
};

/// \p C at \p Batch when its costs describe \p FileBatch (rule above).
Chain scaleChain(const Chain &C, uint64_t FileBatch, uint64_t Batch);

/// \p G at \p Batch when its costs describe \p FileBatch: node bytes and
/// workspaces scaled and rounded up, times scaled.
Graph scaleGraph(const Graph &G, uint64_t FileBatch, uint64_t Batch);

/// The table for \p M, chain or graph. Graph models get the strategies of
/// the graph planners: none, recompute-all, chen and optimal (scalable
/// mode, with its overhead caps). Fails when the device memory does not
/// cover the static bytes.
llvm::Expected<MaxBatchResult> computeMaxBatch(const Model &M,
                                               const MaxBatchOptions &Opts);

} // namespace remat

#endif // REMAT_PLANNER_MAXBATCH_H

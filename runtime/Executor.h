//===- runtime/Executor.h - Running schedules on a backend ------*- C++ -*-===//
//
// The executor replays a schedule op by op on a backend. The residency
// rules of spec §3a (chain) and §3b (graph) are the simulator's own replay
// engines (planner/ChainReplay.h, planner/GraphReplay.h); the executor holds
// a buffer for each tensor they keep resident and performs exactly the
// allocations and frees each step implies, in the order that makes the
// tracking allocator's peak equal to the simulator's: an op allocates its
// output, then its workspace, runs, releases the workspace, then frees what
// the op frees.
//
// The run reserves its own tables before the backend's memory statistics are
// reset, so that the executor makes no heap allocation of its own during the
// run and the host meter sees only the tensors.
//
// What an op computes is the workload's business: synthetic workloads busy
// the device for the op's declared time, real workloads do float math.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_RUNTIME_EXECUTOR_H
#define REMAT_RUNTIME_EXECUTOR_H

#include "graph/Graph.h"
#include "planner/Schedule.h"
#include "runtime/Backend.h"
#include "runtime/TrackingAllocator.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace remat {

/// An activation handed to a forward op: x_i itself, or x̄_i (which holds
/// x_i inside it).
struct TensorRef {
  Buffer Buf;
  /// True when Buf is x̄_i (the recorded state of stage i-1).
  bool IsSaved = false;
};

/// What the ops of a chain compute. Buffers arrive allocated with the
/// chain's declared sizes.
class ChainWorkload {
public:
  virtual ~ChainWorkload() = default;
  /// The chain whose sizes the executor allocates.
  virtual const Chain &chain() const = 0;
  /// Fills x_0 before the first op.
  virtual void initInput(Buffer X0) = 0;
  /// Stage \p I forward: reads \p In, writes x_{I+1} into \p Out, or x̄_{I+1}
  /// when \p Record.
  virtual void forward(unsigned I, TensorRef In, Buffer Out, bool Record,
                       Buffer Ws) = 0;
  /// The loss: reads x_L (or x̄_L) and writes y_L.
  virtual void loss(TensorRef XL, Buffer YL, Buffer Ws) = 0;
  /// Stage \p I backward: from x̄_{I+1} and y_{I+1}, writes y_I.
  virtual void backward(unsigned I, Buffer Saved, Buffer DY, Buffer DX,
                        Buffer Ws) = 0;
  /// Sees y_0 once the schedule completes (before it is freed).
  virtual void finish(Buffer Y0) {}
  /// Whether the workload runs a chain whose loss frees its input
  /// (LossCost::FreesInput): the executor then hands forward(L-1, Record)
  /// only the part of x̄_L beyond x_L's share, which it holds apart so that
  /// the loss can free it. Kernels that read x̄_L as one tensor cannot.
  virtual bool splitsLastRecord() const { return false; }
};

/// What the executor measured in one run.
struct RunResult {
  /// Peak of the tracking allocator, bytes (spec §3 accounting): the
  /// executor's bookkeeping of what it asked for.
  uint64_t PeakBytes = 0;
  /// Bytes still resident when the last op finished (before cleanup).
  uint64_t EndLiveBytes = 0;
  /// Sum of the per-op times, microseconds.
  double OpMicros = 0;
  /// Wall time of the whole run, allocations included, microseconds.
  double WallMicros = 0;
  /// Time of each op, microseconds, in schedule order.
  std::vector<double> PerOpMicros;
  /// Forward executions per stage (chain) or per node (graph; forward-phase
  /// nodes only count as forward).
  std::vector<unsigned> ForwardCounts;
  /// Forward ops executed.
  uint64_t ForwardOps = 0;
  /// ForwardOps minus the number of forward stages or forward nodes.
  uint64_t ForwardRecomputations = 0;
  /// The device's view of memory (CUDA only).
  DeviceMemStats Device;
  /// The independent host meter (CPU backend with glibc): what the C
  /// library held in use, peak over the run.
  HostMeterStats Meter;
};

/// Runs chain ops with \p W on \p B. Fails (InvalidScheduleError) on an op
/// the simulator refuses (operands not resident, output already resident, a
/// second loss), on an op after y_0 was produced, or when the schedule ends
/// without producing y_0; on allocation failure; when \p W needs host
/// memory that \p B does not have; and (bad input) on a chain whose loss
/// frees its input when \p W cannot split x̄_L (ChainWorkload::
/// splitsLastRecord).
llvm::Expected<RunResult> runChain(ChainWorkload &W,
                                   llvm::ArrayRef<ChainOp> Ops, Backend &B);

/// Runs graph ops synthetically: each compute allocates the node's bytes and
/// workspace and busies the device for Time * \p MicrosPerUnit microseconds.
/// Fails as runChain does (an input not resident, a compute of a node that
/// already is, a free of one that is not, a node never computed).
llvm::Expected<RunResult> runGraphSynthetic(const Graph &G,
                                            llvm::ArrayRef<GraphOp> Ops,
                                            Backend &B, double MicrosPerUnit);

/// \p C with every size divided by \p Divisor, rounded up (a size that is
/// not zero stays at least 1). Times are unchanged. Divisor 1 is identity.
Chain scaleChainBytes(const Chain &C, uint64_t Divisor);

/// As scaleChainBytes, for node bytes and workspaces.
Graph scaleGraphBytes(const Graph &G, uint64_t Divisor);

} // namespace remat

#endif // REMAT_RUNTIME_EXECUTOR_H

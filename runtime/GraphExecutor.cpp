//===- runtime/GraphExecutor.cpp - Graph-dialect schedules ----------------===//
//
// Spec §3b: a compute needs every input resident, allocates the node's bytes
// and workspace (the op's peak), releases the workspace; a free releases the
// node. The graph's external input is not counted, so nothing is allocated
// before the first op.
//
//===----------------------------------------------------------------------===//

#include "runtime/Executor.h"

#include "planner/Errors.h"

#include <chrono>
#include <fmt/format.h>

using namespace llvm;

namespace remat {

namespace {
struct GraphRun {
  const Graph &G;
  Backend &Dev;
  double MicrosPerUnit;
  TrackingAllocator Alloc;
  std::vector<Buffer> Bufs;
  std::vector<bool> Resident;
  RunResult R;

  GraphRun(const Graph &G, Backend &B, double MicrosPerUnit)
      : G(G), Dev(B), MicrosPerUnit(MicrosPerUnit), Alloc(B), Bufs(G.size()),
        Resident(G.size(), false) {
    R.ForwardCounts.assign(G.size(), 0);
  }
  ~GraphRun() {
    for (Buffer &B : Bufs)
      Alloc.release(B);
  }

  Error invalid(size_t Index, const GraphOp &Op, const Twine &What) {
    return make_error<InvalidScheduleError>(
        fmt::format("op {} ({} {}): {}", Index,
                    Op.Kind == GraphOpKind::Compute ? "compute" : "free",
                    G.Nodes[Op.Node].Name, What.str()));
  }

  Error compute(size_t Index, const GraphOp &Op) {
    const Node &N = G.Nodes[Op.Node];
    for (unsigned In : N.Inputs)
      if (!Resident[In])
        return invalid(Index, Op,
                       "input '" + G.Nodes[In].Name + "' is not resident");
    // Recomputing a resident node replaces it: the new copy is allocated
    // before the old one goes, as a real framework would have to.
    auto Out = Alloc.allocate(N.Bytes);
    if (!Out)
      return Out.takeError();
    auto Ws = Alloc.allocate(N.Workspace);
    if (!Ws)
      return Ws.takeError();
    Dev.startTimer();
    Dev.busy(Out->Data, Out->Bytes, N.Time * MicrosPerUnit);
    double T = Dev.stopTimer();
    R.PerOpMicros.push_back(T);
    R.OpMicros += T;
    Alloc.release(*Ws);
    Alloc.release(Bufs[Op.Node]);
    Bufs[Op.Node] = *Out;
    Resident[Op.Node] = true;
    if (N.NodePhase == Phase::Forward) {
      ++R.ForwardCounts[Op.Node];
      ++R.ForwardOps;
    }
    return Error::success();
  }

  Expected<RunResult> run(ArrayRef<GraphOp> Ops) {
    // Everything the run needs is allocated before the meter's baseline.
    R.PerOpMicros.reserve(Ops.size());
    std::vector<bool> Computed(G.size(), false);
    Dev.synchronize();
    Dev.resetMemStats();
    auto Start = std::chrono::steady_clock::now();
    for (size_t I = 0; I < Ops.size(); ++I) {
      const GraphOp &Op = Ops[I];
      if (Op.Node >= G.size())
        return make_error<InvalidScheduleError>(
            fmt::format("op {}: node id {} is out of range", I, Op.Node));
      if (Op.Kind == GraphOpKind::Compute) {
        if (Error E = compute(I, Op))
          return E;
        Computed[Op.Node] = true;
        continue;
      }
      if (!Resident[Op.Node])
        return invalid(I, Op, "the node is not resident");
      Alloc.release(Bufs[Op.Node]);
      Resident[Op.Node] = false;
      R.PerOpMicros.push_back(0);
    }
    Dev.synchronize();
    R.WallMicros = std::chrono::duration<double, std::micro>(
                       std::chrono::steady_clock::now() - Start)
                       .count();
    for (unsigned V = 0; V < G.size(); ++V)
      if (!Computed[V])
        return make_error<InvalidScheduleError>(
            "the schedule never computes node '" + G.Nodes[V].Name + "'");
    uint64_t ForwardNodes = 0;
    for (const Node &N : G.Nodes)
      ForwardNodes += N.NodePhase == Phase::Forward;
    R.ForwardRecomputations = R.ForwardOps - ForwardNodes;
    R.PeakBytes = Alloc.peakBytes();
    R.EndLiveBytes = Alloc.liveBytes();
    R.Device = Dev.memStats();
    R.Meter = Dev.hostMeter();
    return R;
  }
};
} // namespace

Expected<RunResult> runGraphSynthetic(const Graph &G, ArrayRef<GraphOp> Ops,
                                      Backend &B, double MicrosPerUnit) {
  GraphRun Run(G, B, MicrosPerUnit);
  return Run.run(Ops);
}

} // namespace remat

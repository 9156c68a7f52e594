//===- runtime/GraphExecutor.cpp - Graph-dialect schedules ----------------===//
//
// Spec §3b, with the rules of planner/GraphReplay.h: a compute needs every
// input resident and the node not resident, allocates the node's bytes and
// workspace (the op's peak), releases the workspace; a free releases the
// node. The graph's external input is not counted, so nothing is allocated
// before the first op.
//
//===----------------------------------------------------------------------===//

#include "runtime/Executor.h"

#include "planner/Errors.h"
#include "planner/GraphReplay.h"

#include <chrono>
#include <fmt/format.h>

using namespace llvm;

namespace remat {

namespace {
/// The runtime's side of a graph replay: GraphReplay (planner/GraphReplay.h)
/// decides what is valid; this holds a buffer per resident node.
struct GraphRun {
  const Graph &G;
  Backend &Dev;
  double MicrosPerUnit;
  TrackingAllocator Alloc;
  GraphReplay Replay;
  std::vector<Buffer> Bufs;
  RunResult R;

  GraphRun(const Graph &G, Backend &B, double MicrosPerUnit)
      : G(G), Dev(B), MicrosPerUnit(MicrosPerUnit), Alloc(B), Replay(G),
        Bufs(G.size()) {
    R.ForwardCounts.assign(G.size(), 0);
  }
  ~GraphRun() {
    for (Buffer &B : Bufs)
      Alloc.release(B);
  }

  /// The runtime's words for a fault, as before the replay was shared.
  static Error invalid(size_t Index, const GraphOp &Op, const GraphStep &S,
                       const Graph &G) {
    std::string What;
    switch (S.Fault) {
    case GraphFault::NodeOutOfRange:
      return make_error<InvalidScheduleError>(
          fmt::format("op {}: node id {} is out of range", Index, Op.Node));
    case GraphFault::InputNotResident:
      What = "input '" + G.Nodes[S.Culprit].Name + "' is not resident";
      break;
    case GraphFault::NotResident:
      What = "the node is not resident";
      break;
    case GraphFault::AlreadyResident:
    case GraphFault::None:
      What = "the node is already resident";
      break;
    }
    return make_error<InvalidScheduleError>(graphOpLabel(Index, Op, G) + ": " +
                                            What);
  }

  Error compute(const GraphOp &Op) {
    const Node &N = G.Nodes[Op.Node];
    auto Out = Alloc.allocate(N.Bytes);
    if (!Out)
      return Out.takeError();
    Bufs[Op.Node] = *Out;
    auto Ws = Alloc.allocate(N.Workspace);
    if (!Ws)
      return Ws.takeError();
    Dev.startTimer();
    Dev.busy(Out->Data, Out->Bytes, N.Time * MicrosPerUnit);
    double T = Dev.stopTimer();
    R.PerOpMicros.push_back(T);
    R.OpMicros += T;
    Alloc.release(*Ws);
    if (N.NodePhase == Phase::Forward) {
      ++R.ForwardCounts[Op.Node];
      ++R.ForwardOps;
    }
    return Error::success();
  }

  Expected<RunResult> run(ArrayRef<GraphOp> Ops) {
    // Everything the run needs is allocated before the meter's baseline.
    R.PerOpMicros.reserve(Ops.size());
    Dev.synchronize();
    Dev.resetMemStats();
    auto Start = std::chrono::steady_clock::now();
    for (size_t I = 0; I < Ops.size(); ++I) {
      const GraphOp &Op = Ops[I];
      GraphStep S = Replay.step(Op);
      if (!S.ok())
        return invalid(I, Op, S, G);
      if (Op.Kind == GraphOpKind::Compute) {
        if (Error E = compute(Op))
          return E;
        continue;
      }
      Alloc.release(Bufs[Op.Node]);
      R.PerOpMicros.push_back(0);
    }
    Dev.synchronize();
    R.WallMicros = std::chrono::duration<double, std::micro>(
                       std::chrono::steady_clock::now() - Start)
                       .count();
    if (std::optional<unsigned> Missing = Replay.firstNeverComputed())
      return make_error<InvalidScheduleError>(
          "the schedule never computes node '" + G.Nodes[*Missing].Name + "'");
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

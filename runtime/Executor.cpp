//===- runtime/Executor.cpp - Running schedules on a backend --------------===//

#include "runtime/Executor.h"

#include "graph/Errors.h"
#include "planner/ChainReplay.h"
#include "planner/Errors.h"

#include <chrono>
#include <fmt/format.h>

using namespace llvm;

namespace remat {

namespace {
using Clock = std::chrono::steady_clock;

/// The runtime's side of a chain replay: the residency rules are
/// ChainReplay's (planner/ChainReplay.h); this class holds a buffer for each
/// resident tensor, allocates an op's output and workspace, runs the
/// workload's kernel on the step's operands and frees what the step frees.
class ChainRun {
public:
  ChainRun(ChainWorkload &W, Backend &B)
      : W(W), C(W.chain()), Dev(B), Alloc(B), Replay(C.size()), X(C.size() + 1),
        XBar(C.size() + 1), Y(C.size() + 1) {
    R.ForwardCounts.assign(C.size(), 0);
  }
  /// Releases what is still held: a freed tensor's buffer is already empty.
  ~ChainRun() {
    for (auto *Table : {&X, &XBar, &Y})
      for (Buffer &B : *Table)
        Alloc.release(B);
    Alloc.release(Share);
  }

  Expected<RunResult> run(ArrayRef<ChainOp> Ops);

private:
  Error step(size_t Index, const ChainOp &Op);
  void kernel(const ChainOp &Op, const ChainStep &S, Buffer Ws);
  Buffer &buf(ChainTensor T) {
    auto &Table = T.Kind == ChainTensorKind::X      ? X
                  : T.Kind == ChainTensorKind::XBar ? XBar
                                                    : Y;
    return Table[T.Index];
  }
  Error invalid(size_t Index, const ChainOp &Op, const Twine &What) {
    return make_error<InvalidScheduleError>(chainOpLabel(Index, Op) + ": " +
                                            What.str());
  }
  std::string faultText(const ChainStep &S) const;
  bool isLastRecord(ChainTensor T) const {
    return C.Loss.FreesInput && T.Kind == ChainTensorKind::XBar &&
           T.Index == C.size();
  }
  Error allocateOutput(const ChainStep &S);
  void freeLossInput(const ChainStep &S);

  ChainWorkload &W;
  const Chain &C;
  Backend &Dev;
  TrackingAllocator Alloc;
  ChainReplay Replay;
  /// The buffer of each tensor, valid while ChainReplay holds it resident.
  std::vector<Buffer> X, XBar, Y;
  /// Under LossCost::FreesInput, x_L's share of x̄_L, held apart from the
  /// rest (XBar[L]) so that the loss can free it.
  Buffer Share;
  RunResult R;
};
} // namespace

/// The runtime's words for a fault, as before the replay was shared: an
/// input is "neither x_i nor x̄_i", x̄ is spelled x̄.
std::string ChainRun::faultText(const ChainStep &S) const {
  if (S.Fault == ChainFault::LayerOutOfRange)
    return fmt::format("layer {} is out of range (chain has {} stages)",
                       S.Culprit.Index, C.size());
  if (S.Fault == ChainFault::NotResident &&
      S.Culprit.Kind == ChainTensorKind::X)
    return fmt::format("neither x_{0} nor x̄_{0} is resident", S.Culprit.Index);
  return chainFaultText(S, C.size(), "x̄");
}

void ChainRun::kernel(const ChainOp &Op, const ChainStep &S, Buffer Ws) {
  Buffer Out = buf(S.Output);
  TensorRef In{buf(S.Input), S.Input.Kind == ChainTensorKind::XBar};
  Dev.startTimer();
  switch (Op.Kind) {
  case ChainOpKind::FCk:
  case ChainOpKind::FN:
  case ChainOpKind::FAll:
    W.forward(Op.Layer, In, Out, Op.Kind == ChainOpKind::FAll, Ws);
    break;
  case ChainOpKind::Loss:
    W.loss(In, Out, Ws);
    break;
  case ChainOpKind::B:
    W.backward(Op.Layer, In.Buf, Y[Op.Layer + 1], Out, Ws);
    break;
  }
  double T = Dev.stopTimer();
  R.PerOpMicros.push_back(T);
  R.OpMicros += T;
}

/// Allocates the step's output; x̄_L under LossCost::FreesInput comes in two
/// parts, x_L's share and the rest (which the kernel writes).
Error ChainRun::allocateOutput(const ChainStep &S) {
  uint64_t Bytes = chainTensorBytes(C, S.Output);
  if (isLastRecord(S.Output)) {
    auto Part = Alloc.allocate(C.activationBytes(C.size()));
    if (!Part)
      return Part.takeError();
    Share = *Part;
    Bytes -= Share.Bytes;
  }
  auto Out = Alloc.allocate(Bytes);
  if (!Out)
    return Out.takeError();
  buf(S.Output) = *Out;
  return Error::success();
}

/// Under LossCost::FreesInput, the loss frees x_L before it makes y_L: the
/// plain x_L (which the replay reports freed as well) or x̄_L's share.
void ChainRun::freeLossInput(const ChainStep &S) {
  if (!C.Loss.FreesInput)
    return;
  if (S.Input.Kind == ChainTensorKind::X)
    Alloc.release(buf(S.Input));
  else
    Alloc.release(Share);
}

Error ChainRun::step(size_t Index, const ChainOp &Op) {
  // The executor stops at y_0, which W.finish sees.
  if (Replay.y0Produced())
    return invalid(Index, Op, "the schedule continues after y_0 was produced");
  ChainTensor Freed[3];
  unsigned NumFreed = 0;
  ChainStep S = Replay.step(Op, [&](ChainTensor T) { Freed[NumFreed++] = T; });
  if (!S.ok())
    return invalid(Index, Op, faultText(S));
  // The output, then the workspace; the kernel; the workspace goes, then
  // what the op frees.
  if (Op.Kind == ChainOpKind::Loss)
    freeLossInput(S);
  if (Error E = allocateOutput(S))
    return E;
  auto Ws = Alloc.allocate(chainOpWorkspace(C, Op));
  if (!Ws)
    return Ws.takeError();
  kernel(Op, S, *Ws);
  Alloc.release(*Ws);
  for (unsigned I = 0; I < NumFreed; ++I) {
    Alloc.release(buf(Freed[I]));
    if (isLastRecord(Freed[I]))
      Alloc.release(Share);
  }
  // x̄_L recorded after the loss ran: x_L's share is not needed (spec §3a).
  if (isLastRecord(S.Output) && Replay.lossDone())
    Alloc.release(Share);
  if (Op.isForward()) {
    ++R.ForwardCounts[Op.Layer];
    ++R.ForwardOps;
  }
  return Error::success();
}

Expected<RunResult> ChainRun::run(ArrayRef<ChainOp> Ops) {
  R.PerOpMicros.reserve(Ops.size());
  Dev.synchronize();
  Dev.resetMemStats();
  auto Start = Clock::now();
  auto X0 = Alloc.allocate(C.InputBytes);
  if (!X0)
    return X0.takeError();
  X[0] = *X0;
  W.initInput(X[0]);
  for (size_t I = 0; I < Ops.size(); ++I)
    if (Error E = step(I, Ops[I]))
      return E;
  Dev.synchronize();
  R.WallMicros =
      std::chrono::duration<double, std::micro>(Clock::now() - Start).count();
  if (!Replay.y0Produced())
    return make_error<InvalidScheduleError>(
        "the schedule ends without producing y_0");
  W.finish(Y[0]);
  R.PeakBytes = Alloc.peakBytes();
  R.EndLiveBytes = Alloc.liveBytes();
  R.ForwardRecomputations = R.ForwardOps - C.size();
  R.Device = Dev.memStats();
  R.Meter = Dev.hostMeter();
  return R;
}

Expected<RunResult> runChain(ChainWorkload &W, ArrayRef<ChainOp> Ops,
                             Backend &B) {
  if (W.chain().Loss.FreesInput && !W.splitsLastRecord())
    return badInput("this workload reads x̄_L as one tensor and cannot run a "
                    "chain whose loss frees its input (\"loss\": "
                    "{{\"frees_input\": true}}); run it synthetically, or "
                    "with remat_torch");
  ChainRun Run(W, B);
  return Run.run(Ops);
}

static uint64_t scaleDown(uint64_t Bytes, uint64_t Divisor) {
  return Divisor <= 1 ? Bytes : (Bytes + Divisor - 1) / Divisor;
}

Chain scaleChainBytes(const Chain &C, uint64_t Divisor) {
  Chain S = C;
  S.InputBytes = scaleDown(C.InputBytes, Divisor);
  for (Stage &St : S.Stages) {
    St.OutputBytes = scaleDown(St.OutputBytes, Divisor);
    St.SavedBytes = scaleDown(St.SavedBytes, Divisor);
    St.FwdWorkspace = scaleDown(St.FwdWorkspace, Divisor);
    St.BwdWorkspace = scaleDown(St.BwdWorkspace, Divisor);
  }
  S.Loss.BwdWorkspace = scaleDown(C.Loss.BwdWorkspace, Divisor);
  return S;
}

Graph scaleGraphBytes(const Graph &G, uint64_t Divisor) {
  Graph S = G;
  for (Node &N : S.Nodes) {
    N.Bytes = scaleDown(N.Bytes, Divisor);
    N.Workspace = scaleDown(N.Workspace, Divisor);
  }
  return S;
}

} // namespace remat

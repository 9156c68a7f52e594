//===- runtime/Executor.cpp - Running schedules on a backend --------------===//

#include "runtime/Executor.h"

#include "planner/Baselines.h"
#include "planner/Errors.h"

#include <chrono>
#include <fmt/format.h>

using namespace llvm;

namespace remat {

namespace {
using Clock = std::chrono::steady_clock;

struct Slot {
  Buffer Buf;
  bool Resident = false;
};

/// The resident-tensor table and the op-by-op semantics of spec §3a.
class ChainRun {
public:
  ChainRun(ChainWorkload &W, Backend &B)
      : W(W), C(W.chain()), Dev(B), Alloc(B), X(C.size() + 1),
        XBar(C.size() + 1), Y(C.size() + 1) {
    R.ForwardCounts.assign(C.size(), 0);
  }
  ~ChainRun() { releaseAll(); }

  Expected<RunResult> run(ArrayRef<ChainOp> Ops);

private:
  Error step(size_t Index, const ChainOp &Op);
  Error forward(const ChainOp &Op);
  Error loss();
  Error backward(unsigned I);
  Error put(Slot &S, uint64_t Bytes);
  void drop(Slot &S) {
    Alloc.release(S.Buf);
    S.Resident = false;
  }
  Expected<Buffer> workspace(uint64_t Bytes) { return Alloc.allocate(Bytes); }
  Error invalid(const Twine &What) {
    return make_error<InvalidScheduleError>(Where + ": " + What.str());
  }
  void releaseAll() {
    for (auto *Table : {&X, &XBar, &Y})
      for (Slot &S : *Table)
        if (S.Resident)
          drop(S);
  }
  template <typename Fn> void timed(Fn &&Kernel) {
    Dev.startTimer();
    Kernel();
    double T = Dev.stopTimer();
    R.PerOpMicros.push_back(T);
    R.OpMicros += T;
  }

  ChainWorkload &W;
  const Chain &C;
  Backend &Dev;
  TrackingAllocator Alloc;
  std::vector<Slot> X, XBar, Y;
  std::string Where;
  RunResult R;
};
} // namespace

Error ChainRun::put(Slot &S, uint64_t Bytes) {
  auto B = Alloc.allocate(Bytes);
  if (!B)
    return B.takeError();
  S.Buf = *B;
  S.Resident = true;
  return Error::success();
}

Error ChainRun::forward(const ChainOp &Op) {
  unsigned I = Op.Layer;
  if (I >= C.size())
    return invalid(fmt::format("layer {} is out of range (chain has {} "
                               "stages)",
                               I, C.size()));
  // Prefer the plain x_i, as F_n frees "a plain x_i, else x̄_i".
  Slot *In = X[I].Resident ? &X[I] : XBar[I].Resident ? &XBar[I] : nullptr;
  if (!In)
    return invalid(fmt::format("neither x_{0} nor x̄_{0} is resident", I));
  bool Record = Op.Kind == ChainOpKind::FAll;
  Slot &Out = Record ? XBar[I + 1] : X[I + 1];
  if (Out.Resident)
    return invalid(
        fmt::format("{}_{} is already resident", Record ? "x̄" : "x", I + 1));
  const Stage &S = C.Stages[I];
  if (Error E = put(Out, Record ? S.SavedBytes : S.OutputBytes))
    return E;
  auto Ws = workspace(S.FwdWorkspace);
  if (!Ws)
    return Ws.takeError();
  TensorRef Ref{In->Buf, In == &XBar[I]};
  timed([&] { W.forward(I, Ref, Out.Buf, Record, *Ws); });
  Alloc.release(*Ws);
  if (Op.Kind == ChainOpKind::FN)
    drop(*In);
  ++R.ForwardCounts[I];
  ++R.ForwardOps;
  return Error::success();
}

Error ChainRun::loss() {
  unsigned L = C.size();
  Slot *In = X[L].Resident ? &X[L] : XBar[L].Resident ? &XBar[L] : nullptr;
  if (!In)
    return invalid(fmt::format("neither x_{0} nor x̄_{0} is resident", L));
  if (Y[L].Resident)
    return invalid(fmt::format("y_{} is already resident", L));
  if (Error E = put(Y[L], C.activationBytes(L)))
    return E;
  auto Ws = workspace(C.Loss.BwdWorkspace);
  if (!Ws)
    return Ws.takeError();
  TensorRef Ref{In->Buf, In == &XBar[L]};
  timed([&] { W.loss(Ref, Y[L].Buf, *Ws); });
  Alloc.release(*Ws);
  if (X[L].Resident)
    drop(X[L]);
  return Error::success();
}

Error ChainRun::backward(unsigned I) {
  if (I >= C.size())
    return invalid(fmt::format("layer {} is out of range (chain has {} "
                               "stages)",
                               I, C.size()));
  if (!Y[I + 1].Resident)
    return invalid(fmt::format("y_{} is not resident", I + 1));
  if (!XBar[I + 1].Resident)
    return invalid(fmt::format("x̄_{} is not resident", I + 1));
  if (Y[I].Resident)
    return invalid(fmt::format("y_{} is already resident", I));
  if (Error E = put(Y[I], C.activationBytes(I)))
    return E;
  auto Ws = workspace(C.Stages[I].BwdWorkspace);
  if (!Ws)
    return Ws.takeError();
  timed([&] { W.backward(I, XBar[I + 1].Buf, Y[I + 1].Buf, Y[I].Buf, *Ws); });
  Alloc.release(*Ws);
  drop(Y[I + 1]);
  drop(XBar[I + 1]);
  if (X[I].Resident)
    drop(X[I]);
  return Error::success();
}

Error ChainRun::step(size_t Index, const ChainOp &Op) {
  // Formatted into the reserved string: no allocation during the run.
  Where.clear();
  if (Op.Kind == ChainOpKind::Loss)
    fmt::format_to(std::back_inserter(Where), "op {} (loss)", Index);
  else
    fmt::format_to(std::back_inserter(Where), "op {} ({} layer {})", Index,
                   std::string_view(chainOpName(Op.Kind)), Op.Layer);
  if (Y[0].Resident)
    return invalid("the schedule continues after y_0 was produced");
  switch (Op.Kind) {
  case ChainOpKind::FCk:
  case ChainOpKind::FN:
  case ChainOpKind::FAll:
    return forward(Op);
  case ChainOpKind::Loss:
    return loss();
  case ChainOpKind::B:
    return backward(Op.Layer);
  }
  return invalid("unknown op");
}

Expected<RunResult> ChainRun::run(ArrayRef<ChainOp> Ops) {
  R.PerOpMicros.reserve(Ops.size());
  Where.reserve(96);
  Dev.synchronize();
  Dev.resetMemStats();
  auto Start = Clock::now();
  if (Error E = put(X[0], C.InputBytes))
    return E;
  W.initInput(X[0].Buf);
  for (size_t I = 0; I < Ops.size(); ++I)
    if (Error E = step(I, Ops[I]))
      return E;
  Dev.synchronize();
  R.WallMicros =
      std::chrono::duration<double, std::micro>(Clock::now() - Start).count();
  if (!Y[0].Resident)
    return make_error<InvalidScheduleError>(
        "the schedule ends without producing y_0");
  W.finish(Y[0].Buf);
  R.PeakBytes = Alloc.peakBytes();
  R.EndLiveBytes = Alloc.liveBytes();
  R.ForwardRecomputations = R.ForwardOps - C.size();
  R.Device = Dev.memStats();
  R.Meter = Dev.hostMeter();
  return R;
}

Expected<RunResult> runChain(ChainWorkload &W, ArrayRef<ChainOp> Ops,
                             Backend &B) {
  ChainRun Run(W, B);
  return Run.run(Ops);
}

std::vector<ChainOp> storeEverythingChainOps(const Chain &C) {
  return storeAllOps(C);
}

std::vector<GraphOp> storeEverythingGraphOps(const Graph &G) {
  std::vector<GraphOp> Ops;
  for (unsigned V = 0; V < G.size(); ++V)
    Ops.push_back({GraphOpKind::Compute, V});
  return Ops;
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

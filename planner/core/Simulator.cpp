//===- planner/Simulator.cpp - The one simulator every plan passes --------===//
//
// Chain semantics follow spec §3a (rotor's, with the x_L fix), graph
// semantics spec §3b. The rules the spec leaves open are fixed here and in
// docs/simulator.md: computing a tensor that is already resident is invalid
// (it would double-count memory), and the loss runs at most once.
//
//===----------------------------------------------------------------------===//

#include "planner/Simulator.h"
#include "graph/Errors.h"

#include "planner/Baselines.h"
#include "planner/Errors.h"

#include "llvm/ADT/BitVector.h"

#include <fmt/format.h>

using namespace llvm;

namespace remat {

namespace {

/// Resident chain tensors: plain x_i, recorded x̄_i (i >= 1) and gradients
/// y_i, for i in [0, L].
class ChainState {
public:
  explicit ChainState(const Chain &C)
      : C(C), X(C.size() + 1), XBar(C.size() + 1), Y(C.size() + 1) {
    X.set(0);
    Bytes = C.InputBytes;
  }

  /// Runs op \p Index; returns the error text on an invalid op. Sets
  /// `Added` (bytes of the output) and `Workspace`.
  std::optional<std::string> step(size_t Index, const ChainOp &Op);

  uint64_t Bytes = 0;
  uint64_t Workspace = 0;
  /// Resident bytes after the current op added its output, before frees.
  uint64_t AfterAdd = 0;
  double Time = 0;
  uint64_t ForwardOps = 0;
  bool Y0Produced = false;

private:
  std::optional<std::string> forward(const ChainOp &Op);
  std::optional<std::string> loss();
  std::optional<std::string> backward(unsigned I);
  uint64_t xBytes(unsigned I) const { return C.activationBytes(I); }
  uint64_t xBarBytes(unsigned I) const { return C.Stages[I - 1].SavedBytes; }

  const Chain &C;
  BitVector X, XBar, Y;
  bool LossDone = false;
};

} // namespace

static std::string opLabel(size_t Index, const ChainOp &Op) {
  if (Op.Kind == ChainOpKind::Loss)
    return fmt::format("op {} (loss)", Index);
  return fmt::format("op {} ({} layer {})", Index, chainOpName(Op.Kind).str(),
                     Op.Layer);
}

std::optional<std::string> ChainState::forward(const ChainOp &Op) {
  unsigned I = Op.Layer;
  if (!X.test(I) && !XBar.test(I))
    return fmt::format("x_{} is not resident", I);
  if (X.test(I + 1))
    return fmt::format("x_{} is already resident", I + 1);
  if (XBar.test(I + 1))
    return fmt::format("xbar_{} is already resident", I + 1);
  const Stage &S = C.Stages[I];
  bool Record = Op.Kind == ChainOpKind::FAll;
  (Record ? XBar : X).set(I + 1);
  Bytes += Record ? S.SavedBytes : S.OutputBytes;
  AfterAdd = Bytes;
  Workspace = S.FwdWorkspace;
  Time += S.FwdTime;
  ++ForwardOps;
  if (Op.Kind != ChainOpKind::FN)
    return std::nullopt;
  // F_n frees the plain x_i when it is resident, else the recorded x̄_i.
  if (X.test(I)) {
    X.reset(I);
    Bytes -= xBytes(I);
  } else {
    XBar.reset(I);
    Bytes -= xBarBytes(I);
  }
  return std::nullopt;
}

std::optional<std::string> ChainState::loss() {
  unsigned L = C.size();
  if (LossDone)
    return std::string("the loss has already run");
  if (!X.test(L) && !XBar.test(L))
    return fmt::format("x_{} is not resident", L);
  LossDone = true;
  Y.set(L);
  // A chain without stages is done once the loss has run: y_L is y_0.
  Y0Produced = L == 0;
  Bytes += xBytes(L);
  AfterAdd = Bytes;
  Workspace = C.Loss.BwdWorkspace;
  Time += C.Loss.BwdTime;
  if (X.test(L)) {
    X.reset(L);
    Bytes -= xBytes(L);
  }
  return std::nullopt;
}

std::optional<std::string> ChainState::backward(unsigned I) {
  if (!XBar.test(I + 1))
    return fmt::format("xbar_{} is not resident", I + 1);
  if (!Y.test(I + 1))
    return fmt::format("y_{} is not resident", I + 1);
  if (Y.test(I))
    return fmt::format("y_{} is already resident", I);
  const Stage &S = C.Stages[I];
  Y.set(I);
  Bytes += xBytes(I);
  AfterAdd = Bytes;
  Workspace = S.BwdWorkspace;
  Time += S.BwdTime;
  if (I == 0)
    Y0Produced = true;
  Y.reset(I + 1);
  XBar.reset(I + 1);
  Bytes -= xBytes(I + 1) + xBarBytes(I + 1);
  if (X.test(I)) {
    X.reset(I);
    Bytes -= xBytes(I);
  }
  return std::nullopt;
}

std::optional<std::string> ChainState::step(size_t Index, const ChainOp &Op) {
  if (Op.Kind != ChainOpKind::Loss && Op.Layer >= C.size())
    return fmt::format("layer {} is out of range (the chain has {} stages)",
                       Op.Layer, C.size());
  if (Op.isForward())
    return forward(Op);
  if (Op.Kind == ChainOpKind::Loss)
    return loss();
  return backward(Op.Layer);
}

static Error invalid(const std::string &Msg) {
  return make_error<InvalidScheduleError>(Msg);
}

Expected<SimResult> simulateChain(const Chain &C, ArrayRef<ChainOp> Ops,
                                  const SimOptions &Opts) {
  SimResult R;
  ChainState St(C);
  R.PeakBytes = St.Bytes;
  if (Opts.RecordTimeline)
    R.Timeline.reserve(Ops.size());
  for (size_t Index = 0; Index < Ops.size(); ++Index) {
    if (auto Msg = St.step(Index, Ops[Index]))
      return invalid(opLabel(Index, Ops[Index]) + ": " + *Msg);
    uint64_t Peak = St.AfterAdd + St.Workspace;
    if (Peak > R.PeakBytes) {
      R.PeakBytes = Peak;
      R.PeakOpIndex = Index;
    }
    if (Opts.RecordTimeline)
      R.Timeline.push_back({St.AfterAdd, Peak, St.Bytes, St.Time});
  }
  if (Opts.RequireComplete && !St.Y0Produced)
    return invalid("schedule is incomplete: y_0 was never produced");
  R.Time = St.Time;
  R.ForwardOps = St.ForwardOps;
  R.ForwardRecomputations =
      St.ForwardOps > C.size() ? St.ForwardOps - C.size() : 0;
  return R;
}

static std::string graphOpLabel(size_t Index, const GraphOp &Op,
                                const Graph &G) {
  return fmt::format("op {} ({} {})", Index,
                     Op.Kind == GraphOpKind::Compute ? "compute" : "free",
                     G.Nodes[Op.Node].Name);
}

/// Checks op \p Op against the resident set; returns the error text.
static std::optional<std::string>
checkGraphOp(const Graph &G, const BitVector &Resident, const GraphOp &Op) {
  const Node &N = G.Nodes[Op.Node];
  if (Op.Kind == GraphOpKind::Free) {
    if (!Resident.test(Op.Node))
      return N.Name + " is not resident";
    return std::nullopt;
  }
  if (Resident.test(Op.Node))
    return N.Name + " is already resident";
  for (unsigned In : N.Inputs)
    if (!Resident.test(In))
      return G.Nodes[In].Name + " is not resident";
  return std::nullopt;
}

Expected<SimResult> simulateGraph(const Graph &G, ArrayRef<GraphOp> Ops,
                                  const SimOptions &Opts) {
  SimResult R;
  R.PeakBytes = 0;
  BitVector Resident(G.size()), Computed(G.size());
  uint64_t Bytes = 0;
  double Time = 0;
  if (Opts.RecordTimeline)
    R.Timeline.reserve(Ops.size());
  for (size_t Index = 0; Index < Ops.size(); ++Index) {
    const GraphOp &Op = Ops[Index];
    if (Op.Node >= G.size())
      return invalid(fmt::format("op {}: node id {} is out of range (the "
                                 "graph has {} nodes)",
                                 Index, Op.Node, G.size()));
    if (auto Msg = checkGraphOp(G, Resident, Op))
      return invalid(graphOpLabel(Index, Op, G) + ": " + *Msg);
    const Node &N = G.Nodes[Op.Node];
    uint64_t AfterAdd = Bytes, Peak = Bytes;
    if (Op.Kind == GraphOpKind::Compute) {
      Resident.set(Op.Node);
      Computed.set(Op.Node);
      Bytes += N.Bytes;
      AfterAdd = Bytes;
      Peak = Bytes + N.Workspace;
      Time += N.Time;
      if (N.NodePhase == Phase::Forward)
        ++R.ForwardOps;
    } else {
      Resident.reset(Op.Node);
      Bytes -= N.Bytes;
    }
    if (Peak > R.PeakBytes) {
      R.PeakBytes = Peak;
      R.PeakOpIndex = Index;
    }
    if (Opts.RecordTimeline)
      R.Timeline.push_back({AfterAdd, Peak, Bytes, Time});
  }
  if (Opts.RequireComplete && !Computed.all()) {
    unsigned Missing = Computed.find_first_unset();
    return invalid("schedule is incomplete: node " + G.Nodes[Missing].Name +
                   " was never computed");
  }
  uint64_t ForwardNodes = 0;
  for (const Node &N : G.Nodes)
    ForwardNodes += N.NodePhase == Phase::Forward;
  R.Time = Time;
  R.ForwardRecomputations =
      R.ForwardOps > ForwardNodes ? R.ForwardOps - ForwardNodes : 0;
  return R;
}

Expected<SimResult> simulate(const Model &M, const Schedule &S,
                             const SimOptions &Opts) {
  if (S.Kind == Dialect::Graph)
    return simulateGraph(M.G, S.GraphOps, Opts);
  if (!M.isChain())
    return badInput(
        "the schedule uses the chain dialect but model {} is a graph", M.Path);
  return simulateChain(*M.AsChain, S.ChainOps, Opts);
}

Expected<Prediction> predict(const Model &M, Dialect D, const SimResult &Plan) {
  if (D == Dialect::Chain && !M.isChain())
    return badInput("a chain plan has no baseline on graph model {}", M.Path);
  Expected<SimResult> Base =
      D == Dialect::Chain ? simulateChain(*M.AsChain, storeAllOps(*M.AsChain))
                          : simulateGraph(M.G, storeAllGraphOps(M.G));
  if (!Base)
    return Base.takeError();
  Prediction P;
  P.PeakBytes = Plan.PeakBytes;
  P.Time = Plan.Time;
  P.BaselineTime = Base->Time;
  P.BaselinePeakBytes = Base->PeakBytes;
  P.Overhead = Base->Time > 0 ? Plan.Time / Base->Time - 1 : 0;
  P.ForwardRecomputations = Plan.ForwardRecomputations;
  return P;
}

Expected<Prediction> predict(const Model &M, const Schedule &S) {
  auto R = simulate(M, S);
  if (!R)
    return R.takeError();
  return predict(M, S.Kind, *R);
}

/// Fills everything but the ops from the plan's run, in dialect \p D.
static Expected<Schedule> finish(const Model &M, StringRef Strategy,
                                 std::optional<uint64_t> Budget, Dialect D,
                                 Expected<SimResult> Plan) {
  if (!Plan)
    return badInput("internal error: strategy '{}' produced an invalid "
                    "schedule: {}",
                    Strategy.str(), toString(Plan.takeError()));
  auto P = predict(M, D, *Plan);
  if (!P)
    return P.takeError();
  if (Budget && Plan->PeakBytes > *Budget)
    return badInput(
        "internal error: strategy '{}' produced a plan with peak {} bytes "
        "over its budget of {} bytes",
        Strategy.str(), Plan->PeakBytes, *Budget);
  Schedule S;
  S.ModelName = M.Name;
  S.ModelSha256 = M.Sha256;
  S.Strategy = Strategy.str();
  S.BudgetBytes = Budget;
  S.Predicted = *P;
  return S;
}

Expected<Schedule> finalizeChainSchedule(const Model &M, StringRef Strategy,
                                         std::optional<uint64_t> BudgetBytes,
                                         std::vector<ChainOp> Ops) {
  if (!M.isChain())
    return badInput("strategy '{}' made chain ops for graph model {}",
                    Strategy.str(), M.Path);
  const Chain &C = *M.AsChain;
  auto S =
      finish(M, Strategy, BudgetBytes, Dialect::Chain, simulateChain(C, Ops));
  if (!S)
    return S.takeError();
  S->Kind = Dialect::Chain;
  S->ChainOps = std::move(Ops);
  for (const Stage &St : C.Stages)
    S->Names.push_back(St.Name);
  return S;
}

Expected<Schedule> finalizeGraphSchedule(const Model &M, StringRef Strategy,
                                         std::optional<uint64_t> BudgetBytes,
                                         std::vector<GraphOp> Ops) {
  auto S =
      finish(M, Strategy, BudgetBytes, Dialect::Graph, simulateGraph(M.G, Ops));
  if (!S)
    return S.takeError();
  S->Kind = Dialect::Graph;
  S->GraphOps = std::move(Ops);
  for (const Node &N : M.G.Nodes)
    S->Names.push_back(N.Name);
  return S;
}

} // namespace remat

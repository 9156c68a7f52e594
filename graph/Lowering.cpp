//===- graph/Lowering.cpp - Between chains and graphs ---------------------===//
//
// The rules here are documented, with their reasons, in docs/model-format.md
// ("Chains as graphs" and "Derived backward").
//
//===----------------------------------------------------------------------===//

#include "graph/Lowering.h"
#include "graph/Errors.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

using namespace llvm;

namespace remat {

Graph lowerChain(const Chain &C) {
  Graph G;
  unsigned L = C.size();
  // Forward: x0, then each stage and, when it records more than its output,
  // the extra saved tensor.
  unsigned Prev = G.add("x0", Phase::Forward, 0, C.InputBytes, {});
  std::vector<unsigned> StageId(L), SavedId(L, ~0u);
  for (unsigned I = 0; I != L; ++I) {
    const Stage &S = C.Stages[I];
    StageId[I] = G.add(S.Name, Phase::Forward, S.FwdTime, S.OutputBytes, {Prev},
                       S.FwdWorkspace, S.Kind);
    if (S.SavedBytes > S.OutputBytes)
      SavedId[I] = G.add(S.Name + ".saved", Phase::Forward, 0,
                         S.SavedBytes - S.OutputBytes, {Prev, StageId[I]});
    Prev = StageId[I];
  }
  unsigned Grad = G.add("loss", Phase::Loss, C.Loss.BwdTime,
                        C.activationBytes(L), {Prev}, C.Loss.BwdWorkspace);
  // Backward, last stage first: g.s produces the gradient of the stage's
  // input, so it has the size of x_i.
  // Under a loss that frees its input, the last stage's backward does not
  // read x_L, so x_L may go once the loss has run.
  for (unsigned I = L; I-- != 0;) {
    const Stage &S = C.Stages[I];
    SmallVector<unsigned, 3> Reads{Grad};
    if (I + 1 != L || !C.Loss.FreesInput)
      Reads.push_back(StageId[I]);
    unsigned Id = G.add("g." + S.Name, Phase::Backward, S.BwdTime,
                        C.activationBytes(I), Reads, S.BwdWorkspace);
    if (SavedId[I] != ~0u)
      G.Nodes[Id].Inputs.push_back(SavedId[I]);
    Grad = Id;
  }
  G.finalize();
  return G;
}

namespace {

/// Shape 1: exactly what lowerChain produces, names included.
std::optional<Chain> recogniseLowered(const Graph &G) {
  if (G.size() < 3 || G.Nodes[0].Name != "x0")
    return std::nullopt;
  const Node &X0 = G.Nodes[0];
  if (X0.NodePhase != Phase::Forward || !X0.Inputs.empty() || X0.Time != 0 ||
      X0.Workspace != 0)
    return std::nullopt;
  Chain C;
  C.InputBytes = X0.Bytes;
  StringMap<unsigned> Ids;
  for (unsigned V = 0, E = G.size(); V != E; ++V)
    Ids.try_emplace(G.Nodes[V].Name, V);
  // Walk the forward spine: each stage reads only the previous one.
  unsigned Cur = 0;
  std::optional<unsigned> LossId;
  while (true) {
    std::optional<unsigned> Next;
    for (unsigned U : G.Users[Cur]) {
      const Node &N = G.Nodes[U];
      if (N.NodePhase == Phase::Loss && N.Inputs.size() == 1)
        LossId = U;
      if (N.NodePhase != Phase::Forward || N.Inputs.size() != 1)
        continue;
      if (Next)
        return std::nullopt;
      Next = U;
    }
    if (!Next)
      break;
    const Node &N = G.Nodes[*Next];
    Stage S;
    S.Name = N.Name;
    S.Kind = N.Kind;
    S.FwdTime = N.Time;
    S.OutputBytes = S.SavedBytes = N.Bytes;
    S.FwdWorkspace = N.Workspace;
    auto Saved = Ids.find(N.Name + ".saved");
    if (Saved != Ids.end())
      S.SavedBytes += G.Nodes[Saved->second].Bytes;
    auto Back = Ids.find("g." + N.Name);
    if (Back == Ids.end())
      return std::nullopt;
    S.BwdTime = G.Nodes[Back->second].Time;
    S.BwdWorkspace = G.Nodes[Back->second].Workspace;
    C.Stages.push_back(std::move(S));
    Cur = *Next;
  }
  if (!LossId || C.Stages.empty() || G.Nodes[*LossId].Inputs[0] != Cur)
    return std::nullopt;
  C.Loss.BwdTime = G.Nodes[*LossId].Time;
  C.Loss.BwdWorkspace = G.Nodes[*LossId].Workspace;
  return C;
}

/// Compares two graphs node by node, by name: phase, costs, kind of forward
/// nodes and inputs (as names, in order).
bool sameGraphByName(const Graph &A, const Graph &B) {
  if (A.size() != B.size())
    return false;
  StringMap<unsigned> IdsB;
  for (unsigned V = 0, E = B.size(); V != E; ++V)
    if (!IdsB.try_emplace(B.Nodes[V].Name, V).second)
      return false;
  for (const Node &NA : A.Nodes) {
    auto It = IdsB.find(NA.Name);
    if (It == IdsB.end())
      return false;
    const Node &NB = B.Nodes[It->second];
    if (NA.NodePhase != NB.NodePhase || NA.Time != NB.Time ||
        NA.Bytes != NB.Bytes || NA.Workspace != NB.Workspace ||
        NA.Kind != NB.Kind || NA.Inputs.size() != NB.Inputs.size())
      return false;
    for (unsigned K = 0, E = NA.Inputs.size(); K != E; ++K)
      if (A.Nodes[NA.Inputs[K]].Name != B.Nodes[NB.Inputs[K]].Name)
        return false;
  }
  return true;
}

} // namespace

namespace {

/// Shape 2: a forward path f_0 -> ... -> f_{n-1} (f_0 reads nothing), one
/// loss node reading only f_{n-1}, and backward nodes b_{n-1}, ..., b_0 where
/// b_k reads exactly the previous gradient (b_{k+1}, or the loss) and f_k.
/// Only graphs whose sizes are those the chain semantics assume are
/// accepted: the loss has f_{n-1}'s bytes and b_k has f_{k-1}'s (0 for b_0,
/// the gradient of the uncounted external input x_0). Then the chain view
/// accounts memory exactly as the graph does, so switching to chain
/// strategies never changes what a plan costs.
std::optional<Chain> recognisePath(const Graph &G) {
  std::vector<unsigned> Fwd, Bwd, Loss;
  for (unsigned V = 0, E = G.size(); V != E; ++V) {
    Phase P = G.Nodes[V].NodePhase;
    (P == Phase::Forward ? Fwd : P == Phase::Loss ? Loss : Bwd).push_back(V);
  }
  size_t N = Fwd.size();
  if (N == 0 || Loss.size() != 1 || Bwd.size() != N)
    return std::nullopt;
  // Ids are topological, so the path, if it is one, is Fwd in id order.
  for (size_t K = 0; K != N; ++K) {
    const Node &F = G.Nodes[Fwd[K]];
    bool Ok = K == 0 ? F.Inputs.empty()
                     : F.Inputs.size() == 1 && F.Inputs[0] == Fwd[K - 1];
    if (!Ok)
      return std::nullopt;
  }
  const Node &LossNode = G.Nodes[Loss[0]];
  if (LossNode.Inputs.size() != 1 || LossNode.Inputs[0] != Fwd[N - 1] ||
      LossNode.Bytes != G.Nodes[Fwd[N - 1]].Bytes)
    return std::nullopt;
  Chain C;
  C.Loss.BwdTime = LossNode.Time;
  C.Loss.BwdWorkspace = LossNode.Workspace;
  C.Stages.resize(N);
  unsigned Grad = Loss[0];
  for (size_t K = N; K-- != 0;) {
    // b_k is the one backward node reading the previous gradient.
    std::optional<unsigned> B;
    for (unsigned U : G.Users[Grad])
      if (G.Nodes[U].NodePhase == Phase::Backward) {
        if (B)
          return std::nullopt;
        B = U;
      }
    if (!B)
      return std::nullopt;
    const Node &BN = G.Nodes[*B];
    uint64_t InputBytes = K == 0 ? 0 : G.Nodes[Fwd[K - 1]].Bytes;
    if (BN.Inputs.size() != 2 || !is_contained(BN.Inputs, Fwd[K]) ||
        BN.Bytes != InputBytes)
      return std::nullopt;
    const Node &F = G.Nodes[Fwd[K]];
    Stage &S = C.Stages[K];
    S.Name = F.Name;
    S.Kind = F.Kind;
    S.FwdTime = F.Time;
    S.OutputBytes = S.SavedBytes = F.Bytes;
    S.FwdWorkspace = F.Workspace;
    S.BwdTime = G.Nodes[*B].Time;
    S.BwdWorkspace = G.Nodes[*B].Workspace;
    Grad = *B;
  }
  return C;
}

} // namespace

std::optional<Chain> recogniseChain(const Graph &G) {
  if (std::optional<Chain> C = recogniseLowered(G))
    if (sameGraphByName(lowerChain(*C), G))
      return C;
  return recognisePath(G);
}

Error deriveBackward(Graph &G) {
  std::vector<unsigned> Fwd, Losses;
  StringSet<> Names;
  for (unsigned V = 0, E = G.size(); V != E; ++V) {
    const Node &N = G.Nodes[V];
    Names.insert(N.Name);
    if (N.NodePhase == Phase::Backward)
      return badInput(
          "cannot derive the backward: node \"{}\" is already a backward node",
          N.Name);
    (N.NodePhase == Phase::Forward ? Fwd : Losses).push_back(V);
  }
  G.finalize();
  if (Losses.empty()) {
    // The loss reads every forward sink.
    Node Loss;
    Loss.Name = "loss";
    Loss.NodePhase = Phase::Loss;
    for (unsigned V : Fwd)
      if (G.Users[V].empty()) {
        Loss.Inputs.push_back(V);
        Loss.Bytes += G.Nodes[V].Bytes;
      }
    if (!Names.insert(Loss.Name).second)
      return badInput("cannot derive the backward: a forward node is "
                      "already named \"loss\"");
    G.Nodes.push_back(std::move(Loss));
    G.finalize();
  }
  // Reverse topological order, so each g.v comes after the gradients of v's
  // users: appending keeps the ids topological.
  std::vector<unsigned> GradOf(G.size(), ~0u);
  for (unsigned V : llvm::reverse(Fwd)) {
    const Node &F = G.Nodes[V];
    Node B;
    B.Name = "g." + F.Name;
    B.NodePhase = Phase::Backward;
    B.Time = 2 * F.Time;
    B.Bytes = F.Bytes;
    B.Workspace = F.Workspace;
    for (unsigned U : G.Users[V])
      B.Inputs.push_back(G.Nodes[U].NodePhase == Phase::Loss ? U : GradOf[U]);
    B.Inputs.push_back(V);
    B.Inputs.append(F.Inputs.begin(), F.Inputs.end());
    if (!Names.insert(B.Name).second)
      return badInput(
          "cannot derive the backward: node name \"{}\" is already used",
          B.Name);
    GradOf[V] = G.size();
    G.Nodes.push_back(std::move(B));
  }
  G.finalize();
  return Error::success();
}

} // namespace remat

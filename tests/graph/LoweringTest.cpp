//===- tests/graph/LoweringTest.cpp - Chains as graphs and back -----------===//
//
// lowerChain and deriveBackward are checked node by node against graphs
// written out by hand from the rules in docs/model-format.md;
// recogniseChain by round trips.
//
//===----------------------------------------------------------------------===//

#include "graph/Lowering.h"
#include "graph/ModelLoader.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace remat;

namespace {

Stage stage(std::string Name, double Fwd, double Bwd, uint64_t Out,
            uint64_t Saved, uint64_t FwdWs = 0, uint64_t BwdWs = 0,
            std::string Kind = "") {
  Stage S;
  S.Name = std::move(Name);
  S.Kind = std::move(Kind);
  S.FwdTime = Fwd;
  S.BwdTime = Bwd;
  S.OutputBytes = Out;
  S.SavedBytes = Saved;
  S.FwdWorkspace = FwdWs;
  S.BwdWorkspace = BwdWs;
  return S;
}

/// x0 = 3 bytes; "a" saves 4 bytes beyond its 5-byte output; "b" saves only
/// its output.
Chain twoStages() {
  Chain C;
  C.InputBytes = 3;
  C.Stages.push_back(stage("a", 1, 2, 5, 9, 1, 2, "conv"));
  C.Stages.push_back(stage("b", 3, 4, 7, 7));
  C.Loss.BwdTime = 0.5;
  C.Loss.BwdWorkspace = 6;
  return C;
}

/// Checks node \p V of \p G field by field; \p Inputs as names.
void checkNode(const Graph &G, unsigned V, const std::string &Name, Phase P,
               double Time, uint64_t Bytes, uint64_t Ws,
               const std::vector<std::string> &Inputs) {
  INFO("node " << V << " (" << Name << ")");
  REQUIRE(V < G.size());
  const Node &N = G.Nodes[V];
  CHECK(N.Name == Name);
  CHECK(N.NodePhase == P);
  CHECK(N.Time == Time);
  CHECK(N.Bytes == Bytes);
  CHECK(N.Workspace == Ws);
  std::vector<std::string> Got;
  for (unsigned In : N.Inputs)
    Got.push_back(G.Nodes[In].Name);
  CHECK(Got == Inputs);
}

bool sameChain(const Chain &A, const Chain &B) {
  if (A.InputBytes != B.InputBytes || A.size() != B.size() ||
      A.Loss.BwdTime != B.Loss.BwdTime ||
      A.Loss.BwdWorkspace != B.Loss.BwdWorkspace)
    return false;
  for (unsigned I = 0; I != A.size(); ++I) {
    const Stage &X = A.Stages[I], &Y = B.Stages[I];
    if (X.Name != Y.Name || X.Kind != Y.Kind || X.FwdTime != Y.FwdTime ||
        X.BwdTime != Y.BwdTime || X.OutputBytes != Y.OutputBytes ||
        X.SavedBytes != Y.SavedBytes || X.FwdWorkspace != Y.FwdWorkspace ||
        X.BwdWorkspace != Y.BwdWorkspace)
      return false;
  }
  return true;
}

/// Writes \p G as a graph-form model file, nodes in reverse id order so the
/// loader has to re-sort them.
std::string graphFile(const Graph &G) {
  nlohmann::ordered_json Nodes = nlohmann::ordered_json::array();
  for (unsigned V = G.size(); V-- != 0;) {
    const Node &N = G.Nodes[V];
    nlohmann::ordered_json J;
    J["name"] = N.Name;
    if (!N.Kind.empty())
      J["kind"] = N.Kind;
    J["time"] = N.Time;
    J["bytes"] = N.Bytes;
    J["workspace"] = N.Workspace;
    J["inputs"] = nlohmann::ordered_json::array();
    for (unsigned In : N.Inputs)
      J["inputs"].push_back(G.Nodes[In].Name);
    J["phase"] = phaseName(N.NodePhase).str();
    Nodes.push_back(J);
  }
  nlohmann::ordered_json M = {{"format", "remat-model"},
                              {"version", 1},
                              {"name", "rt"},
                              {"graph", {{"nodes", Nodes}}}};
  return M.dump();
}

} // namespace

TEST_CASE("lowering: two-stage chain node by node") {
  Graph G = lowerChain(twoStages());
  REQUIRE(G.size() == 7);
  using P = Phase;
  checkNode(G, 0, "x0", P::Forward, 0, 3, 0, {});
  checkNode(G, 1, "a", P::Forward, 1, 5, 1, {"x0"});
  // saved 9 - output 5 = 4 extra bytes, recreated from a's input and output.
  checkNode(G, 2, "a.saved", P::Forward, 0, 4, 0, {"x0", "a"});
  checkNode(G, 3, "b", P::Forward, 3, 7, 0, {"a"});
  // The loss produces y_2, the size of x_2 = b's output.
  checkNode(G, 4, "loss", P::Loss, 0.5, 7, 6, {"b"});
  // g.b produces y_1 (|x_1| = 5); g.a produces y_0 (|x_0| = 3).
  checkNode(G, 5, "g.b", P::Backward, 4, 5, 0, {"loss", "b"});
  checkNode(G, 6, "g.a", P::Backward, 2, 3, 2, {"g.b", "a", "a.saved"});
  CHECK(G.Nodes[1].Kind == "conv");
  // Users are filled: x0 is read by a, a.saved.
  CHECK(G.Users[0] == llvm::SmallVector<unsigned, 4>{1, 2});
}

TEST_CASE("lowering: under frees_input the last backward reads no x_L") {
  Chain C = twoStages();
  C.Loss.FreesInput = true;
  Graph G = lowerChain(C);
  REQUIRE(G.size() == 7);
  checkNode(G, 5, "g.b", Phase::Backward, 4, 5, 0, {"loss"});
  checkNode(G, 6, "g.a", Phase::Backward, 2, 3, 2, {"g.b", "a", "a.saved"});
}

TEST_CASE("lowering: recogniseChain inverts lowerChain") {
  Chain C = twoStages();
  std::optional<Chain> Back = recogniseChain(lowerChain(C));
  REQUIRE(Back);
  CHECK(sameChain(C, *Back));

  // Through a graph-form file listed backwards: the loader sorts, finds
  // backward nodes (so derives nothing), and recognises the chain.
  llvm::Expected<Model> M = parseModelText(graphFile(lowerChain(C)), "rt.json");
  REQUIRE(bool(M));
  CHECK(M->FromGraphForm);
  REQUIRE(M->isChain());
  CHECK(sameChain(C, *M->AsChain));
}

TEST_CASE("lowering: a changed cost is no longer the lowered chain") {
  Graph G = lowerChain(twoStages());
  G.Nodes[6].Bytes = 4; // g.a should have |x_0| = 3 bytes
  CHECK_FALSE(recogniseChain(G));
  Graph H = lowerChain(twoStages());
  H.Nodes[2].Inputs = {1}; // a.saved no longer reads x0
  H.finalize();
  CHECK_FALSE(recogniseChain(H));
}

namespace {
/// The diamond a -> {b, c} -> d, forward only, ids in topological order.
Graph diamond() {
  Graph G;
  auto add = [&](std::string Name, double T, uint64_t B, uint64_t Ws,
                 llvm::SmallVector<unsigned, 4> In) {
    Node N;
    N.Name = std::move(Name);
    N.Time = T;
    N.Bytes = B;
    N.Workspace = Ws;
    N.Inputs = std::move(In);
    G.Nodes.push_back(std::move(N));
  };
  add("a", 1, 8, 0, {});
  add("b", 2, 6, 0, {0});
  add("c", 3, 2, 5, {0});
  add("d", 1, 4, 0, {1, 2});
  G.finalize();
  return G;
}
} // namespace

TEST_CASE("lowering: deriveBackward on a diamond, edge by edge") {
  Graph G = diamond();
  REQUIRE_FALSE(bool(deriveBackward(G)));
  REQUIRE(G.size() == 9);
  using P = Phase;
  // The only sink d feeds the new loss: bytes = |d| = 4, time 0.
  checkNode(G, 4, "loss", P::Loss, 0, 4, 0, {"d"});
  // Reverse topological order d, c, b, a. g.v: time 2 x time(v), bytes and
  // workspace of v, inputs = gradients of v's users (or the loss), v, and
  // v's inputs.
  checkNode(G, 5, "g.d", P::Backward, 2, 4, 0, {"loss", "d", "b", "c"});
  checkNode(G, 6, "g.c", P::Backward, 6, 2, 5, {"g.d", "c", "a"});
  checkNode(G, 7, "g.b", P::Backward, 4, 6, 0, {"g.d", "b", "a"});
  // a's users in id order are b, then c.
  checkNode(G, 8, "g.a", P::Backward, 2, 8, 0, {"g.b", "g.c", "a"});
  CHECK(G.Users[0] == llvm::SmallVector<unsigned, 4>{1, 2, 6, 7, 8});
  CHECK_FALSE(recogniseChain(G));
}

TEST_CASE("lowering: deriveBackward with two sinks and with a given loss") {
  Graph G = diamond();
  G.Nodes.pop_back(); // drop d: sinks are b (6 bytes) and c (2 bytes)
  G.finalize();
  REQUIRE_FALSE(bool(deriveBackward(G)));
  checkNode(G, 3, "loss", Phase::Loss, 0, 8, 0, {"b", "c"});

  Graph H = diamond();
  Node L;
  L.Name = "xent";
  L.NodePhase = Phase::Loss;
  L.Time = 0.5;
  L.Bytes = 1;
  L.Inputs = {3};
  H.Nodes.push_back(L);
  H.finalize();
  REQUIRE_FALSE(bool(deriveBackward(H)));
  REQUIRE(H.size() == 9);
  checkNode(H, 5, "g.d", Phase::Backward, 2, 4, 0, {"xent", "d", "b", "c"});

  llvm::Error E = deriveBackward(H);
  REQUIRE(bool(E));
  CHECK(llvm::toString(std::move(E)) ==
        "cannot derive the backward: node \"g.d\" is already a backward node");
}

namespace {
/// Forward path p0 -> p1 -> p2 (times 1, 2, 3; bytes 10, 20, 30).
Graph path3() {
  Graph G;
  for (unsigned I = 0; I != 3; ++I) {
    Node N;
    N.Name = "p" + std::to_string(I);
    N.Time = I + 1;
    N.Bytes = 10 * (I + 1);
    if (I)
      N.Inputs = {I - 1};
    G.Nodes.push_back(N);
  }
  G.finalize();
  return G;
}

Node backwardNode(std::string Name, double Time, uint64_t Bytes,
                  llvm::SmallVector<unsigned, 4> Inputs) {
  Node N;
  N.Name = std::move(Name);
  N.NodePhase = Phase::Backward;
  N.Time = Time;
  N.Bytes = Bytes;
  N.Inputs = std::move(Inputs);
  return N;
}
} // namespace

TEST_CASE("lowering: a path with a chain-sized mirrored backward is a chain") {
  Graph G = path3();
  Node Loss;
  Loss.Name = "loss";
  Loss.NodePhase = Phase::Loss;
  Loss.Bytes = 30; // |x_3|
  Loss.Time = 0.5;
  Loss.Inputs = {2};
  G.Nodes.push_back(Loss);                                // id 3
  G.Nodes.push_back(backwardNode("g.p2", 6, 20, {3, 2})); // |x_2| = 20
  G.Nodes.push_back(backwardNode("g.p1", 4, 10, {4, 1})); // |x_1| = 10
  G.Nodes.push_back(backwardNode("g.p0", 2, 0, {5, 0}));  // |x_0| = 0
  G.finalize();
  std::optional<Chain> C = recogniseChain(G);
  REQUIRE(C);
  // x_0 is the uncounted external input; stage k is p_k with g.p_k's costs.
  CHECK(C->InputBytes == 0);
  REQUIRE(C->size() == 3);
  CHECK(C->Stages[2].Name == "p2");
  CHECK(C->Stages[2].FwdTime == 3);
  CHECK(C->Stages[2].BwdTime == 6);
  CHECK(C->Stages[2].OutputBytes == 30);
  CHECK(C->Stages[2].SavedBytes == 30);
  CHECK(C->Stages[0].BwdTime == 2);
  CHECK(C->Loss.BwdTime == 0.5);

  // A gradient sized otherwise is a different model: it stays a graph.
  Graph H = G;
  H.Nodes[6].Bytes = 10;
  CHECK_FALSE(recogniseChain(H));
  // So is a backward that also reads the stage's input.
  Graph K = G;
  K.Nodes[4].Inputs.push_back(1);
  K.finalize();
  CHECK_FALSE(recogniseChain(K));
}

TEST_CASE("lowering: a path with a derived backward stays a graph") {
  // g.p_k gets p_k's bytes and reads p_{k-1}: not what the chain semantics
  // assume for y_k, so the chain view would change the costs.
  Graph G = path3();
  REQUIRE_FALSE(bool(deriveBackward(G)));
  CHECK_FALSE(recogniseChain(G));
}

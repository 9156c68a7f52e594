//===- models/RandomGraphs.cpp - Seeded training graphs -------------------===//

#include "models/RandomGraphs.h"

#include <algorithm>
#include <random>
#include <string>

namespace remat {

namespace {

/// Uniform integers from a fixed-algorithm engine; std distributions differ
/// between standard libraries, which would make benches irreproducible.
class Rng {
public:
  explicit Rng(uint64_t Seed) : E(Seed) {}
  /// Uniform in [Lo, Hi] (modulo bias is irrelevant at these ranges).
  uint64_t range(uint64_t Lo, uint64_t Hi) { return Lo + E() % (Hi - Lo + 1); }

private:
  std::mt19937_64 E;
};

unsigned addForward(Graph &G, std::string Name, std::string Kind, double Time,
                    uint64_t Bytes, uint64_t Workspace,
                    llvm::ArrayRef<unsigned> Inputs) {
  llvm::SmallVector<unsigned, 4> Distinct;
  for (unsigned In : Inputs)
    if (std::find(Distinct.begin(), Distinct.end(), In) == Distinct.end())
      Distinct.push_back(In);
  return G.add(std::move(Name), Phase::Forward, Time, Bytes, Distinct,
               Workspace, std::move(Kind));
}

uint64_t randomWorkspace(Rng &R) {
  return R.range(0, 1) ? 256 * R.range(1, 8) : 0;
}

} // namespace

Graph addBackward(const Graph &Forward) {
  Graph G = Forward;
  G.finalize();
  unsigned F = Forward.size();
  Node Loss;
  Loss.Name = "loss";
  Loss.Kind = "loss";
  Loss.Time = 1;
  Loss.Bytes = 1024;
  Loss.NodePhase = Phase::Loss;
  for (unsigned V = 0; V != F; ++V)
    if (G.Users[V].empty())
      Loss.Inputs.push_back(V);
  G.Nodes.push_back(std::move(Loss));
  unsigned LossId = F;
  // GradId[v] is known once every user of v (all later ids) has its g-node,
  // so emitting in reverse id order keeps ids topological.
  llvm::SmallVector<unsigned, 0> GradId(F, 0);
  for (unsigned V = F; V-- != 0;) {
    Node Gr;
    Gr.Name = "g." + Forward.Nodes[V].Name;
    Gr.Kind = "grad";
    Gr.Time = 2 * Forward.Nodes[V].Time;
    Gr.Bytes = Forward.Nodes[V].Bytes;
    Gr.Workspace = Forward.Nodes[V].Workspace;
    Gr.NodePhase = Phase::Backward;
    if (G.Users[V].empty())
      Gr.Inputs.push_back(LossId);
    for (unsigned U : G.Users[V])
      Gr.Inputs.push_back(GradId[U]);
    Gr.Inputs.push_back(V);
    for (unsigned In : Forward.Nodes[V].Inputs)
      Gr.Inputs.push_back(In);
    G.Nodes.push_back(std::move(Gr));
    GradId[V] = G.size() - 1;
  }
  G.finalize();
  return G;
}

Graph randomLayeredGraph(uint64_t Seed, unsigned ForwardNodes,
                         unsigned MaxWidth) {
  Rng R(Seed);
  Graph G;
  llvm::SmallVector<unsigned, 8> Prev, Prev2;
  unsigned Layer = 0;
  while (G.size() < ForwardNodes) {
    unsigned Width = static_cast<unsigned>(R.range(1, std::max(1u, MaxWidth)));
    Width = std::min(Width, ForwardNodes - G.size());
    llvm::SmallVector<unsigned, 8> Cur;
    for (unsigned W = 0; W != Width; ++W) {
      llvm::SmallVector<unsigned, 6> Pool(Prev.begin(), Prev.end());
      Pool.append(Prev2.begin(), Prev2.end());
      llvm::SmallVector<unsigned, 3> Inputs;
      unsigned Fan = Pool.empty() ? 0 : static_cast<unsigned>(R.range(1, 3));
      // The first input always comes from the previous layer, so the graph is
      // connected layer to layer.
      for (unsigned K = 0; K != Fan; ++K)
        Inputs.push_back(K == 0 ? Prev[R.range(0, Prev.size() - 1)]
                                : Pool[R.range(0, Pool.size() - 1)]);
      std::string Name = "n" + std::to_string(Layer) + "_" + std::to_string(W);
      Cur.push_back(addForward(G, Name, "op", double(R.range(1, 10)),
                               1024 * R.range(1, 16), randomWorkspace(R),
                               Inputs));
    }
    Prev2 = Prev;
    Prev = Cur;
    ++Layer;
  }
  return addBackward(G);
}

Graph unetLikeGraph(uint64_t Seed, unsigned Depth, unsigned BlocksPerLevel) {
  Rng R(Seed);
  Graph G;
  unsigned B = std::max(1u, BlocksPerLevel);
  llvm::SmallVector<unsigned, 8> EncoderOut;
  unsigned Last = ~0u;
  auto Level = [&](llvm::StringRef Tag, unsigned L, unsigned Shift,
                   unsigned Skip) {
    for (unsigned K = 0; K != B; ++K) {
      llvm::SmallVector<unsigned, 2> In;
      if (Last != ~0u)
        In.push_back(Last);
      if (K == 0 && Skip != ~0u)
        In.push_back(Skip);
      uint64_t Bytes = (64 * 1024 >> Shift) * R.range(1, 2);
      std::string Name =
          Tag.str() + std::to_string(L) + "_" + std::to_string(K);
      Last = addForward(G, Name, Tag.str(),
                        double(R.range(2, 8) << (Depth - Shift)), Bytes,
                        randomWorkspace(R), In);
    }
  };
  for (unsigned L = 0; L != Depth; ++L) {
    Level("enc", L, L, ~0u);
    EncoderOut.push_back(Last);
  }
  Level("mid", Depth, Depth, ~0u);
  for (unsigned L = Depth; L-- != 0;)
    Level("dec", L, L, EncoderOut[L]);
  return addBackward(G);
}

Graph transformerLikeGraph(uint64_t Seed, unsigned Layers) {
  Rng R(Seed);
  Graph G;
  uint64_t H = 8 * 1024;
  unsigned X = addForward(G, "embed", "embed", 2, H, 0, {});
  for (unsigned L = 0; L != Layers; ++L) {
    std::string P = "l" + std::to_string(L) + ".";
    double Jit = double(R.range(0, 2));
    unsigned Ln = addForward(G, P + "ln1", "norm", 1, H, 0, {X});
    unsigned Qkv = addForward(G, P + "qkv", "linear", 6 + Jit, 3 * H, 0, {Ln});
    unsigned Att = addForward(G, P + "attn", "attention", 8 + Jit, H,
                              2 * H * R.range(1, 2), {Qkv});
    unsigned Proj = addForward(G, P + "proj", "linear", 2, H, 0, {Att});
    unsigned Add = addForward(G, P + "add1", "add", 1, H, 0, {X, Proj});
    unsigned Ln2 = addForward(G, P + "ln2", "norm", 1, H, 0, {Add});
    unsigned M1 = addForward(G, P + "mlp1", "linear", 8 + Jit, 4 * H, 0, {Ln2});
    unsigned M2 = addForward(G, P + "mlp2", "linear", 8 + Jit, H, 0, {M1});
    X = addForward(G, P + "add2", "add", 1, H, 0, {Add, M2});
  }
  return addBackward(G);
}

Graph generateGraph(llvm::StringRef Family, uint64_t Seed,
                    unsigned TotalNodes) {
  unsigned Fwd = std::max(2u, (TotalNodes - 1) / 2);
  if (Family == "unet") {
    unsigned Depth = std::min(4u, std::max(1u, (Fwd - 1) / 2));
    return unetLikeGraph(Seed, Depth, std::max(1u, Fwd / (2 * Depth + 1)));
  }
  if (Family == "transformer")
    return transformerLikeGraph(Seed, std::max(1u, (Fwd - 1) / 9));
  return randomLayeredGraph(Seed, Fwd, 3);
}

} // namespace remat

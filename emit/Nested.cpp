//===- emit/Nested.cpp - Chain schedules as nested checkpoints ------------===//
//
// Reads a multi-level chain schedule as a tree of nested checkpointed
// regions, the structure of nested jax.checkpoint calls, and prints that
// code. A region keeps only its input during the forward; in the backward
// its stages run again, recording, with its inner regions again keeping only
// their inputs, and so on down. Rotor's and revolve's persistent schedules
// have this shape (a checkpoint kept at x_m splits [a, b) into [a, m), to be
// recomputed later, and [m, b), solved first).
//
//===----------------------------------------------------------------------===//

#include "emit/EmitInternal.h"

#include <fmt/format.h>

using namespace llvm;
using json = nlohmann::ordered_json;

namespace remat {

namespace {
/// Recursive-descent reader of the op list.
class NestedReader {
public:
  explicit NestedReader(ArrayRef<ChainOp> Ops) : Ops(Ops) {}

  /// Stages [A, B) at one level: their forward, the loss when \p Top, then
  /// their backward in reverse, each region read again one level down.
  std::optional<std::vector<NestedRegion>> level(unsigned A, unsigned B,
                                                 bool Top) {
    auto Items = forward(A, B);
    if (!Items)
      return std::nullopt;
    if (Top && !take(ChainOpKind::Loss, 0))
      return std::nullopt;
    for (auto It = Items->rbegin(); It != Items->rend(); ++It) {
      if (!It->Checkpointed) {
        if (!take(ChainOpKind::B, It->Begin))
          return std::nullopt;
        continue;
      }
      auto Inner = level(It->Begin, It->End, false);
      if (!Inner)
        return std::nullopt;
      It->Children = std::move(*Inner);
    }
    return Items;
  }

  bool atEnd() const { return Pos == Ops.size(); }

private:
  ArrayRef<ChainOp> Ops;
  size_t Pos = 0;

  bool take(ChainOpKind K, unsigned Layer) {
    if (Pos >= Ops.size() || Ops[Pos].Kind != K ||
        (K != ChainOpKind::Loss && Ops[Pos].Layer != Layer))
      return false;
    ++Pos;
    return true;
  }

  /// F_all i is a stored stage; F_ck i followed by F_n i+1, i+2, ... is a
  /// region that keeps x_i. Anything else (an F_n that starts a region
  /// frees the input it would be recomputed from) is not nested.
  std::optional<std::vector<NestedRegion>> forward(unsigned A, unsigned B) {
    std::vector<NestedRegion> Items;
    for (unsigned I = A; I < B;) {
      if (take(ChainOpKind::FAll, I)) {
        Items.push_back({I, I + 1, false, {}});
        ++I;
        continue;
      }
      if (!take(ChainOpKind::FCk, I))
        return std::nullopt;
      unsigned Start = I++;
      while (I < B && take(ChainOpKind::FN, I))
        ++I;
      Items.push_back({Start, I, true, {}});
    }
    return Items;
  }
};

void appendForward(ArrayRef<NestedRegion> Items, std::vector<ChainOp> &Ops) {
  for (const NestedRegion &R : Items) {
    if (!R.Checkpointed) {
      Ops.push_back({ChainOpKind::FAll, R.Begin});
      continue;
    }
    Ops.push_back({ChainOpKind::FCk, R.Begin});
    for (unsigned I = R.Begin + 1; I < R.End; ++I)
      Ops.push_back({ChainOpKind::FN, I});
  }
}

void appendBackward(ArrayRef<NestedRegion> Items, std::vector<ChainOp> &Ops) {
  for (auto It = Items.rbegin(); It != Items.rend(); ++It) {
    if (!It->Checkpointed) {
      Ops.push_back({ChainOpKind::B, It->Begin});
      continue;
    }
    appendForward(It->Children, Ops);
    appendBackward(It->Children, Ops);
  }
}

unsigned depthOf(ArrayRef<NestedRegion> Items) {
  unsigned D = 0;
  for (const NestedRegion &R : Items)
    if (R.Checkpointed)
      D = std::max(D, 1 + depthOf(R.Children));
  return D;
}
} // namespace

std::optional<std::vector<NestedRegion>>
nestedCheckpoints(ArrayRef<ChainOp> Ops, unsigned NumStages) {
  if (NumStages == 0)
    return std::nullopt;
  NestedReader R(Ops);
  auto Top = R.level(0, NumStages, true);
  // The reader accepts exactly the ops nestedOps writes; checking the round
  // trip keeps the two in step.
  if (!Top || !R.atEnd() || ArrayRef<ChainOp>(nestedOps(*Top)) != Ops)
    return std::nullopt;
  return Top;
}

std::vector<ChainOp> nestedOps(ArrayRef<NestedRegion> Top) {
  std::vector<ChainOp> Ops;
  appendForward(Top, Ops);
  Ops.push_back({ChainOpKind::Loss, 0});
  appendBackward(Top, Ops);
  return Ops;
}

unsigned nestedDepth(ArrayRef<NestedRegion> Top) { return depthOf(Top); }

namespace {
std::string fnName(const NestedRegion &R, unsigned Depth) {
  return fmt::format("ckpt{}_{}_{}", Depth, R.Begin, R.End);
}

std::string span(const ChainAnalysis &A, unsigned B, unsigned E) {
  // In comments of the emitted code: names escaped (safeName).
  return E == B + 1 ? safeName(A.Stages[B].Name)
                    : safeName(A.Stages[B].Name) + " .. " +
                          safeName(A.Stages[E - 1].Name);
}

/// The body lines of a sequence: runs of stored stages as one run(b, e),
/// each region as jax.checkpoint of its function.
std::string body(const ChainAnalysis &A, ArrayRef<NestedRegion> Items,
                 unsigned Depth) {
  std::string S;
  for (size_t K = 0; K < Items.size();) {
    const NestedRegion &R = Items[K];
    if (R.Checkpointed) {
      S += fmt::format("    x = jax.checkpoint({})(params, x)"
                       "  # keeps x{}; recomputes {}\n",
                       fnName(R, Depth + 1), R.Begin, span(A, R.Begin, R.End));
      ++K;
      continue;
    }
    size_t E = K;
    while (E < Items.size() && !Items[E].Checkpointed)
      ++E;
    S += fmt::format("    x = run({}, {})(params, x)  # stored: {}\n", R.Begin,
                     Items[E - 1].End, span(A, R.Begin, Items[E - 1].End));
    K = E;
  }
  return S;
}

/// Function definitions of the regions in \p Items, innermost first.
void defineRegions(const ChainAnalysis &A, ArrayRef<NestedRegion> Items,
                   unsigned Depth, std::string &Out) {
  for (const NestedRegion &R : Items) {
    if (!R.Checkpointed)
      continue;
    defineRegions(A, R.Children, Depth + 1, Out);
    Out +=
        fmt::format("def {}(params, x):  # level {}: {}\n",
                    fnName(R, Depth + 1), Depth + 1, span(A, R.Begin, R.End));
    Out += body(A, R.Children, Depth + 1) + "    return x\n\n\n";
  }
}

/// The regions in preorder, each with its level (1 = outermost): a flat
/// list, so that JSON readers with a nesting limit (Python's is about 1000)
/// read any depth.
void regionsJson(ArrayRef<NestedRegion> Items, unsigned Depth, json &Out) {
  for (const NestedRegion &R : Items) {
    if (!R.Checkpointed)
      continue;
    Out.push_back({{"level", Depth + 1}, {"begin", R.Begin}, {"end", R.End}});
    regionsJson(R.Children, Depth + 1, Out);
  }
}
} // namespace

TargetPlan nestedJaxPlan(const ChainAnalysis &A, ArrayRef<NestedRegion> Top) {
  TargetPlan P;
  unsigned Depth = nestedDepth(Top);
  P.Label = fmt::format("nested jax.checkpoint, {} level{}", Depth,
                        Depth == 1 ? "" : "s");
  for (const NestedRegion &R : Top)
    P.Segments.push_back({R.Begin, R.End, R.Checkpointed});
  P.Segments = normalizeSegments(P.Segments);
  json Regions = json::array();
  regionsJson(Top, 0, Regions);
  P.Config = {{"levels", Depth}, {"regions", Regions}};
  std::string S = "# jax 0.10.2\nimport jax\n\n\n"
                  "def run(start, end):  # layers[i](params[i], x): one stage\n"
                  "    def f(params, x):\n        for i in range(start, end):\n"
                  "            x = layers[i](params[i], x)\n        return x\n"
                  "    return f\n\n\n";
  defineRegions(A, Top, 0, S);
  S += "def forward(params, x):\n" + body(A, Top, 0) + "    return x\n";
  // Each level adds a few Python frames while JAX traces the nest.
  if (Depth > 100)
    S += fmt::format("\n# {} levels: raise Python's recursion limit "
                     "(sys.setrecursionlimit) before tracing\n",
                     Depth);
  P.Snippet = std::move(S);
  return P;
}

} // namespace remat

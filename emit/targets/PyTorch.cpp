//===- emit/targets/PyTorch.cpp - PyTorch and remat_torch -----------------===//
//
// remat_torch.apply runs any chain schedule's op list (all levels, RNG state
// replayed), so every chain schedule is exact here; the plain
// torch.utils.checkpoint form and the selective-AC form (emit/Sac.cpp) come
// with it. Graph schedules get the per-node save/recompute list.
//
//===----------------------------------------------------------------------===//

#include "emit/EmitInternal.h"
#include "emit/Trainer.h"

#include <fmt/format.h>

using namespace llvm;
using json = nlohmann::ordered_json;

namespace remat {

/// checkpoint_sequential(functions, N): segments of floor(L/N) stages, the
/// last (remainder) segment not checkpointed. Returns N when \p Segs is that
/// plan for some N >= 2.
static std::optional<unsigned> sequentialSegments(ArrayRef<Segment> Segs,
                                                  unsigned L) {
  // The first segment is checkpointed and has K = floor(L/N) stages; only
  // the N with that floor need checking (not all N up to L: that made
  // emitting a long chain cubic).
  if (Segs.empty() || !Segs[0].Checkpointed || Segs[0].Begin != 0 ||
      Segs[0].End == 0)
    return std::nullopt;
  unsigned First = Segs[0].End;
  for (unsigned N = std::max(2u, L / (First + 1) + 1); N <= L / First; ++N) {
    unsigned K = L / N;
    std::vector<Segment> Want;
    for (unsigned S = 0; S + 1 < N; ++S)
      Want.push_back({S * K, (S + 1) * K, true});
    Want.push_back({(N - 1) * K, L, false});
    if (normalizeSegments(Want) == normalizeSegments(Segs))
      return N;
  }
  return std::nullopt;
}

static std::string torchSnippet(const ChainAnalysis &A, ArrayRef<Segment> Segs,
                                std::optional<unsigned> Seq) {
  std::string S = "# torch 2.15.0\nimport torch\n"
                  "from torch.utils.checkpoint import checkpoint\n\n"
                  "def run(start, end):  # blocks: the model's list of blocks\n"
                  "    def f(x):\n        for block in blocks[start:end]:\n"
                  "            x = block(x)\n        return x\n    return f\n\n"
                  "def forward(x):\n";
  for (const Segment &G : Segs) {
    if (G.Checkpointed)
      S += fmt::format("    x = checkpoint(run({}, {}), x, use_reentrant=False,"
                       " preserve_rng_state=True)  # recomputed: {}\n",
                       G.Begin, G.End, rangeText(A, G));
    else
      S += fmt::format("    x = run({}, {})(x)  # stored: {}\n", G.Begin, G.End,
                       rangeText(A, G));
  }
  S += "    return x\n";
  if (Seq)
    S += fmt::format("\n# the same plan (use_reentrant needs torch >= 2.1 "
                     "here):\n# torch.utils.checkpoint.checkpoint_sequential("
                     "blocks, {}, x, use_reentrant=False)\n",
                     *Seq);
  return S;
}

/// Settings and snippet of a single-level segment plan.
static TargetPlan torchSegmentPlan(const ChainAnalysis &A,
                                   ArrayRef<Segment> Segs) {
  TargetPlan P;
  P.Segments = normalizeSegments(Segs);
  P.Config["segments"] = segmentsJson(A, P.Segments);
  std::optional<unsigned> Seq = sequentialSegments(P.Segments, A.numStages());
  P.Label = Seq ? fmt::format("checkpoint_sequential with {} segments", *Seq)
                : "torch.utils.checkpoint per checkpointed segment";
  P.Config["checkpoint_sequential"] =
      Seq ? json{{"segments", *Seq}} : json(nullptr);
  P.Snippet = torchSnippet(A, P.Segments, Seq);
  return P;
}

static json opsJson(const Schedule &S, const ChainAnalysis &A) {
  json Ops = json::array();
  for (const ChainOp &Op : S.chainOps()) {
    json O = {{"op", chainOpName(Op.Kind).str()}};
    if (Op.Kind != ChainOpKind::Loss) {
      O["layer"] = Op.Layer;
      O["name"] = A.Stages[Op.Layer].Name;
    }
    Ops.push_back(std::move(O));
  }
  return Ops;
}

static json budgetJson(const Schedule &S) {
  return S.BudgetBytes ? json(*S.BudgetBytes) : json(nullptr);
}

static const char *SelectiveNote =
    "selective_ac is this plan as PyTorch >= 2.4 selective activation "
    "checkpointing: a policy_fn that recomputes the ATen ops run inside "
    "recomputed blocks and saves the others (the model names blocks, not "
    "ATen ops); null for multi-level plans, which SAC cannot express";

/// The document remat_torch.apply reads (docs/trainers.md describes it).
static json torchPlanJson(const Schedule &S, const ChainAnalysis &A,
                          const TargetPlan &Plain) {
  json Layers = json::array();
  unsigned Seg = 0;
  for (unsigned I = 0; I < A.numStages(); ++I) {
    // Segments partition [0, L) in order.
    while (Seg + 1 < A.Segments.size() && A.Segments[Seg].End <= I)
      ++Seg;
    Layers.push_back(
        {{"index", I},
         {"name", A.Stages[I].Name},
         {"action", A.Stages[I].recomputed() ? "recomputed" : "stored"},
         {"forward_count", A.Stages[I].ForwardCount},
         {"segment", Seg}});
  }
  json Doc = {{"format", "remat-torch-plan"},
              {"version", 1},
              {"dialect", "chain"},
              {"model", S.ModelName},
              {"model_sha256", S.ModelSha256},
              {"strategy", S.Strategy},
              {"budget_bytes", budgetJson(S)},
              {"num_layers", A.numStages()},
              {"multi_level", A.MultiLevel},
              {"layers", Layers}};
  Doc["segments"] = Plain.Config["segments"];
  Doc["torch_checkpoint"] = A.MultiLevel
                                ? json(nullptr)
                                : json{{"checkpoint_sequential",
                                        Plain.Config["checkpoint_sequential"]},
                                       {"use_reentrant", false},
                                       {"preserve_rng_state", true},
                                       {"code", Plain.Snippet}};
  Doc["selective_ac"] = selectiveAcJson(A);
  Doc["selective_ac_note"] = SelectiveNote;
  Doc["ops"] = opsJson(S, A);
  return Doc;
}

namespace {
class PyTorchTrainer final : public Trainer {
public:
  StringRef name() const override { return "pytorch"; }
  StringRef version() const override { return "torch 2.15.0"; }
  StringRef summary() const override {
    return "a remat-torch-plan JSON document that remat_torch.apply runs "
           "exactly (every level), with the equivalent torch.utils.checkpoint "
           "calls and a selective activation checkpointing policy (torch >= "
           "2.4)";
  }
  bool executesSchedules() const override { return true; }
  bool takesGraphSchedules() const override { return true; }

  std::vector<TargetPlan> candidates(const ChainAnalysis &A,
                                     ArrayRef<std::string>) const override {
    return anySegmentPlans(A);
  }
  TargetPlan render(const ChainAnalysis &A, TargetPlan P) const override {
    return torchSegmentPlan(A, P.Segments);
  }

  bool exactForm(EmitResult &R, const Schedule &S,
                 const ChainAnalysis &A) const override {
    // The executor runs any op list; the plain-checkpoint form is extra.
    R.Exact = true;
    R.Plan = torchSegmentPlan(A, A.Segments);
    R.TorchPlan = torchPlanJson(S, A, R.Plan);
    if (A.MultiLevel)
      R.Plan.Label = "remat_torch.apply runs the op list; the checkpoint "
                     "code is its outer level only";
    return true;
  }

  void addNotes(EmitResult &R, const ChainAnalysis &) const override {
    R.Notes.push_back(
        "remat_torch.apply runs the op list exactly (all levels, RNG state "
        "replayed); torch.utils.checkpoint covers only single-level plans");
  }

  void renderGraph(EmitResult &R, const Schedule &S, const json &Nodes,
                   const json &) const override {
    R.TorchPlan = {{"format", "remat-torch-plan"},
                   {"version", 1},
                   {"dialect", "graph"},
                   {"model", S.ModelName},
                   {"model_sha256", S.ModelSha256},
                   {"strategy", S.Strategy},
                   {"nodes", Nodes}};
    R.Notes.push_back("remat_torch.apply runs chain schedules only");
  }
};
} // namespace

const Trainer &pytorchTrainer() {
  static const PyTorchTrainer T;
  return T;
}

} // namespace remat

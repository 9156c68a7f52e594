//===- emit/Sac.cpp - Selective activation checkpointing form -------------===//
//
// The pytorch target's selective activation checkpointing (SAC) form of a
// single-level chain plan: Python code with a policy_fn for
// torch.utils.checkpoint.create_selective_checkpoint_contexts (PyTorch >=
// 2.4) and the checkpoint calls that use it.
//
// SAC decides per ATen op, but a remat model names blocks (stages), not ATen
// ops, so the policy maps an op to the block it runs in (forward hooks keep a
// stack of running blocks): ops of recomputed blocks are recomputed, all
// others saved. A checkpoint region is a checkpointed segment widened to
// whole transformer layers, so code that checkpoints whole layers (Hugging
// Face, FSDP's apply_activation_checkpointing) can run a plan that splits a
// layer. docs/trainers.md states when the form is exact.
//
//===----------------------------------------------------------------------===//

#include "emit/EmitInternal.h"

#include <fmt/format.h>

using namespace llvm;
using json = nlohmann::ordered_json;

namespace remat {

/// The checkpointed segments of \p A widened to whole transformer layers
/// (when stages group into layers) and merged where they then overlap.
std::vector<Segment> sacRegions(const ChainAnalysis &A) {
  auto Groups = transformerLayers(A);
  std::vector<unsigned> Lo(A.numStages()), Hi(A.numStages());
  for (unsigned I = 0; I < A.numStages(); ++I) {
    Lo[I] = I;
    Hi[I] = I + 1;
  }
  if (Groups)
    for (const LayerGroup &G : *Groups)
      for (unsigned I = G.Begin; I < G.End; ++I) {
        Lo[I] = G.Begin;
        Hi[I] = G.End;
      }
  std::vector<Segment> Out;
  for (const Segment &S : A.Segments) {
    if (!S.Checkpointed)
      continue;
    unsigned B = Lo[S.Begin], E = Hi[S.End - 1];
    if (!Out.empty() && B < Out.back().End)
      Out.back().End = std::max(Out.back().End, E);
    else
      Out.push_back({B, E, true});
  }
  return Out;
}

/// "a" or "a .. b".
static std::string span(const ChainAnalysis &A, unsigned B, unsigned E) {
  // In comments of the emitted code: names escaped (safeName).
  if (E == B + 1)
    return safeName(A.Stages[B].Name);
  return safeName(A.Stages[B].Name) + " .. " + safeName(A.Stages[E - 1].Name);
}

/// Why the regions do not run the plan's recomputation exactly; empty when
/// they do. Non-reentrant checkpointing recomputes a whole region at the
/// first backward use of any of its saved tensors, so a region matches the
/// plan when it holds one checkpointed segment and that segment ends it
/// (stored stages only in front).
static std::string sacInexactness(const ChainAnalysis &A,
                                  ArrayRef<Segment> Regions) {
  // Regions and segments are both in stage order: one pass over each.
  size_t K = 0;
  for (const Segment &R : Regions) {
    unsigned Count = 0;
    const Segment *Last = nullptr;
    for (; K < A.Segments.size() && A.Segments[K].Begin < R.End; ++K)
      if (A.Segments[K].Checkpointed && R.Begin <= A.Segments[K].Begin) {
        ++Count;
        Last = &A.Segments[K];
      }
    if (Count > 1)
      return fmt::format("region {} holds {} checkpointed segments; SAC "
                         "recomputes them together, not one at a time",
                         span(A, R.Begin, R.End), Count);
    if (Last && Last->End != R.End)
      return fmt::format("region {} has stored stages after its recomputed "
                         "ones; SAC recomputes {} during their backward, "
                         "earlier than the plan",
                         span(A, R.Begin, R.End),
                         safeName(A.Stages[Last->Begin].Name));
  }
  return {};
}

static std::string recomputedSet(const std::vector<std::string> &Names) {
  if (Names.empty())
    return "RECOMPUTED = frozenset()  # the plan recomputes no block\n";
  std::string S = "RECOMPUTED = frozenset({  # the plan's recomputed blocks\n";
  for (const std::string &N : Names)
    S += "    " + codeLiteral(json(N)) + ",\n";
  return S + "})\n";
}

static const char *SacPrologue =
    "# Selective activation checkpointing form of a remat plan.\n"
    "# Needs torch >= 2.4 (CheckpointPolicy and\n"
    "# create_selective_checkpoint_contexts); checked on torch 2.15.0.\n"
    "# The plan decides per block, SAC per ATen op: policy_fn looks up the\n"
    "# block an op runs in (call track_blocks first) and recomputes the ops\n"
    "# of recomputed blocks; ops of stored blocks, and ops outside every\n"
    "# block, are saved.\n"
    "import functools\n\n"
    "from torch.utils.checkpoint import (CheckpointPolicy, checkpoint,\n"
    "                                    create_selective_checkpoint_contexts)"
    "\n\n";

static const char *SacPolicy =
    "# ATen ops to save even inside recomputed blocks, e.g.\n"
    "# torch.ops.aten.mm.default. The model file names blocks, not ATen ops,\n"
    "# so the plan gives none.\n"
    "ALWAYS_SAVE = set()\n"
    "_running = []  # names of the blocks running now, innermost last\n\n\n"
    "def _enter(name):\n"
    "    def hook(module, args):\n"
    "        _running.append(name)\n"
    "    return hook\n\n\n"
    "def _leave(module, args, output):\n"
    "    _running.pop()\n\n\n"
    "def track_blocks(named_blocks):\n"
    "    \"\"\"Registers hooks on the chain's (name, module) pairs, in plan "
    "order.\"\"\"\n"
    "    for name, block in named_blocks:\n"
    "        block.register_forward_pre_hook(_enter(name))\n"
    "        block.register_forward_hook(_leave)\n\n\n"
    "def policy_fn(ctx, op, *args, **kwargs):\n"
    "    if op in ALWAYS_SAVE:\n"
    "        return CheckpointPolicy.MUST_SAVE\n"
    "    if _running and _running[-1] in RECOMPUTED:\n"
    "        return CheckpointPolicy.PREFER_RECOMPUTE\n"
    "    return CheckpointPolicy.MUST_SAVE\n\n\n"
    "context_fn = functools.partial(create_selective_checkpoint_contexts, "
    "policy_fn)\n\n\n"
    "def run(start, end):  # blocks: the chain's modules, in plan order\n"
    "    def f(x):\n"
    "        for block in blocks[start:end]:\n"
    "            x = block(x)\n"
    "        return x\n"
    "    return f\n\n\n";

static std::string sacForward(const ChainAnalysis &A,
                              ArrayRef<Segment> Regions) {
  std::string S = "def forward(x):\n";
  unsigned Pos = 0;
  auto Plain = [&](unsigned B, unsigned E) {
    if (B < E)
      S += fmt::format("    x = run({}, {})(x)  # stored: {}\n", B, E,
                       span(A, B, E));
  };
  for (const Segment &R : Regions) {
    Plain(Pos, R.Begin);
    S += fmt::format("    x = checkpoint(run({}, {}), x, use_reentrant=False,"
                     "\n                   context_fn=context_fn)  # {}\n",
                     R.Begin, R.End, span(A, R.Begin, R.End));
    Pos = R.End;
  }
  Plain(Pos, A.numStages());
  return S + "    return x\n";
}

/// Whether each region is exactly one transformer layer: then layer-level
/// checkpointing (Hugging Face's) runs the regions.
static bool regionsAreLayers(const ChainAnalysis &A,
                             ArrayRef<Segment> Regions) {
  auto Groups = transformerLayers(A);
  if (!Groups || Regions.empty())
    return false;
  size_t G = 0;
  for (const Segment &R : Regions) {
    while (G < Groups->size() && (*Groups)[G].Begin < R.Begin)
      ++G;
    if (G == Groups->size() || (*Groups)[G].Begin != R.Begin ||
        (*Groups)[G].End != R.End)
      return false;
  }
  return true;
}

json selectiveAcJson(const ChainAnalysis &A) {
  if (A.MultiLevel)
    return nullptr;
  std::vector<Segment> Regions = sacRegions(A);
  std::vector<std::string> Rec;
  for (const StageDecision &D : A.Stages)
    if (D.recomputed())
      Rec.push_back(D.Name);
  json Reg = json::array();
  for (const Segment &R : Regions) {
    json Names = json::array();
    for (unsigned I = R.Begin; I < R.End; ++I)
      Names.push_back(A.Stages[I].Name);
    Reg.push_back({{"begin", R.Begin}, {"end", R.End}, {"layers", Names}});
  }
  std::string Why = sacInexactness(A, Regions);
  std::string Code = SacPrologue;
  Code += recomputedSet(Rec);
  Code += SacPolicy + sacForward(A, Regions);
  if (regionsAreLayers(A, Regions))
    Code += "\n# Regions are whole transformer layers, so a trainer that "
            "checkpoints layers\n# can use context_fn too, e.g. Hugging Face "
            "(checkpoint the layers of the\n# regions above):\n"
            "# model.activation_checkpointing_enable("
            "activation_checkpointing_kwargs={\n#     \"use_reentrant\": "
            "False, \"context_fn\": context_fn})  # transformers 5.25.0\n";
  return {{"torch_min_version", "2.4"},
          {"exact", Why.empty()},
          {"not_exact_reason", Why.empty() ? json(nullptr) : json(Why)},
          {"recomputed_layers", Rec},
          {"regions", Reg},
          {"code", Code}};
}

} // namespace remat

//===- planner/EmitAnalysis.cpp - Schedules read as stage decisions -------===//
//
// Reduces a chain schedule to per-stage decisions, matches them against a
// target's family of expressible plans, and picks the nearest plan when none
// matches. The dispatcher emitSchedule lives here too.
//
//===----------------------------------------------------------------------===//

#include "planner/Emit.h"

#include "planner/ChainStrategies.h"
#include "planner/Errors.h"
#include "planner/Simulator.h"

#include <fmt/format.h>

using namespace llvm;

namespace remat {

/// The length of the UTF-8 sequence at \p S[I] when it is a code point that
/// safeName escapes (C1 controls, U+200E, U+200F, U+2028 to U+202E, U+2066
/// to U+2069), with the code point; else 0.
static unsigned escapedCodePoint(StringRef S, size_t I, unsigned &Code) {
  unsigned char C = S[I];
  if (C == 0xC2 && I + 1 < S.size()) {
    Code = 0x80 | ((unsigned char)S[I + 1] & 0x3f);
    return Code <= 0x9f ? 2 : 0;
  }
  if (C == 0xE2 && I + 2 < S.size()) {
    Code = 0x2000 | (((unsigned char)S[I + 1] & 0x3f) << 6) |
           ((unsigned char)S[I + 2] & 0x3f);
    bool Esc = Code == 0x200E || Code == 0x200F ||
               (Code >= 0x2028 && Code <= 0x202E) ||
               (Code >= 0x2066 && Code <= 0x2069);
    return Esc ? 3 : 0;
  }
  return 0;
}

std::string codeLiteral(const nlohmann::ordered_json &V) {
  // Outside strings a dump is ASCII without DEL, so every byte changed
  // here is inside a string literal.
  std::string D = V.dump(), Out;
  for (size_t I = 0; I < D.size(); ++I) {
    unsigned Code = 0;
    if (D[I] == 0x7f) {
      Out += "\\u007f";
    } else if (unsigned Len = escapedCodePoint(D, I, Code)) {
      Out += fmt::format("\\u{:04x}", Code);
      I += Len - 1;
    } else {
      Out += D[I];
    }
  }
  return Out;
}

std::string safeName(StringRef Name) {
  std::string Out;
  for (size_t I = 0; I < Name.size(); ++I) {
    unsigned char C = Name[I];
    if (C == '\\') {
      Out += "\\\\";
      continue;
    }
    if (C < 0x20 || C == 0x7f) {
      Out += C == '\n'   ? std::string("\\n")
             : C == '\r' ? std::string("\\r")
             : C == '\t' ? std::string("\\t")
                         : fmt::format("\\x{:02x}", C);
      continue;
    }
    // Two- and three-byte UTF-8 code points to escape (the input is valid
    // UTF-8: the JSON reader checks it).
    unsigned Code = 0;
    if (unsigned Len = escapedCodePoint(Name, I, Code)) {
      Out += fmt::format("\\u{:04x}", Code);
      I += Len - 1;
      continue;
    }
    Out += char(C);
  }
  return Out;
}

static constexpr std::pair<EmitTarget, const char *> TargetNames[] = {
    {EmitTarget::PyTorch, "pytorch"},
    {EmitTarget::HF, "hf"},
    {EmitTarget::Megatron, "megatron"},
    {EmitTarget::DeepSpeed, "deepspeed"},
    {EmitTarget::TorchTitan, "torchtitan"},
    {EmitTarget::Jax, "jax"},
};

std::optional<EmitTarget> parseEmitTarget(StringRef Name) {
  for (const auto &[T, N] : TargetNames)
    if (Name == N)
      return T;
  return std::nullopt;
}

StringRef emitTargetName(EmitTarget T) {
  for (const auto &[Target, N] : TargetNames)
    if (Target == T)
      return N;
  return "?";
}

StringRef emitTargetVersion(EmitTarget T) {
  switch (T) {
  case EmitTarget::PyTorch:
    return "torch 2.15.0";
  case EmitTarget::HF:
    return "transformers 5.25.0";
  case EmitTarget::Megatron:
    return "megatron-core 0.16.1";
  case EmitTarget::DeepSpeed:
    return "deepspeed 0.19.8";
  case EmitTarget::TorchTitan:
    return "torchtitan 0.3.0";
  case EmitTarget::Jax:
    return "jax 0.10.2";
  }
  return "?";
}

std::string emitTargetList() {
  std::string S;
  for (const auto &[T, N] : TargetNames)
    S += S.empty() ? std::string(N) : std::string(", ") + N;
  return S;
}

static Error opError(size_t Index, const ChainOp &Op, const std::string &What) {
  std::string OpText =
      Op.Kind == ChainOpKind::Loss
          ? std::string("loss")
          : fmt::format("{} layer {}", chainOpName(Op.Kind).str(), Op.Layer);
  return make_error<InvalidScheduleError>(
      fmt::format("op {} ({}): {}", Index, OpText, What));
}

namespace {
/// Residency of x_i (plain) and x̄_i while replaying the ops.
struct Residency {
  std::vector<bool> Plain, Bar;
};

/// What one replay of the ops learns about each stage.
struct OpsReading {
  std::vector<unsigned> Count;
  /// Forward ops per stage before / after the loss.
  std::vector<std::vector<ChainOpKind>> Pre, Post;
  Residency AtLoss;
};
} // namespace

static Expected<OpsReading> readOps(ArrayRef<ChainOp> Ops, unsigned L) {
  OpsReading R;
  R.Count.assign(L, 0);
  R.Pre.resize(L);
  R.Post.resize(L);
  Residency Res{std::vector<bool>(L + 1, false),
                std::vector<bool>(L + 1, false)};
  Res.Plain[0] = true;
  bool LossSeen = false;
  for (size_t K = 0; K < Ops.size(); ++K) {
    const ChainOp &Op = Ops[K];
    if (Op.Kind == ChainOpKind::Loss) {
      if (!Res.Plain[L] && !Res.Bar[L])
        return opError(K, Op, fmt::format("x_{} is not resident", L));
      R.AtLoss = Res;
      Res.Plain[L] = false;
      LossSeen = true;
      continue;
    }
    unsigned I = Op.Layer;
    if (I >= L)
      return opError(K, Op,
                     fmt::format("layer is out of range (the chain "
                                 "has {} stages)",
                                 L));
    if (Op.Kind == ChainOpKind::B) {
      if (!LossSeen || !Res.Bar[I + 1])
        return opError(K, Op, fmt::format("x̄_{} is not resident", I + 1));
      Res.Bar[I + 1] = false;
      Res.Plain[I] = false;
      continue;
    }
    if (!Res.Plain[I] && !Res.Bar[I])
      return opError(K, Op, fmt::format("x_{} is not resident", I));
    ++R.Count[I];
    (LossSeen ? R.Post : R.Pre)[I].push_back(Op.Kind);
    if (Op.Kind == ChainOpKind::FAll) {
      Res.Bar[I + 1] = true;
      continue;
    }
    Res.Plain[I + 1] = true;
    if (Op.Kind == ChainOpKind::FN) {
      if (Res.Plain[I])
        Res.Plain[I] = false;
      else
        Res.Bar[I] = false;
    }
  }
  if (!LossSeen)
    return make_error<InvalidScheduleError>("the schedule has no loss op");
  return R;
}

/// One level: stored stages are a single recording forward before the loss;
/// recomputed ones a plain forward before it and one recording after.
static bool isSingleLevelStage(const OpsReading &R, unsigned I) {
  if (R.Count[I] == 1)
    return R.Pre[I].size() == 1 && R.Pre[I][0] == ChainOpKind::FAll;
  if (R.Count[I] != 2 || R.Pre[I].size() != 1 || R.Post[I].size() != 1)
    return false;
  return R.Pre[I][0] != ChainOpKind::FAll && R.Post[I][0] == ChainOpKind::FAll;
}

Expected<ChainAnalysis> analyzeChainOps(ArrayRef<ChainOp> Ops,
                                        unsigned NumStages,
                                        ArrayRef<std::string> Names) {
  if (NumStages == 0)
    return createStringError(inconvertibleErrorCode(),
                             "the schedule has no stages");
  auto R = readOps(Ops, NumStages);
  if (!R)
    return R.takeError();
  ChainAnalysis A;
  for (unsigned I = 0; I < NumStages; ++I) {
    if (R->Count[I] == 0)
      return createStringError(inconvertibleErrorCode(),
                               "stage %u is never computed", I);
    StageDecision D;
    D.Name = I < Names.size() && !Names[I].empty() ? Names[I]
                                                   : fmt::format("stage{}", I);
    D.ForwardCount = R->Count[I];
    A.Stages.push_back(std::move(D));
    if (!isSingleLevelStage(*R, I))
      A.MultiLevel = true;
  }
  for (unsigned I = 0; I < NumStages; ++I) {
    bool Rec = A.Stages[I].recomputed();
    bool Continues =
        !A.Segments.empty() && A.Segments.back().Checkpointed == Rec;
    if (Rec && (R->AtLoss.Plain[I] || R->AtLoss.Bar[I]))
      Continues = false;
    if (Continues)
      A.Segments.back().End = I + 1;
    else
      A.Segments.push_back({I, I + 1, Rec});
  }
  return A;
}

std::vector<Segment> normalizeSegments(ArrayRef<Segment> Segs) {
  std::vector<Segment> Out;
  for (const Segment &S : Segs) {
    if (!Out.empty() && !S.Checkpointed && !Out.back().Checkpointed &&
        Out.back().End == S.Begin)
      Out.back().End = S.End;
    else
      Out.push_back(S);
  }
  return Out;
}

Expected<PlanCost> segmentPlanCost(const Chain &C, ArrayRef<Segment> Segs) {
  SmallVector<unsigned, 16> Starts;
  SmallVector<bool, 16> Recorded;
  for (const Segment &S : Segs) {
    Starts.push_back(S.Begin);
    Recorded.push_back(!S.Checkpointed);
  }
  std::vector<ChainOp> Ops = segmentOps(C, Starts, Recorded);
  auto Sim = simulateChain(C, Ops);
  if (!Sim)
    return Sim.takeError();
  return PlanCost{Sim->PeakBytes, Sim->Time, Sim->ForwardRecomputations};
}

static std::vector<bool> recomputedFlags(ArrayRef<Segment> Segs, unsigned L) {
  std::vector<bool> F(L, false);
  for (const Segment &S : Segs)
    for (unsigned I = S.Begin; I < S.End && I < L; ++I)
      F[I] = S.Checkpointed;
  return F;
}

namespace {
struct Scored {
  NearestPlan N;
  size_t Order = 0;
};
} // namespace

/// With costs: the fastest plan within the schedule's peak, else the least
/// peak. Without: the fewest differing stages. Ties go to the earlier plan.
static bool better(const Scored &A, const Scored &B) {
  if (A.N.Cost && B.N.Cost) {
    if (A.N.FitsOriginalPeak != B.N.FitsOriginalPeak)
      return A.N.FitsOriginalPeak;
    const PlanCost &X = *A.N.Cost, &Y = *B.N.Cost;
    if (A.N.FitsOriginalPeak && X.Time != Y.Time)
      return X.Time < Y.Time;
    if (!A.N.FitsOriginalPeak && X.PeakBytes != Y.PeakBytes)
      return X.PeakBytes < Y.PeakBytes;
    if (X.Time != Y.Time)
      return X.Time < Y.Time;
  }
  if (A.N.DifferingStages != B.N.DifferingStages)
    return A.N.DifferingStages < B.N.DifferingStages;
  return A.Order < B.Order;
}

static Expected<NearestPlan>
pickNearest(std::vector<TargetPlan> Family, const ChainAnalysis &A,
            const Chain *C, const std::optional<PlanCost> &Original) {
  std::vector<bool> Want(A.numStages());
  for (unsigned I = 0; I < A.numStages(); ++I)
    Want[I] = A.Stages[I].recomputed();
  std::optional<Scored> Best;
  for (size_t K = 0; K < Family.size(); ++K) {
    Scored S;
    S.Order = K;
    std::vector<bool> Got = recomputedFlags(Family[K].Segments, A.numStages());
    for (unsigned I = 0; I < A.numStages(); ++I)
      S.N.DifferingStages += Got[I] != Want[I];
    if (C && Original) {
      auto Cost = segmentPlanCost(*C, Family[K].Segments);
      if (!Cost)
        return Cost.takeError();
      S.N.Cost = *Cost;
      S.N.FitsOriginalPeak = Cost->PeakBytes <= Original->PeakBytes;
    }
    S.N.Plan = std::move(Family[K]);
    if (!Best || better(S, *Best))
      Best = std::move(S);
  }
  if (!Best)
    return createStringError(inconvertibleErrorCode(),
                             "the target has no plan for this chain");
  return std::move(Best->N);
}

static std::vector<std::string> stageKinds(const Model *M, unsigned L) {
  std::vector<std::string> Kinds;
  if (!M || !M->isChain() || M->AsChain->size() != L)
    return Kinds;
  for (const Stage &S : M->AsChain->Stages)
    Kinds.push_back(S.Kind);
  return Kinds;
}

/// The stage count of a chain schedule: the model's, else one past the
/// largest layer index (at least the name table's size). Every stage must
/// be computed at least once, so an index at or above the number of ops
/// cannot be valid; refusing it here keeps a bogus index such as 4000000000
/// from sizing the analysis tables (gigabytes, then minutes of work).
static Expected<unsigned> stagesOf(const Schedule &S, const Model *M) {
  if (M && M->isChain())
    return M->AsChain->size();
  uint64_t L = S.Names.size();
  for (size_t K = 0; K < S.ChainOps.size(); ++K) {
    const ChainOp &Op = S.ChainOps[K];
    if (Op.Kind == ChainOpKind::Loss)
      continue;
    if (Op.Layer >= S.ChainOps.size())
      return opError(K, Op,
                     fmt::format("layer is out of range (a schedule of {} "
                                 "ops computes at most {} stages)",
                                 S.ChainOps.size(), S.ChainOps.size()));
    L = std::max<uint64_t>(L, uint64_t(Op.Layer) + 1);
  }
  return static_cast<unsigned>(L);
}

nlohmann::ordered_json torchPlanJson(const Schedule &S, const ChainAnalysis &A,
                                     const TargetPlan &Plain);
Expected<EmitResult> emitGraphSchedule(const Schedule &S, EmitTarget T,
                                       const Model *M);

/// A transformer layer whose stages are partly recomputed, partly stored;
/// none when every layer agrees or stages do not group.
static std::optional<LayerGroup> splitLayer(const ChainAnalysis &A) {
  auto Groups = transformerLayers(A);
  if (!Groups)
    return std::nullopt;
  for (const LayerGroup &G : *Groups)
    for (unsigned I = G.Begin + 1; I < G.End; ++I)
      if (A.Stages[I].recomputed() != A.Stages[G.Begin].recomputed())
        return G;
  return std::nullopt;
}

static void addChainNotes(EmitResult &R, bool HaveModel,
                          const ChainAnalysis &A) {
  if (R.Target == EmitTarget::PyTorch)
    R.Notes.push_back(
        "remat_torch.apply runs the op list exactly (all levels, RNG state "
        "replayed); torch.utils.checkpoint covers only single-level plans");
  // DeepSpeed's chunks count every stage, not transformer layers.
  bool LayerTarget = R.Target == EmitTarget::HF ||
                     R.Target == EmitTarget::Megatron ||
                     R.Target == EmitTarget::TorchTitan;
  auto Groups = LayerTarget ? transformerLayers(A) : std::nullopt;
  if (Groups)
    R.Notes.push_back(fmt::format(
        "layer counts and indices number the {} transformer layers (stages "
        "named <prefix>.<N>.* grouped, {} .. {}); the {} other stages are "
        "stored",
        Groups->size(), A.Stages[Groups->front().Begin].Name,
        A.Stages[Groups->back().End - 1].Name,
        A.numStages() - (Groups->back().End - Groups->front().Begin)));
  else if (R.Target == EmitTarget::HF || R.Target == EmitTarget::Megatron ||
           R.Target == EmitTarget::TorchTitan)
    R.Notes.push_back(
        "layer indices count the schedule's stages; " +
        emitTargetName(R.Target).str() +
        " numbers transformer layers only, so stages before the first "
        "transformer layer (e.g. an embedding) shift them");
  if (R.Target == EmitTarget::Megatron &&
      R.Plan.Config.contains("recompute_num_layers"))
    R.Notes.push_back("recompute_num_layers counts layers per pipeline "
                      "stage; with pipeline parallelism, plan and emit each "
                      "stage's chain on its own");
  if (R.Target == EmitTarget::HF && splitLayer(A))
    R.Notes.push_back(
        "a split layer can run under layer-level checkpointing with a "
        "selective-checkpointing policy: remat emit --target pytorch gives "
        "it (selective_ac, torch >= 2.4), passed as context_fn in "
        "activation_checkpointing_kwargs");
  if (R.Target == EmitTarget::Jax && R.Exact && A.MultiLevel)
    R.Notes.push_back(
        "nested jax.checkpoint recomputes in the schedule's order (ops "
        "checked against it); XLA chooses buffer lifetimes, so the peak is "
        "the schedule's under remat's accounting, not a promise about XLA");
  if (R.Target == EmitTarget::DeepSpeed)
    R.Notes.push_back(
        "DeepSpeed chunks range(0, len(layers), interval) over every entry "
        "of layers, embedding and head included; with "
        "checkpointable_layers=None it checkpoints the chunks that contain "
        "parameters (remat assumes every stage has), so name the classes; "
        "non_reentrant_checkpoint lets a checkpointed first chunk get its "
        "gradient (DeepSpeed issue #688)");
  if (R.Target == EmitTarget::TorchTitan)
    R.Notes.push_back("torchtitan's SelectiveAC (per-op: saves the outputs "
                      "of compute-intensive ops, recomputes every second "
                      "matmul) and MemoryBudgetAC (the compiler's "
                      "partitioner under activation_memory_budget) do not "
                      "take a layer plan: remat cannot express them");
  if (!R.Exact && !HaveModel)
    R.Notes.push_back("the nearest plan's cost needs the model: pass --model "
                      "MODEL");
}

static std::string notExactReason(EmitTarget T, const ChainAnalysis &A) {
  std::string Name = emitTargetName(T).str();
  if (A.MultiLevel && T == EmitTarget::Jax)
    return "the schedule recomputes at several levels in an order nested "
           "jax.checkpoint does not follow (a region's stages are "
           "recomputed outside its own backward)";
  if (A.MultiLevel)
    return "the schedule recomputes at several levels (some stages run more "
           "than twice); " +
           Name + " checkpoints each segment once";
  if (auto G = splitLayer(A)) {
    std::string Rec, Stored;
    for (unsigned I = G->Begin; I < G->End; ++I) {
      std::string &Out = A.Stages[I].recomputed() ? Rec : Stored;
      Out += (Out.empty() ? "" : ", ") + A.Stages[I].Name;
    }
    return fmt::format(
        "a transformer layer is split: {} recomputed but {} stored; {} {}", Rec,
        Stored, Name,
        T == EmitTarget::Megatron
            ? "checkpoints whole layers, or the same submodules (mlp, moe) in "
              "every layer"
            : "checkpoints whole layers");
  }
  if (T == EmitTarget::TorchTitan)
    return "torchtitan checkpoints every transformer block (FullAC) or none; "
           "its per-op and memory-budget modes take no layer plan";
  return "its stored/recomputed layers and checkpoint boundaries are not in " +
         Name + "'s family of plans";
}

/// Megatron recomputes transformer layers only: a model whose stages do not
/// group into layers (<prefix>.<N>.*) and whose kinds name no transformer
/// part (attention, mlp, transformer, block, layer) is not a transformer
/// stack (resnet-1001: stem, bottleneck, head).
static bool notTransformerStack(const ChainAnalysis &A,
                                ArrayRef<std::string> Kinds) {
  if (Kinds.empty() || transformerLayers(A))
    return false;
  return std::none_of(Kinds.begin(), Kinds.end(), [](const std::string &K) {
    return K == "attention" || K == "mlp" || K == "transformer" ||
           K == "block" || K == "layer";
  });
}

/// torchtitan's MemoryBudgetAC takes a fraction of the store-everything
/// activation memory (1 saves everything, 0 recomputes as much as the
/// compiler can): the schedule's peak over the store-all plan's peak is the
/// nearest value, approximate since the partitioner chooses what to
/// recompute.
static Error addMemoryBudgetNote(EmitResult &R, const Chain &C, unsigned L) {
  auto All = segmentPlanCost(C, {Segment{0, L, false}});
  if (!All)
    return All.takeError();
  if (All->PeakBytes == 0 || !R.OriginalCost)
    return Error::success();
  double F =
      std::min(1.0, double(R.OriginalCost->PeakBytes) / double(All->PeakBytes));
  R.Notes.push_back(fmt::format(
      "approximate, not this plan: activation_checkpoint=MemoryBudgetAC."
      "Config(memory_budget={:.2f}) (torchtitan 0.3.0, needs compile) asks "
      "torch.compile's partitioner for about the schedule's peak relative to "
      "storing everything ({} of {} bytes); the partitioner, not remat, then "
      "chooses what to recompute",
      F, R.OriginalCost->PeakBytes, All->PeakBytes));
  return Error::success();
}

/// \p R for a model that is not a transformer stack: no Megatron plan, no
/// nearest one.
static EmitResult notExpressibleInMegatron(EmitResult R, ChainAnalysis A) {
  R.NotExactReason =
      "the model is not a transformer stack (no stage named "
      "<prefix>.<N>.*, no attention, mlp, transformer, block or layer "
      "kind); Megatron recomputes transformer layers only";
  R.Plan.Label = "not expressible";
  R.Plan.Config = {{"recompute_granularity", nullptr}};
  R.Plan.Snippet = "# megatron-core 0.16.1: not expressible (not a "
                   "transformer stack)\n";
  R.Analysis = std::move(A);
  return R;
}

static Expected<EmitResult> emitChain(const Schedule &S, EmitTarget T,
                                      const Model *M) {
  if (M && !M->isChain())
    return createStringError(inconvertibleErrorCode(),
                             "%s: the schedule is in the chain dialect but the "
                             "model is a graph",
                             M->Path.c_str());
  Expected<unsigned> L = stagesOf(S, M);
  if (!L)
    return L.takeError();
  auto A = analyzeChainOps(S.ChainOps, *L, S.Names);
  if (!A)
    return A.takeError();
  EmitResult R;
  R.Target = T;
  const Chain *C = M ? &*M->AsChain : nullptr;
  if (C) {
    auto Sim = simulateChain(*C, S.ChainOps);
    if (!Sim)
      return Sim.takeError();
    R.OriginalCost =
        PlanCost{Sim->PeakBytes, Sim->Time, Sim->ForwardRecomputations};
  }
  std::vector<std::string> Kinds = stageKinds(M, A->numStages());
  if (T == EmitTarget::Megatron && notTransformerStack(*A, Kinds))
    return notExpressibleInMegatron(std::move(R), std::move(*A));
  // remat_torch runs any schedule: PyTorch needs no family to match.
  std::vector<TargetPlan> Family = T == EmitTarget::PyTorch
                                       ? std::vector<TargetPlan>()
                                       : targetCandidates(T, *A, Kinds);
  for (const TargetPlan &P : Family)
    if (!A->MultiLevel && normalizeSegments(P.Segments) == A->Segments) {
      R.Exact = true;
      R.Plan = renderCandidate(T, *A, P);
      break;
    }
  std::optional<std::vector<NestedRegion>> Nested;
  if (T == EmitTarget::PyTorch) {
    // The executor runs any op list; the plain-checkpoint form is extra.
    R.Exact = true;
    R.Plan = segmentPlanFor(T, *A, A->Segments);
    R.TorchPlan = torchPlanJson(S, *A, R.Plan);
    if (A->MultiLevel)
      R.Plan.Label = "remat_torch.apply runs the op list; the checkpoint "
                     "code is its outer level only";
  } else if (!R.Exact && T == EmitTarget::Jax &&
             (Nested = nestedCheckpoints(S.ChainOps, A->numStages()))) {
    // Multi-level, but in nested order: nested jax.checkpoint runs it.
    R.Exact = true;
    R.Plan = nestedJaxPlan(*A, *Nested);
  } else if (!R.Exact) {
    R.NotExactReason = notExactReason(T, *A);
    auto N = pickNearest(std::move(Family), *A, C, R.OriginalCost);
    if (!N)
      return N.takeError();
    N->Plan = renderCandidate(T, *A, std::move(N->Plan));
    R.Plan = N->Plan;
    R.Nearest = std::move(*N);
  }
  addChainNotes(R, M != nullptr, *A);
  if (T == EmitTarget::TorchTitan && C)
    if (Error E = addMemoryBudgetNote(R, *C, A->numStages()))
      return E;
  R.Analysis = std::move(*A);
  return R;
}

Expected<EmitResult> emitSchedule(const Schedule &S, EmitTarget T,
                                  const Model *M) {
  if (S.Kind == Dialect::Graph)
    return emitGraphSchedule(S, T, M);
  return emitChain(S, T, M);
}

} // namespace remat

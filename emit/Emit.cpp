//===- emit/Emit.cpp - From a schedule to a trainer's form ----------------===//
//
// The pipeline shared by every trainer: read the chain schedule as stage
// decisions, match them against the trainer's family of plans, else let the
// trainer offer an exact form of its own, else pick the nearest plan of the
// family by simulated cost; then the notes. Graph schedules get the
// per-node save/recompute list.
//
//===----------------------------------------------------------------------===//

#include "emit/EmitInternal.h"
#include "emit/Trainer.h"
#include "graph/Errors.h"
#include "planner/Overloaded.h"

#include "planner/Simulator.h"

#include <fmt/format.h>

using namespace llvm;
using json = nlohmann::ordered_json;

namespace remat {

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
    return badInput("the target has no plan for this chain");
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
  const std::vector<ChainOp> &Ops = S.chainOps();
  for (size_t K = 0; K < Ops.size(); ++K) {
    const ChainOp &Op = Ops[K];
    if (Op.Kind == ChainOpKind::Loss)
      continue;
    if (Op.Layer >= Ops.size())
      return chainOpError(K, Op,
                          fmt::format("layer is out of range (a schedule of {} "
                                      "ops computes at most {} stages)",
                                      Ops.size(), Ops.size()));
    L = std::max<uint64_t>(L, uint64_t(Op.Layer) + 1);
  }
  return static_cast<unsigned>(L);
}

/// The shared notes: how stages group into the layers a layer-numbering
/// trainer counts.
static void addLayerNote(EmitResult &R, const ChainAnalysis &A) {
  auto Groups = transformerLayers(A);
  if (Groups)
    R.Notes.push_back(fmt::format(
        "layer counts and indices number the {} transformer layers (stages "
        "named <prefix>.<N>.* grouped, {} .. {}); the {} other stages are "
        "stored",
        Groups->size(), A.Stages[Groups->front().Begin].Name,
        A.Stages[Groups->back().End - 1].Name,
        A.numStages() - (Groups->back().End - Groups->front().Begin)));
  else
    R.Notes.push_back(
        "layer indices count the schedule's stages; " + R.Target->name().str() +
        " numbers transformer layers only, so stages before the first "
        "transformer layer (e.g. an embedding) shift them");
}

static std::string notExactReason(const Trainer &T, const ChainAnalysis &A) {
  if (A.MultiLevel)
    return T.multiLevelReason();
  if (auto G = splitLayer(A)) {
    std::string Rec, Stored;
    for (unsigned I = G->Begin; I < G->End; ++I) {
      std::string &Out = A.Stages[I].recomputed() ? Rec : Stored;
      Out += (Out.empty() ? "" : ", ") + A.Stages[I].Name;
    }
    return fmt::format("a transformer layer is split: {} recomputed but {} "
                       "stored; {} {}",
                       Rec, Stored, T.name().str(), T.splitLayerRule());
  }
  return T.outsideFamilyReason();
}

/// R.Exact and R.Plan: a plan of the family that is the schedule, else the
/// trainer's own exact form, else the nearest plan of the family.
static Error choosePlan(EmitResult &R, const Trainer &T, const Schedule &S,
                        const ChainAnalysis &A, ArrayRef<std::string> Kinds,
                        const Chain *C) {
  std::vector<TargetPlan> Family;
  if (!T.executesSchedules())
    Family = T.candidates(A, Kinds);
  for (const TargetPlan &P : Family)
    if (!A.MultiLevel && normalizeSegments(P.Segments) == A.Segments) {
      R.Exact = true;
      R.Plan = T.render(A, P);
      return Error::success();
    }
  if (T.exactForm(R, S, A))
    return Error::success();
  R.NotExactReason = notExactReason(T, A);
  auto N = pickNearest(std::move(Family), A, C, R.OriginalCost);
  if (!N)
    return N.takeError();
  N->Plan = T.render(A, std::move(N->Plan));
  R.Plan = N->Plan;
  R.Nearest = std::move(*N);
  return Error::success();
}

static Expected<EmitResult> emitChain(const Schedule &S, const Trainer &T,
                                      const Model *M) {
  if (M && !M->isChain())
    return badInput("{}: the schedule is in the chain dialect but the "
                    "model is a graph",
                    M->Path);
  Expected<unsigned> L = stagesOf(S, M);
  if (!L)
    return L.takeError();
  auto A = analyzeChainOps(S.chainOps(), *L, S.Names);
  if (!A)
    return A.takeError();
  EmitResult R;
  R.Target = &T;
  const Chain *C = M ? &*M->AsChain : nullptr;
  if (C) {
    auto Sim = simulateChain(*C, S.chainOps());
    if (!Sim)
      return Sim.takeError();
    R.OriginalCost =
        PlanCost{Sim->PeakBytes, Sim->Time, Sim->ForwardRecomputations};
  }
  std::vector<std::string> Kinds = stageKinds(M, A->numStages());
  if (auto Refusal = T.refuseModel(*A, Kinds)) {
    R.NotExactReason = std::move(Refusal->first);
    R.Plan = std::move(Refusal->second);
    R.Analysis = std::move(*A);
    return R;
  }
  if (Error E = choosePlan(R, T, S, *A, Kinds, C))
    return E;
  if (T.numbersLayers())
    addLayerNote(R, *A);
  T.addNotes(R, *A);
  if (!R.Exact && !M)
    R.Notes.push_back("the nearest plan's cost needs the model: pass --model "
                      "MODEL");
  if (C)
    if (Error E = T.addCostNotes(R, *C, *A))
      return E;
  R.Analysis = std::move(*A);
  return R;
}

static Expected<EmitResult> emitGraph(const Schedule &S, const Trainer &T,
                                      const Model *M) {
  if (!T.takesGraphSchedules())
    return badInput(
        "target '{}' needs a chain schedule, but this schedule is in the "
        "graph dialect; use --target pytorch or --target jax for a per-node "
        "save/recompute list",
        T.name().str());
  std::vector<unsigned> Count(S.Names.size(), 0);
  for (const GraphOp &Op : S.graphOps())
    if (Op.Kind == GraphOpKind::Compute && Op.Node < Count.size())
      ++Count[Op.Node];
  json Nodes = json::array(), Saved = json::array();
  for (size_t N = 0; N < Count.size(); ++N) {
    bool Forward =
        !M || N >= M->G.size() || M->G.Nodes[N].NodePhase == Phase::Forward;
    if (!Forward)
      continue;
    bool Rec = Count[N] > 1;
    Nodes.push_back({{"name", S.Names[N]},
                     {"computations", Count[N]},
                     {"action", Rec ? "recompute" : "save"}});
    if (!Rec)
      Saved.push_back(S.Names[N]);
  }
  EmitResult R;
  R.Target = &T;
  R.NotExactReason = "a graph schedule's op order cannot be handed to the "
                     "trainer; this is the per-node save/recompute decision";
  R.Plan.Label = "per-node save/recompute list";
  R.Plan.Config = {{"dialect", "graph"}, {"nodes", Nodes}};
  R.Notes.push_back(fmt::format("remat's decision: {} forward nodes, {} "
                                "outputs saved, {} recomputed",
                                Nodes.size(), Saved.size(),
                                Nodes.size() - Saved.size()));
  T.renderGraph(R, S, Nodes, Saved);
  if (!M)
    R.Notes.push_back("without --model every node is listed; with it only "
                      "forward-phase nodes are");
  return R;
}

Expected<EmitResult> emitSchedule(const Schedule &S, const Trainer &T,
                                  const Model *M) {
  return std::visit(
      Overloaded{
          [&](const std::vector<GraphOp> &) { return emitGraph(S, T, M); },
          [&](const std::vector<ChainOp> &) { return emitChain(S, T, M); }},
      S.Ops);
}

} // namespace remat

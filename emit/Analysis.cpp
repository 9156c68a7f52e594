//===- emit/Analysis.cpp - Schedules read as stage decisions --------------===//
//
// Reduces a chain schedule to per-stage decisions (analyzeChainOps), the
// escaping of names in emitted code, and the simulated cost of a segment
// plan. emit/Emit.cpp matches the decisions against a trainer's family.
//
//===----------------------------------------------------------------------===//

#include "emit/EmitInternal.h"
#include "graph/Errors.h"

#include "planner/ChainReplay.h"
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

Error chainOpError(size_t Index, const ChainOp &Op, const std::string &What) {
  return make_error<InvalidScheduleError>(chainOpLabel(Index, Op) + ": " +
                                          What);
}

namespace {
/// What one replay of the ops learns about each stage.
struct OpsReading {
  std::vector<unsigned> Count;
  /// Forward ops per stage before / after the loss.
  std::vector<std::vector<ChainOpKind>> Pre, Post;
  /// Whether x_i or x̄_i was resident when the loss ran, i < L.
  std::vector<bool> HeldAtLoss;
};
} // namespace

/// Emit's words for a fault: the simulator's, with x̄ spelled x̄ and an
/// out-of-range layer not repeated.
static std::string faultText(const ChainStep &S, unsigned L) {
  if (S.Fault == ChainFault::LayerOutOfRange)
    return fmt::format("layer is out of range (the chain has {} stages)", L);
  return chainFaultText(S, L, "x̄");
}

/// Replays the ops under spec §3a (planner/ChainReplay.h), recording each
/// stage's forward ops and what the loss found resident. Completeness is
/// not required: emit reads plans that stop after the loss.
static Expected<OpsReading> readOps(ArrayRef<ChainOp> Ops, unsigned L) {
  OpsReading R;
  R.Count.assign(L, 0);
  R.Pre.resize(L);
  R.Post.resize(L);
  ChainReplay Replay(L);
  for (size_t K = 0; K < Ops.size(); ++K) {
    const ChainOp &Op = Ops[K];
    bool LossSeen = Replay.lossDone();
    ChainStep S = Replay.step(Op, [](ChainTensor) {});
    if (!S.ok())
      return chainOpError(K, Op, faultText(S, L));
    if (Op.Kind == ChainOpKind::Loss) {
      // The loss frees only x_L, so stages i < L read as they were.
      R.HeldAtLoss.assign(L, false);
      for (unsigned I = 0; I < L; ++I)
        R.HeldAtLoss[I] = Replay.isResident({ChainTensorKind::X, I}) ||
                          Replay.isResident({ChainTensorKind::XBar, I});
      continue;
    }
    if (!Op.isForward())
      continue;
    ++R.Count[Op.Layer];
    (LossSeen ? R.Post : R.Pre)[Op.Layer].push_back(Op.Kind);
  }
  if (!Replay.lossDone())
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
    return badInput("the schedule has no stages");
  auto R = readOps(Ops, NumStages);
  if (!R)
    return R.takeError();
  ChainAnalysis A;
  for (unsigned I = 0; I < NumStages; ++I) {
    if (R->Count[I] == 0)
      return badInput("stage {} is never computed", I);
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
    if (Rec && R->HeldAtLoss[I])
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

} // namespace remat

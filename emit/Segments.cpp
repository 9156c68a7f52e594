//===- emit/Segments.cpp - Segment plans shared by the trainers -----------===//
//
// Segments from flags and chunks, transformer layers from stage names, and
// the family of any trainer (targetFamily). The trainers' own plans are in
// emit/targets/.
//
//===----------------------------------------------------------------------===//

#include "emit/EmitInternal.h"
#include "emit/Trainer.h"

#include "llvm/ADT/StringExtras.h"

#include <fmt/format.h>

using namespace llvm;
using json = nlohmann::ordered_json;

namespace remat {

std::string rangeText(const ChainAnalysis &A, const Segment &S) {
  // In comments of the emitted code: names escaped (safeName).
  if (S.End == S.Begin + 1)
    return safeName(A.Stages[S.Begin].Name);
  return safeName(A.Stages[S.Begin].Name) + " .. " +
         safeName(A.Stages[S.End - 1].Name);
}

json segmentsJson(const ChainAnalysis &A, ArrayRef<Segment> Segs) {
  json Arr = json::array();
  for (const Segment &S : Segs) {
    json Names = json::array();
    for (unsigned I = S.Begin; I < S.End; ++I)
      Names.push_back(A.Stages[I].Name);
    Arr.push_back({{"begin", S.Begin},
                   {"end", S.End},
                   {"checkpointed", S.Checkpointed},
                   {"layers", Names}});
  }
  return Arr;
}

std::vector<Segment> perStageSegments(const std::vector<bool> &Ckpt) {
  std::vector<Segment> Segs;
  for (unsigned I = 0; I < Ckpt.size(); ++I)
    Segs.push_back({I, I + 1, static_cast<bool>(Ckpt[I])});
  return normalizeSegments(Segs);
}

std::vector<Segment> uniformSegments(unsigned L, unsigned K) {
  return chunkSegments(L, K, [](const Segment &) { return true; });
}

StringRef layerKey(StringRef Name) {
  size_t Pos = 0;
  while ((Pos = Name.find('.', Pos)) != StringRef::npos) {
    size_t End = Pos + 1;
    while (End < Name.size() && isDigit(Name[End]))
      ++End;
    // `<prefix>.<N>.<part>` (h.3.attn) or a whole layer `<prefix>.<N>`
    // (model.layers.3, the module path remat_torch exports).
    if (End > Pos + 1 && (End == Name.size() || Name[End] == '.'))
      return Name.take_front(End);
    Pos = Pos + 1;
  }
  return {};
}

std::optional<std::vector<LayerGroup>>
transformerLayers(const ChainAnalysis &A) {
  std::vector<LayerGroup> Groups;
  StringRef Prev;
  for (unsigned I = 0; I < A.numStages(); ++I) {
    StringRef Key = layerKey(A.Stages[I].Name);
    if (Key.empty()) {
      Prev = {};
      continue;
    }
    if (!Groups.empty() && Key == Prev && Groups.back().End == I)
      Groups.back().End = I + 1;
    else
      Groups.push_back({I, I + 1});
    Prev = Key;
  }
  if (Groups.empty())
    return std::nullopt;
  return Groups;
}

std::vector<Segment> lowerSegments(ArrayRef<LayerGroup> Groups,
                                   unsigned NumStages,
                                   ArrayRef<Segment> LayerSegs) {
  std::vector<Segment> Out;
  unsigned Pos = 0;
  for (const Segment &S : LayerSegs) {
    if (!S.Checkpointed || S.Begin >= S.End)
      continue;
    unsigned B = Groups[S.Begin].Begin, E = Groups[S.End - 1].End;
    if (Pos < B)
      Out.push_back({Pos, B, false});
    Out.push_back({B, E, true});
    Pos = E;
  }
  if (Pos < NumStages)
    Out.push_back({Pos, NumStages, false});
  return normalizeSegments(Out);
}

std::optional<LayerGroup> splitLayer(const ChainAnalysis &A) {
  auto Groups = transformerLayers(A);
  if (!Groups)
    return std::nullopt;
  for (const LayerGroup &G : *Groups)
    for (unsigned I = G.Begin + 1; I < G.End; ++I)
      if (A.Stages[I].recomputed() != A.Stages[G.Begin].recomputed())
        return G;
  return std::nullopt;
}

std::vector<TargetPlan> anySegmentPlans(const ChainAnalysis &A) {
  // Segments only: code for all L candidates took seconds and 250 MB at
  // L = 2000, so the trainer renders only the one chosen.
  unsigned L = A.numStages();
  std::vector<TargetPlan> F{{"", {}, "", normalizeSegments(A.Segments)}};
  for (unsigned K = 1; K <= L; ++K)
    F.push_back({"", {}, "", uniformSegments(L, K)});
  return F;
}

std::vector<TargetPlan> targetFamily(const Trainer &T, const ChainAnalysis &A,
                                     ArrayRef<std::string> Kinds) {
  std::vector<TargetPlan> F = T.candidates(A, Kinds);
  for (TargetPlan &P : F)
    P = T.render(A, std::move(P));
  return F;
}

} // namespace remat

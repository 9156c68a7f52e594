//===- emit/EmitInternal.h - Shared by the emit/ sources ------ -*- C++ -*-===//
//
// Building blocks of the trainers' plan families (emit/targets/*.cpp):
// segments from per-stage flags or chunks, transformer-layer grouping and
// lowering, and the text and JSON forms of segments. Private to emit/.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_EMIT_EMITINTERNAL_H
#define REMAT_EMIT_EMITINTERNAL_H

#include "emit/Emit.h"

namespace remat {

/// "h.2" or "h.2 .. h.4", names escaped for comments (safeName).
std::string rangeText(const ChainAnalysis &A, const Segment &S);

/// Segments as JSON: begin, end, checkpointed and the stage names.
nlohmann::ordered_json segmentsJson(const ChainAnalysis &A,
                                    llvm::ArrayRef<Segment> Segs);

/// Each stage flagged in \p Ckpt is its own checkpointed segment.
std::vector<Segment> perStageSegments(const std::vector<bool> &Ckpt);

/// Chunks of \p K stages (the last may be shorter); \p Ckpt decides each.
template <typename Pred>
std::vector<Segment> chunkSegments(unsigned L, unsigned K, Pred Ckpt) {
  std::vector<Segment> Segs;
  for (unsigned B = 0; B < L; B += K) {
    Segment S{B, std::min(L, B + K), false};
    S.Checkpointed = Ckpt(S);
    Segs.push_back(S);
  }
  return normalizeSegments(Segs);
}

/// Every chunk of \p K stages checkpointed.
std::vector<Segment> uniformSegments(unsigned L, unsigned K);

/// The layer key of a stage name: the text before the first `.<N>.` plus
/// the index ("h.3" for "h.3.attn"); empty when there is none.
llvm::StringRef layerKey(llvm::StringRef Name);

/// \p LayerSegs (over layer indices) as stage segments: a checkpointed run of
/// layers checkpoints its stages from the first group's start to the last
/// group's end; every other stage is stored.
std::vector<Segment> lowerSegments(llvm::ArrayRef<LayerGroup> Groups,
                                   unsigned NumStages,
                                   llvm::ArrayRef<Segment> LayerSegs);

/// A transformer layer whose stages are partly recomputed, partly stored;
/// none when every layer agrees or stages do not group.
std::optional<LayerGroup> splitLayer(const ChainAnalysis &A);

/// An InvalidScheduleError naming op \p Index of a chain schedule.
llvm::Error chainOpError(size_t Index, const ChainOp &Op,
                         const std::string &What);

/// The plans of trainers that take any single-level plan (PyTorch, JAX):
/// the schedule's own outer segments, then every K-th stage checkpointed.
/// Segments only; the trainer renders the one chosen.
std::vector<TargetPlan> anySegmentPlans(const ChainAnalysis &A);

} // namespace remat

#endif // REMAT_EMIT_EMITINTERNAL_H

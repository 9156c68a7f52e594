//===- planner/chain/ChainStrategies.cpp - Classic chain strategies -------===//
//
// store-everything, PyTorch's checkpoint_sequential, every-K, sqrt and
// selective recomputation, all as chain-dialect ops (spec §3a). Chen's
// algorithm lives in planner/chain/Chen.cpp. docs/strategies.md explains each.
//
//===----------------------------------------------------------------------===//

#include "planner/ChainStrategies.h"

#include "graph/Errors.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"

#include <cmath>
#include <string>

using namespace llvm;

namespace remat {

/// Forward of one segment [A, E): recorded, or checkpointed so that only its
/// input (kept by F_ck) and its output x_E stay resident.
static void segmentForward(std::vector<ChainOp> &Ops, unsigned A, unsigned E,
                           bool Recorded) {
  if (Recorded) {
    for (unsigned I = A; I < E; ++I)
      Ops.push_back({ChainOpKind::FAll, I});
    return;
  }
  Ops.push_back({ChainOpKind::FCk, A});
  for (unsigned I = A + 1; I < E; ++I)
    Ops.push_back({ChainOpKind::FN, I});
}

/// Backward of one segment [A, E). A checkpointed segment is first re-run
/// recording from its input; its plain output x_E is gone by then (freed by
/// the B of stage E, or by the loss when E = L), so F_all E-1 is valid.
static void segmentBackward(std::vector<ChainOp> &Ops, unsigned A, unsigned E,
                            bool Recorded) {
  if (!Recorded)
    for (unsigned I = A; I < E; ++I)
      Ops.push_back({ChainOpKind::FAll, I});
  for (unsigned I = E; I-- > A;)
    Ops.push_back({ChainOpKind::B, I});
}

std::vector<ChainOp> segmentOps(const Chain &C, ArrayRef<unsigned> Starts,
                                ArrayRef<bool> Recorded) {
  unsigned L = C.size();
  assert(!Starts.empty() && Starts.front() == 0 &&
         Starts.size() == Recorded.size() && "malformed segments");
  auto End = [&](size_t S) {
    return S + 1 < Starts.size() ? Starts[S + 1] : L;
  };
  std::vector<ChainOp> Ops;
  Ops.reserve(3 * L + 1);
  for (size_t S = 0; S < Starts.size(); ++S)
    segmentForward(Ops, Starts[S], End(S), Recorded[S]);
  Ops.push_back({ChainOpKind::Loss, 0});
  for (size_t S = Starts.size(); S-- > 0;)
    segmentBackward(Ops, Starts[S], End(S), Recorded[S]);
  return Ops;
}

Expected<std::vector<ChainOp>> sequentialOps(const Chain &C,
                                             unsigned Segments) {
  unsigned L = C.size();
  if (Segments == 0)
    return badInput("strategy 'sequential': --segments must be at least 1");
  if (Segments > L)
    return badInput("strategy 'sequential': --segments {} is more than the "
                    "chain's {} stages (PyTorch's checkpoint_sequential fails "
                    "there)",
                    Segments, L);
  // checkpoint_sequential: N-1 checkpointed segments of floor(L/N) stages,
  // then the remainder run plainly.
  unsigned Size = L / Segments;
  SmallVector<unsigned, 16> Starts;
  SmallVector<bool, 16> Recorded;
  for (unsigned S = 0; S + 1 < Segments; ++S) {
    Starts.push_back(S * Size);
    Recorded.push_back(false);
  }
  Starts.push_back((Segments - 1) * Size);
  Recorded.push_back(true);
  return segmentOps(C, Starts, Recorded);
}

/// All-checkpointed segments of \p K stages from stage 0.
static std::vector<ChainOp> everyKOps(const Chain &C, unsigned K) {
  if (C.size() == 0)
    return storeAllOps(C);
  SmallVector<unsigned, 16> Starts;
  for (unsigned S = 0; S < C.size(); S += K)
    Starts.push_back(S);
  SmallVector<bool, 16> Recorded(Starts.size(), false);
  return segmentOps(C, Starts, Recorded);
}

Expected<std::vector<ChainOp>> everyOps(const Chain &C, unsigned K) {
  if (K == 0)
    return badInput("strategy 'every': --k must be at least 1");
  return everyKOps(C, K);
}

std::vector<ChainOp> sqrtOps(const Chain &C) {
  auto K = static_cast<unsigned>(std::ceil(std::sqrt(double(C.size()))));
  // Guard against floating-point error on perfect squares.
  while (K > 1 && (K - 1) * (K - 1) >= C.size())
    --K;
  while (K * K < C.size())
    ++K;
  return everyKOps(C, std::max(K, 1u));
}

/// "a, b, c": the distinct non-empty kinds of \p C in order of appearance.
static std::string kindList(const Chain &C) {
  std::string List;
  StringSet<> Seen;
  for (const Stage &S : C.Stages) {
    if (S.Kind.empty() || !Seen.insert(S.Kind).second)
      continue;
    List += (List.empty() ? "" : ", ") + S.Kind;
  }
  return List.empty() ? "none (no stage has a kind)" : List;
}

Expected<std::vector<ChainOp>> selectiveOps(const Chain &C,
                                            ArrayRef<std::string> Kinds) {
  if (Kinds.empty())
    return badInput("strategy 'selective' needs at least one kind");
  StringSet<> Wanted;
  for (const std::string &K : Kinds) {
    if (none_of(C.Stages, [&](const Stage &S) { return S.Kind == K; }))
      return badInput("strategy 'selective': the model has no stage of kind "
                      "'{}' (its kinds: {})",
                      K, kindList(C));
    Wanted.insert(K);
  }
  unsigned L = C.size();
  std::vector<ChainOp> Ops;
  Ops.reserve(3 * L + 1);
  // Selected stages keep only their plain output in the forward (F_ck keeps
  // the input for the recomputation) and are re-run recording right before
  // their B, when the B of the next stage (or the loss) has freed that
  // plain output.
  for (unsigned I = 0; I < L; ++I)
    Ops.push_back({Wanted.contains(C.Stages[I].Kind) ? ChainOpKind::FCk
                                                     : ChainOpKind::FAll,
                   I});
  Ops.push_back({ChainOpKind::Loss, 0});
  for (unsigned I = L; I-- > 0;) {
    if (Wanted.contains(C.Stages[I].Kind))
      Ops.push_back({ChainOpKind::FAll, I});
    Ops.push_back({ChainOpKind::B, I});
  }
  return Ops;
}

} // namespace remat

//===- planner/chain/Revolve.cpp - Binomial checkpointing -----------------===//
//
// Griewank & Walther, "Algorithm 799: Revolve", ACM TOMS 26(1), 2000, in the
// chain dialect of spec §3a.
//
// Revolve's actions map onto chain ops as follows:
//   takeshot + advance(m)  -> F_ck on the checkpoint's stage (the checkpoint
//                             stays), then F_n for the remaining m-1 stages;
//                             the activation reached is the next checkpoint.
//   firsturn / youturn     -> F_all on the stage being reversed, then B
//                             (with the loss between them for the last stage).
//   restore                -> nothing: the checkpoint is still resident, and
//                             the next advance starts with F_ck from it.
// Each stage is recorded (F_all) exactly once, just before its B, so the
// taped steps are the L forward ops that Griewank's count t(L,S) leaves out:
// the schedule has exactly t(L,S) + L forward ops. Checkpoints are the plain
// x_i kept by an F_ck; x_0 is one of them, so S = 1 means everything is
// recomputed from x_0.
//
//===----------------------------------------------------------------------===//

#include "planner/Revolve.h"
#include "graph/Errors.h"

#include "llvm/ADT/SmallVector.h"

#include <limits>

using namespace llvm;

namespace remat {

namespace {

constexpr uint64_t Saturated = std::numeric_limits<uint64_t>::max() / 4;

/// beta(S, R) = C(S + R, S), saturated at `Saturated`.
uint64_t beta(uint64_t S, uint64_t R) {
  unsigned __int128 B = 1;
  for (uint64_t K = 1; K <= R; ++K) {
    B = B * (S + K) / K; // exact: B * (S+K) is divisible by K at each step
    if (B >= Saturated)
      return Saturated;
  }
  return static_cast<uint64_t>(B);
}

/// The repetition number: the least R with beta(S, R) >= N.
uint64_t repetitions(uint64_t N, uint64_t S) {
  uint64_t R = 0;
  unsigned __int128 B = 1;
  while (B < N) {
    ++R;
    B = B * (S + R) / R;
  }
  return R;
}

/// The first advance for reversing N >= 2 steps with S >= 2 slots. The total
/// forward cost of splitting at M, M + t(N-M, S-1) + t(M, S), is convex in M
/// with forward difference 1 + r(M+1, S) - r(N-M, S-1) (the slope of t(., S)
/// between M and M+1 is r(M+1, S)), so the least M where that difference is
/// non-negative minimises it. The difference is non-decreasing in M:
/// binary search.
uint64_t firstAdvance(uint64_t N, uint64_t S) {
  uint64_t Lo = 1, Hi = N - 1;
  while (Lo < Hi) {
    uint64_t Mid = Lo + (Hi - Lo) / 2;
    if (1 + repetitions(Mid + 1, S) >= repetitions(N - Mid, S - 1))
      Hi = Mid;
    else
      Lo = Mid + 1;
  }
  return Lo;
}

/// Reversal of stages [First, Last] with x_First stored and `Slots` slots.
struct Task {
  unsigned First;
  unsigned Last;
  uint64_t Slots;
  bool HasLoss;
};

/// Advance from the checkpoint x_From to x_To (To > From), keeping x_From.
void advance(std::vector<ChainOp> &Ops, unsigned From, unsigned To) {
  Ops.push_back({ChainOpKind::FCk, From});
  for (unsigned K = From + 1; K < To; ++K)
    Ops.push_back({ChainOpKind::FN, K});
}

/// Record stage I and reverse it (youturn).
void turn(std::vector<ChainOp> &Ops, unsigned I, bool WithLoss) {
  Ops.push_back({ChainOpKind::FAll, I});
  if (WithLoss)
    Ops.push_back({ChainOpKind::Loss, 0});
  Ops.push_back({ChainOpKind::B, I});
}

} // namespace

uint64_t revolveRecomputations(uint64_t L, uint64_t S) {
  if (L == 0 || S == 0)
    return 0;
  uint64_t R = repetitions(L, S);
  if (R == 0)
    return 0;
  // t = R*L - C(S+R, S+1) = R*L - beta(S+1, R-1).
  return R * L - beta(S + 1, R - 1);
}

uint64_t revolveOpCount(uint64_t L, uint64_t S) {
  if (L == 0)
    return 1;
  unsigned __int128 N = (unsigned __int128)revolveRecomputations(L, S) +
                        2 * (unsigned __int128)L + 1;
  return N > Saturated ? Saturated : uint64_t(N);
}

/// The refusal when \p Slots gives more than \p MaxOps ops on \p L stages.
static Error tooManyOps(uint64_t L, unsigned Slots, uint64_t MaxOps) {
  // The op count falls as slots grow (to 2L + 1 at S >= L): the least slots
  // within the cap, if any.
  std::string Advice = "no --slots keeps it within the limit";
  for (uint64_t S = Slots + 1; S <= L; S = S < 64 ? S + 1 : S * 2)
    if (revolveOpCount(L, S) <= MaxOps) {
      // Doubling overshoots: step back to the least.
      uint64_t Lo = S < 64 ? S : S / 2 + 1;
      while (Lo < S && revolveOpCount(L, Lo) > MaxOps)
        ++Lo;
      Advice = "--slots " + std::to_string(Lo) + " gives " +
               std::to_string(revolveOpCount(L, Lo));
      break;
    }
  return badInput(
      "strategy 'revolve': --slots {} on {} stages gives {} ops, over the "
      "limit of {}; {} (see docs/limits.md)",
      Slots, L, revolveOpCount(L, Slots), MaxOps, Advice);
}

Expected<std::vector<ChainOp>> revolveOps(const Chain &C, unsigned Slots,
                                          uint64_t MaxOps) {
  if (Slots == 0)
    return badInput("strategy 'revolve' needs --slots S with S >= 1 "
                    "(x_0 takes one slot); got 0");
  std::vector<ChainOp> Ops;
  unsigned L = C.size();
  if (revolveOpCount(L, Slots) > MaxOps)
    return tooManyOps(L, Slots, MaxOps);
  if (L == 0) {
    Ops.push_back({ChainOpKind::Loss, 0});
    return Ops;
  }
  // Forward ops, one B per stage, and the loss.
  Ops.reserve(revolveOpCount(L, Slots));
  SmallVector<Task, 32> Stack;
  Stack.push_back({0, L - 1, Slots, true});
  while (!Stack.empty()) {
    Task T = Stack.pop_back_val();
    uint64_t N = T.Last - T.First + 1;
    if (N == 1) {
      turn(Ops, T.First, T.HasLoss);
      continue;
    }
    if (T.Slots == 1) {
      // Only the checkpoint itself: reverse the last stage, then redo the
      // shorter reversal from the same checkpoint.
      if (T.Last > T.First)
        advance(Ops, T.First, T.Last);
      turn(Ops, T.Last, T.HasLoss);
      Stack.push_back({T.First, T.Last - 1, 1, false});
      continue;
    }
    unsigned Split = T.First + static_cast<unsigned>(firstAdvance(N, T.Slots));
    advance(Ops, T.First, Split);
    // LIFO: the right part runs first with one slot fewer, then the left.
    Stack.push_back({T.First, Split - 1, T.Slots, false});
    Stack.push_back({Split, T.Last, T.Slots - 1, T.HasLoss});
  }
  return Ops;
}

} // namespace remat

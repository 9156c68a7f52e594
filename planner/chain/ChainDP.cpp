//===- planner/chain/ChainDP.cpp - Budget-optimal chain planning ----------===//
//
// The DP itself is in planner/ChainDPTables.cpp; this file picks exact or
// discretised sizes, reports infeasibility and bounds the discretisation
// gap. See docs/optimal-chain.md for the recurrence and its class.
//
//===----------------------------------------------------------------------===//

#include "planner/ChainDP.h"

#include "planner/Errors.h"
#include "planner/chain/ChainDPDense.h"
#include "planner/chain/ChainDPTables.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <thread>

using namespace llvm;

namespace remat {

using namespace chaindp;

static Error internalError(const std::string &Msg) {
  return make_error<InternalError>(Msg);
}

static uint64_t countRecomputations(const std::vector<ChainOp> &Ops,
                                    unsigned L) {
  uint64_t Forward = 0;
  for (const ChainOp &Op : Ops)
    Forward += Op.isForward();
  return Forward - L;
}

static Expected<ChainDPResult> planSlots(const Chain &C,
                                         const ChainDPOptions &O,
                                         unsigned Slots, bool ExactFallback);
static Expected<ChainDPResult> exactResult(const Chain &C, uint64_t Budget,
                                           const chaindp::Tables &T,
                                           double Bound);
static double opsTime(const Chain &C, const std::vector<ChainOp> &Ops);
static chaindp::DenseOptions denseOptions(const Chain &C,
                                          const ChainDPOptions &O);

// Every stride's estimate is Fixed + Slots * PerSlot seconds. Stride 1 is
// fitted on issue-18 chains (one thread, CPU time of the rounded-up pass,
// L = 500..1000, slots 50..500; the rounded-down pass took about 0.7 of
// it): per L^3, a fixed 3.4 ns for the (i, j, l) triples and 0.01 ns per
// slot for the element updates. A stride c > 1 runs one pass over 1/c of
// the columns with 1/c of the splits each, which scales the triples and
// the element updates by 1/c^2, but the work per table (filling, record
// branch, coarse copies: L^2 N / c) and the minimum-memory pass (L^3 / c)
// do not shrink as fast; fitted on the same chains (L = 400..1000, c =
// 2..6, slots 500..2000, 30% budget, docs/optimal-chain.md).
static std::pair<double, double> slotsCost(unsigned L, unsigned SplitStride) {
  double Sq = double(L) * L, Cube = Sq * L + 1;
  if (SplitStride <= 1)
    return {1.7 * Cube * 3.4e-9, 1.7 * Cube * 1.0e-11};
  double C = SplitStride;
  return {Cube * (3.4e-9 / (C * C) + 2.3e-9 / C),
          Cube * 6.4e-12 / (C * C) + Sq * 6.8e-10 / C};
}

double estimateSlotsSeconds(unsigned L, unsigned Slots, unsigned SplitStride) {
  auto [Fixed, PerSlot] = slotsCost(L, SplitStride);
  return Fixed + PerSlot * Slots;
}

/// The most slots in [Min, Max] estimated within \p Seconds; Min when none.
static unsigned slotsWithin(unsigned L, double Seconds, unsigned Min,
                            unsigned Max, unsigned SplitStride) {
  auto [Fixed, PerSlot] = slotsCost(L, SplitStride);
  double N = (Seconds - Fixed) / PerSlot;
  return unsigned(std::clamp(N, double(Min), double(Max)));
}

/// SplitAt for DenseOptions: in each run of \p Stride indices from j = 1,
/// the first j with the smallest x_j.
static std::vector<char> splitPoints(const Chain &C, unsigned Stride) {
  unsigned L = C.size();
  std::vector<char> At(L + 1, 0);
  for (unsigned J0 = 1; J0 <= L; J0 += Stride) {
    unsigned Best = J0;
    for (unsigned J = J0 + 1; J < J0 + Stride && J <= L; ++J)
      if (C.activationBytes(J) < C.activationBytes(Best))
        Best = J;
    At[Best] = 1;
  }
  return At;
}

/// Slots for an exact run that gave way at an explicit ExactWorkLimit.
static unsigned fallbackSlots(const ChainDPOptions &O) {
  return std::max(1u, O.AutoMinSlots);
}

/// What to do when even the exact DP's per-pair tables are over the cap.
static constexpr const char *NoTablesAdvice =
    "use --strategy revolve or sqrt, which keep no tables, or a model with "
    "fewer stages";

/// The discretised DP's estimate against the cap; the advice names the slots
/// when fewer would fit.
static Error checkSlotsMemory(const DPChain &Rounded, uint64_t Units,
                              unsigned Slots, const DenseOptions &DO,
                              uint64_t Cap) {
  uint64_t Need =
      denseTablesBytes(Rounded, Units, DO.SinglePrecision ? 4 : 8, true,
                       DO.SplitAt.empty() ? nullptr : &DO.SplitAt);
  if (Need <= Cap)
    return Error::success();
  uint64_t PerPair = denseTablesBytes(Rounded, 0, 8, true);
  std::string Advice = PerPair < Cap
                           ? "use fewer --memory-slots (this plan used " +
                                 std::to_string(Slots) + ")"
                           : std::string(NoTablesAdvice);
  return checkTableBytes("optimal", Need, Cap, Rounded.L, Advice);
}

/// The rounded-up pass of planSlots: the grid and its plan (none when
/// rounding lost every plan).
struct SlotsUp {
  uint64_t Unit = 1, Units = 0;
  DenseOptions DO;
  std::optional<DenseResult> Up;
};

static Expected<SlotsUp> slotsUp(const Chain &C, const ChainDPOptions &O,
                                 unsigned Slots) {
  SlotsUp S;
  S.Unit = std::max<uint64_t>(1, O.BudgetBytes / Slots);
  S.Units = O.BudgetBytes / S.Unit;
  S.DO = denseOptions(C, O);
  DPChain Rounded = roundedChain(C, S.Unit, true);
  if (Error E =
          checkSlotsMemory(Rounded, S.Units, Slots, S.DO, O.MaxTableBytes))
    return E;
  S.Up = planDense(Rounded, S.Units, S.DO);
  return S;
}

/// Whether the exact DP is pruned with a plan's time on \p C.
static bool prunesExact(const Chain &C, const ChainDPOptions &O) {
  return O.ExactBoundFromStages > 0 && C.size() >= O.ExactBoundFromStages;
}

/// A plan's time for the exact DP to prune with (Tables' UpperBound), and
/// the estimated seconds spent finding it.
struct ExactBound {
  double Time = std::numeric_limits<double>::infinity();
  double Seconds = 0;
};

/// The bound for the exact DP on chains of at least ExactBoundFromStages
/// stages: the time, summed exactly from its ops, of the plan the
/// rounded-up pass at ExactBoundSlots slots finds. Its sizes are at least
/// the chain's, so it is a plan of the chain within the budget, and no
/// optimum is slower. Infinity (no pruning) on shorter chains, where the
/// exact DP is quick, when its tables would not fit the cap, or when
/// rounding lost every plan.
static ExactBound exactBound(const Chain &C, const ChainDPOptions &O) {
  unsigned Slots = std::max(1u, O.ExactBoundSlots);
  if (!prunesExact(C, O))
    return {};
  ExactBound B;
  Expected<SlotsUp> S = slotsUp(C, O, Slots);
  if (!S) {
    consumeError(S.takeError());
    return B;
  }
  // One pass of the two estimateSlotsSeconds counts.
  B.Seconds = estimateSlotsSeconds(C.size(), Slots) / 2;
  if (S->Up)
    B.Time = opsTime(C, S->Up->Ops);
  return B;
}

static Expected<ChainDPResult>
planExact(const Chain &C, const ChainDPOptions &O, uint64_t WorkLimit) {
  uint64_t Budget = O.BudgetBytes;
  if (Error E = checkTableBytes("optimal", exactTablesBytes(C.size()),
                                O.MaxTableBytes, C.size(), NoTablesAdvice))
    return E;
  ExactBound B = exactBound(C, O);
  Tables T(exactChain(C), Budget, WorkLimit, B.Time);
  if (T.aborted())
    return planSlots(C, O, fallbackSlots(O), /*ExactFallback=*/false);
  Expected<ChainDPResult> R = exactResult(C, Budget, T, B.Time);
  if (R)
    R->EstimatedSeconds += B.Seconds;
  return R;
}

/// The plan of finished exact tables within \p Budget, pruned with
/// \p Bound (infinity: not pruned).
static Expected<ChainDPResult> exactResult(const Chain &C, uint64_t Budget,
                                           const Tables &T, double Bound) {
  std::optional<Point> P = T.best(Budget);
  // A bound is the time of a plan within the budget: pruning with it can
  // lose no optimum. Anything else is a bug, reported.
  if (Bound != std::numeric_limits<double>::infinity() &&
      (!P || P->Time > Bound * (1 + 1e-9)))
    return internalError(fmt::format(
        "the exact chain DP pruned with the time {} of a plan within {} "
        "bytes found {}",
        Bound, Budget, P ? fmt::format("the slower {}", P->Time) : "no plan"));
  if (!P)
    return make_error<InfeasibleBudgetError>("optimal", Budget,
                                             minFeasibleChainBudget(C));
  ChainDPResult R;
  R.Ops = T.reconstruct(Budget);
  R.Time = P->Time;
  R.PeakBytes = P->Mem + C.InputBytes;
  R.ForwardRecomputations = countRecomputations(R.Ops, C.size());
  R.TableBytes = T.tableBytes();
  R.EstimatedSeconds = double(T.workDone()) * ExactSecondsPerUnit;
  return R;
}

/// The plan's time summed in double from its ops.
static double opsTime(const Chain &C, const std::vector<ChainOp> &Ops) {
  double T = 0;
  for (const ChainOp &Op : Ops) {
    if (Op.Kind == ChainOpKind::Loss)
      T += C.Loss.BwdTime;
    else if (Op.Kind == ChainOpKind::B)
      T += C.Stages[Op.Layer].BwdTime;
    else
      T += C.Stages[Op.Layer].FwdTime;
  }
  return T;
}

/// Every stage forward and backward once, and the loss: no plan is faster.
static double leastTime(const Chain &C) {
  double T = C.Loss.BwdTime;
  for (const Stage &S : C.Stages)
    T += S.FwdTime + S.BwdTime;
  return T;
}

/// The optimum of the chain with sizes rounded down to \p Unit within
/// \p Units, a lower bound on the exact optimum (less the tables' rounding
/// allowance), into \p Lower; \p TableBytes grows to its tables' bytes.
/// When the store-all plan fits that relaxed chain, its optimum is the
/// store-all time, which no plan beats, so its DP is not run (at L = 1,000
/// and 500 slots most activations round down to nothing).
static Error lowerBound(const Chain &C, uint64_t Unit, uint64_t Units,
                        unsigned Slots, DenseOptions DO, double &Lower,
                        uint64_t &TableBytes) {
  DPChain Down = roundedChain(C, Unit, false);
  if (Units >= Down.A[0] && storeAllNeed(Down) <= Units - Down.A[0]) {
    Lower = leastTime(C);
    return Error::success();
  }
  DO.WantOps = false;
  std::optional<DenseResult> D = planDense(Down, Units, DO);
  // Down relaxes Up, so it is feasible whenever Up is.
  if (!D)
    return internalError(fmt::format(
        "the chain DP's relaxed pass found no plan within {} bytes at {} "
        "memory slots, where the rounded-up pass found one",
        Units * Unit, Slots));
  Lower = D->Time / (1 + D->Slack);
  TableBytes = std::max(TableBytes, D->TableBytes);
  return Error::success();
}

/// The dense DP's options for \p O. The passes run one after the other,
/// each on all threads: the tables' tiles share out evenly, and one pass's
/// tables are freed before the next.
static DenseOptions denseOptions(const Chain &C, const ChainDPOptions &O) {
  DenseOptions DO;
  DO.SinglePrecision = O.SinglePrecisionFromStages > 0 &&
                       C.size() >= O.SinglePrecisionFromStages;
  DO.Threads =
      O.Threads ? O.Threads : std::max(1u, std::thread::hardware_concurrency());
  if (O.SplitStride > 1)
    DO.SplitAt = splitPoints(C, O.SplitStride);
  return DO;
}

/// When the rounded-up pass at \p Slots slots of \p Unit bytes found no
/// plan: the budget's infeasibility, or another try.
static Expected<ChainDPResult> replanWithoutPlan(const Chain &C,
                                                 const ChainDPOptions &O,
                                                 unsigned Slots, uint64_t Unit,
                                                 bool ExactFallback) {
  uint64_t Min = minFeasibleChainBudget(C);
  if (O.BudgetBytes < Min)
    return make_error<InfeasibleBudgetError>("optimal", O.BudgetBytes, Min);
  if (O.SplitStride > 1) {
    // The checkpoints left out may be the ones a tight budget needs: the
    // slots asked for over every stage, or in the default mode its least.
    ChainDPOptions Every = O;
    Every.SplitStride = 1;
    unsigned N =
        ExactFallback ? Slots : std::min(Slots, std::max(1u, O.AutoMinSlots));
    return planSlots(C, Every, N, ExactFallback);
  }
  // Rounding lost the last plans, which happens only near the least
  // feasible budget: the exact DP decides, or, when it already gave way,
  // a grid 8 times finer and finally the exact DP without a work limit.
  if (ExactFallback)
    return planExact(C, O, NoCap);
  if (Unit > 1 && Slots < (1u << 20))
    return planSlots(C, O, Slots * 8, false);
  return planExact(C, O, NoCap);
}

// Sizes rounded up to whole units of floor(B / slots) make every peak term an
// upper bound, and the budget rounded down keeps the plan within B. The
// floor keeps every slot usable (floor(B / unit) >= slots), as rotor's
// discretisation does; a ceiling would leave slots - 1 whenever slots does
// not divide B, and plans slower than rotor's at the same precision. Sizes
// rounded down with the same budget relax every constraint instead, so that
// table's optimum is a lower bound on the exact one: the difference bounds
// the gap.

/// The plan of a rounded-up pass, with the gap bound of its rounded-down
/// pass (over every stage) or against the store-all time (with a stride).
static Expected<ChainDPResult> slotsResult(const Chain &C,
                                           const ChainDPOptions &O,
                                           unsigned Slots, SlotsUp S,
                                           bool ExactFallback) {
  if (!S.Up)
    return replanWithoutPlan(C, O, Slots, S.Unit, ExactFallback);
  DenseResult &Up = *S.Up;
  unsigned Stride = std::max(1u, O.SplitStride);
  ChainDPResult R;
  R.TableBytes = Up.TableBytes;
  double Lower = leastTime(C);
  if (Stride == 1)
    if (Error E =
            lowerBound(C, S.Unit, S.Units, Slots, S.DO, Lower, R.TableBytes))
      return E;
  R.Ops = std::move(Up.Ops);
  // In single precision the tables' time is only near the plan's: sum it
  // exactly, and lower the bound by the rounding allowance.
  R.Time = Up.Slack > 0 ? opsTime(C, R.Ops) : Up.Time;
  R.PeakBytes = Up.PeakUnits * S.Unit;
  R.ForwardRecomputations = countRecomputations(R.Ops, C.size());
  // The relaxation's optimum is at most Up's: anything else is a bug,
  // reported, never clamped to a zero gap. Equal times may differ in the
  // last bits (the tables sum in different orders), which is no
  // contradiction.
  if (Lower > R.Time * (1 + 1e-9))
    return internalError(fmt::format(
        "the chain DP's lower bound {} exceeds the time {} of its own plan "
        "within {} bytes at {} memory slots",
        Lower, R.Time, O.BudgetBytes, Slots));
  R.GapBound = Lower < R.Time ? R.Time - Lower : 0;
  R.MemorySlots = Slots;
  R.SplitStride = Stride;
  R.EstimatedSeconds = estimateSlotsSeconds(C.size(), Slots, Stride);
  return R;
}

static Expected<ChainDPResult> planSlots(const Chain &C,
                                         const ChainDPOptions &O,
                                         unsigned Slots, bool ExactFallback) {
  Expected<SlotsUp> S = slotsUp(C, O, Slots);
  if (!S)
    return S.takeError();
  return slotsResult(C, O, Slots, std::move(*S), ExactFallback);
}

/// The default mode's split stride for \p Left estimated seconds: 1 when
/// AutoMinSlots slots over every stage fit; else the least c >= 2 at which
/// AutoMaxSlots slots fit, or AutoMaxSplitStride when none does. Slots
/// before stride, because on the issue-18 chains (L = 400..1,000) four
/// times the slots lowered plan times by 1-7%, four times the stride (2 to
/// 8) raised them by 0.8-1.9% (docs/optimal-chain.md).
static unsigned autoStride(unsigned L, double Left, const ChainDPOptions &O) {
  unsigned Min = std::max(1u, O.AutoMinSlots);
  unsigned Max = std::max(Min, O.AutoMaxSlots);
  unsigned Top = std::max(1u, O.AutoMaxSplitStride);
  if (Top == 1 || estimateSlotsSeconds(L, Min, 1) <= Left)
    return 1;
  unsigned C = 2;
  while (C < Top && estimateSlotsSeconds(L, Max, C) > Left)
    ++C;
  return C;
}

/// The default mode when the exact DP is pruned (prunesExact) and the
/// slots over every stage fit what the exact attempt leaves of the promise
/// (up to about L = 300): the rounded-up pass at the most slots that fit
/// runs first, and its plan's time prunes the exact attempt. When that
/// gives way, the same pass's plan is the result (with its gap pass), so no
/// pass is wasted.
static Expected<ChainDPResult> planAutoPruned(const Chain &C,
                                              const ChainDPOptions &O,
                                              double Promise, double Share) {
  unsigned L = C.size();
  unsigned Min = std::max(1u, O.AutoMinSlots);
  unsigned N =
      slotsWithin(L, Promise - Share, Min, std::max(Min, O.AutoMaxSlots), 1);
  double SlotsSeconds = estimateSlotsSeconds(L, N);
  Expected<SlotsUp> S = slotsUp(C, O, N);
  if (!S)
    return S.takeError();
  double Bound =
      S->Up ? opsTime(C, S->Up->Ops) : std::numeric_limits<double>::infinity();
  uint64_t Limit = std::min<uint64_t>(
      O.ExactWorkLimit,
      uint64_t(std::clamp(Promise - SlotsSeconds, 0.0, Share) /
               ExactSecondsPerUnit));
  // One pass of the two that estimateSlotsSeconds counts.
  double Spent = SlotsSeconds / 2;
  {
    Tables T(exactChain(C), O.BudgetBytes, Limit, Bound);
    Spent += double(T.workDone()) * ExactSecondsPerUnit;
    if (!T.aborted()) {
      Expected<ChainDPResult> R = exactResult(C, O.BudgetBytes, T, Bound);
      if (R) {
        R->PromiseSeconds = Promise;
        R->EstimatedSeconds = Spent;
      }
      return R;
    }
  }
  Expected<ChainDPResult> R =
      slotsResult(C, O, N, std::move(*S), /*ExactFallback=*/false);
  if (R) {
    R->PromiseSeconds = Promise;
    R->EstimatedSeconds = Spent + SlotsSeconds / 2;
  }
  return R;
}

// The default mode. The promise is in estimated seconds, and every decision
// comes from work counts and the fitted models, never a clock, so the same
// input gives the same plan whatever the load. The exact DP may use the
// promise less what the fallback at AutoMinSlots is estimated to need, and
// at most AutoExactShare of it; it gives way at that work (or as soon as its
// columns project past twice it), and the slots are then the most that the
// rest of the promise allows, with checkpoints at one stage in c when even
// AutoMinSlots over every stage would not fit it (autoStride). From
// ExactBoundFromStages stages on, where the slots fit beside the exact
// share, planAutoPruned orders the two the other way round.
static Expected<ChainDPResult> planAuto(const Chain &C,
                                        const ChainDPOptions &O) {
  unsigned L = C.size();
  double Promise =
      std::max(O.AutoSeconds, O.AutoSecondsPer1000Stages * L / 1000.0);
  unsigned Min = std::max(1u, O.AutoMinSlots);
  double Share = std::clamp(O.AutoExactShare, 0.0, 1.0) * Promise;
  if (Error E = checkTableBytes("optimal", exactTablesBytes(L), O.MaxTableBytes,
                                L, NoTablesAdvice))
    return E;
  if (prunesExact(C, O) && estimateSlotsSeconds(L, Min) <= Promise - Share)
    return planAutoPruned(C, O, Promise, Share);
  double ExactShare =
      std::clamp(Promise - estimateSlotsSeconds(L, Min), 0.0, Share);
  uint64_t Limit = std::min<uint64_t>(
      O.ExactWorkLimit, uint64_t(ExactShare / ExactSecondsPerUnit));
  double Spent = 0;
  {
    Tables T(exactChain(C), O.BudgetBytes, Limit);
    Spent = double(T.workDone()) * ExactSecondsPerUnit;
    if (!T.aborted()) {
      // Small enough: the exact result, from the tables already built.
      Expected<ChainDPResult> R = exactResult(
          C, O.BudgetBytes, T, std::numeric_limits<double>::infinity());
      if (R) {
        R->PromiseSeconds = Promise;
        R->EstimatedSeconds = Spent;
      }
      return R;
    }
  }
  ChainDPOptions Slotted = O;
  Slotted.SplitStride = autoStride(L, Promise - Spent, O);
  unsigned N = slotsWithin(L, Promise - Spent, Min,
                           std::max(Min, O.AutoMaxSlots), Slotted.SplitStride);
  Expected<ChainDPResult> R = planSlots(C, Slotted, N, /*ExactFallback=*/false);
  if (R) {
    R->PromiseSeconds = Promise;
    R->EstimatedSeconds =
        Spent + estimateSlotsSeconds(L, R->MemorySlots, R->SplitStride);
  }
  return R;
}

Expected<ChainDPResult> planOptimalChain(const Chain &C,
                                         const ChainDPOptions &Opts) {
  if (Opts.MemorySlots > 0)
    return planSlots(C, Opts, Opts.MemorySlots, true);
  if (Opts.Exact)
    return planExact(C, Opts, Opts.ExactWorkLimit);
  return planAuto(C, Opts);
}

uint64_t minFeasibleChainBudget(const Chain &C) {
  return minFeasibleBudget(exactChain(C));
}

/// The grid optimalChainFrontier(C, Slots) uses: the unit, and the budget
/// in units.
static std::pair<uint64_t, uint64_t> frontierGrid(const Chain &C,
                                                  unsigned MemorySlots) {
  // Top is the store-all plan's peak: the least budget of the fastest plan,
  // where the curve ends. (Summing every tensor and workspace is not a
  // bound: it leaves out the gradients y_k that a backward holds.)
  DPChain Exact = exactChain(C);
  uint64_t Top = Exact.A[0] + storeAllNeed(Exact);
  uint64_t Unit = std::max<uint64_t>(1, (Top + MemorySlots - 1) / MemorySlots);
  // Every peak term sums at most 4L + 2 sizes, each of which gains under
  // one unit by rounding up.
  uint64_t Terms = 4 * uint64_t(C.size()) + 2;
  return {Unit, Top / Unit + Terms};
}

Error checkChainFrontierMemory(const Chain &C, unsigned MemorySlots,
                               uint64_t MaxTableBytes) {
  unsigned L = C.size();
  // The least budget's table (minFeasibleChainBudget) is in both.
  if (Error E = checkTableBytes("optimal", exactTablesBytes(L), MaxTableBytes,
                                L, NoTablesAdvice))
    return E;
  if (MemorySlots == 0)
    return Error::success();
  // Per pair first: the grid itself needs the store-all table.
  uint64_t PerPair = denseTablesBytes(exactChain(C), 0, 8, false);
  if (Error E =
          checkTableBytes("optimal", PerPair, MaxTableBytes, L, NoTablesAdvice))
    return E;
  auto [Unit, Budget] = frontierGrid(C, MemorySlots);
  uint64_t Need =
      denseTablesBytes(roundedChain(C, Unit, true), Budget, 8, false);
  return checkTableBytes("optimal", Need, MaxTableBytes, L,
                         "use fewer slots (frontier --slots; this curve used " +
                             std::to_string(MemorySlots) + ")");
}

std::vector<ChainFrontierPoint> optimalChainFrontier(const Chain &C) {
  Tables T(exactChain(C));
  std::vector<ChainFrontierPoint> Out;
  for (const Point &P : T.top())
    Out.push_back({P.Mem + C.InputBytes, P.Time});
  return Out;
}

std::vector<ChainFrontierPoint> optimalChainFrontier(const Chain &C,
                                                     unsigned MemorySlots) {
  if (MemorySlots == 0)
    return optimalChainFrontier(C);
  auto [Unit, Budget] = frontierGrid(C, MemorySlots);
  DPChain Rounded = roundedChain(C, Unit, true);
  std::vector<double> Curve = denseTopCurve(
      Rounded, Budget, std::max(1u, std::thread::hardware_concurrency()));
  std::vector<ChainFrontierPoint> Out;
  for (uint64_t M = 0; M < Curve.size(); ++M)
    if (Curve[M] != std::numeric_limits<double>::infinity() &&
        (Out.empty() || Curve[M] < Out.back().Time))
      Out.push_back({(M + Rounded.A[0]) * Unit, Curve[M]});
  return Out;
}

} // namespace remat

//===- planner/chain/ChainExhaustive.cpp - Every chain schedule -----------===//
//
// A state is the resident set of spec §3a: plain x_i and recorded x̄_i as
// bit sets, and the position K of the one gradient (L+1 before the loss;
// after it exactly one y_K is resident until B_0 produces y_0). Every valid
// op is an edge; its peak is the resident bytes after adding its output plus
// its workspace, its cost the op's time. The least-time plan within a budget
// is a shortest path over edges whose peak fits (A*, with the time of the
// loss and backwards still to run, plus the forwards still needed to reach
// x_L, as a consistent heuristic); the least budget is a bottleneck path.
//
//===----------------------------------------------------------------------===//

#include "planner/ChainExhaustive.h"

#include "llvm/ADT/DenseMap.h"

#include <algorithm>
#include <queue>
#include <tuple>

using namespace llvm;

namespace remat {

namespace {

constexpr unsigned MaxEncodedStages = 28;

struct State {
  uint32_t X = 1;
  uint32_t XBar = 0;
  /// L+1 before the loss; else y_K is the gradient resident; 0 is done.
  unsigned K = 0;
};

/// The chain's sizes and the moves of spec §3a on packed states.
class Space {
public:
  explicit Space(const Chain &C) : C(C), L(C.size()) {
    BwdBelow.assign(L + 1, 0);
    for (unsigned I = 0; I < L; ++I)
      BwdBelow[I + 1] = BwdBelow[I] + C.Stages[I].BwdTime;
    FwdFrom.assign(L + 1, 0);
    for (unsigned I = L; I-- > 0;)
      FwdFrom[I] = FwdFrom[I + 1] + C.Stages[I].FwdTime;
  }

  State start() const { return {1, 0, L + 1}; }
  static uint64_t encode(const State &S) {
    return uint64_t(S.X) | uint64_t(S.XBar) << 29 | uint64_t(S.K) << 58;
  }
  static State decode(uint64_t Code) {
    return {uint32_t(Code & 0x1fffffff), uint32_t(Code >> 29 & 0x1fffffff),
            unsigned(Code >> 58)};
  }
  static bool done(const State &S) { return S.K == 0; }

  uint64_t resident(const State &S) const {
    uint64_t Bytes = S.K <= L ? C.activationBytes(S.K) : 0;
    for (unsigned I = 0; I <= L; ++I) {
      if (S.X >> I & 1)
        Bytes += C.activationBytes(I);
      if (I > 0 && (S.XBar >> I & 1))
        Bytes += C.Stages[I - 1].SavedBytes;
    }
    // After a loss that frees its input, x̄_L holds its saved tensors only.
    if (C.Loss.FreesInput && S.K <= L && (S.XBar >> L & 1))
      Bytes -= C.activationBytes(L);
    return Bytes;
  }

  /// A lower bound on the time still to run from \p S: the loss and the
  /// backwards not yet run, and before the loss the forwards from the
  /// highest resident activation to x_L. Consistent: each op lowers it by
  /// at most its own time.
  double heuristic(const State &S) const {
    if (S.K <= L)
      return BwdBelow[S.K];
    unsigned Top = 0;
    for (unsigned I = 0; I <= L; ++I)
      if ((S.X | S.XBar) >> I & 1)
        Top = I;
    return C.Loss.BwdTime + BwdBelow[L] + FwdFrom[Top];
  }

  /// Calls \p Fn(op, next state, op peak, op time) for every valid op.
  template <typename FnT> void forEachMove(const State &S, FnT Fn) const {
    uint64_t Res = resident(S);
    if (S.K == L + 1 && ((S.X | S.XBar) >> L & 1)) {
      State N = S;
      N.K = L;
      N.X &= ~(1u << L);
      // y_L takes x_L's place when the loss frees its input first.
      uint64_t Y = C.Loss.FreesInput ? 0 : C.activationBytes(L);
      Fn(ChainOp{ChainOpKind::Loss, 0}, N, Res + Y + C.Loss.BwdWorkspace,
         C.Loss.BwdTime);
    }
    if (S.K >= 1 && S.K <= L && (S.XBar >> S.K & 1)) {
      unsigned I = S.K - 1;
      State N = S;
      N.K = I;
      N.XBar &= ~(1u << S.K);
      N.X &= ~(1u << I);
      Fn(ChainOp{ChainOpKind::B, I}, N,
         Res + C.activationBytes(I) + C.Stages[I].BwdWorkspace,
         C.Stages[I].BwdTime);
    }
    for (unsigned I = 0; I < L; ++I)
      forwardMoves(S, I, Res, Fn);
  }

private:
  template <typename FnT>
  void forwardMoves(const State &S, unsigned I, uint64_t Res, FnT &Fn) const {
    uint32_t In = 1u << I, Out = 1u << (I + 1);
    if (!((S.X | S.XBar) & In) || ((S.X | S.XBar) & Out))
      return;
    const Stage &St = C.Stages[I];
    State Ck = S;
    Ck.X |= Out;
    uint64_t PeakOut = Res + St.OutputBytes + St.FwdWorkspace;
    Fn(ChainOp{ChainOpKind::FCk, I}, Ck, PeakOut, St.FwdTime);
    State N = Ck;
    // F_n frees the plain x_i when resident, else x̄_i.
    if (N.X & In)
      N.X &= ~In;
    else
      N.XBar &= ~In;
    Fn(ChainOp{ChainOpKind::FN, I}, N, PeakOut, St.FwdTime);
    State All = S;
    All.XBar |= Out;
    Fn(ChainOp{ChainOpKind::FAll, I}, All,
       Res + St.SavedBytes + St.FwdWorkspace, St.FwdTime);
  }

  const Chain &C;
  unsigned L;
  std::vector<double> BwdBelow, FwdFrom;
};

/// A best-first search over the states of \p Sp: Cost is double (time,
/// summed) or uint64_t (peak bytes, maxed). Returns the goal node, or
/// nothing when the goal is unreachable or the cap was hit (GaveUp).
template <typename Cost> class BestFirst {
public:
  struct Node {
    uint64_t Code;
    Cost G;
    uint64_t PathPeak;
    uint32_t Parent;
    ChainOp Op;
    bool Closed;
  };

  BestFirst(const Space &Sp, uint64_t MaxStates) : Sp(Sp), Cap(MaxStates) {}

  /// \p Step(G, op peak, op time) -> the successor's G, or nothing when the
  /// op is not allowed; \p Key(G, state) orders the frontier.
  template <typename StepT, typename KeyT>
  std::optional<uint32_t> run(uint64_t StartPeak, StepT Step, KeyT Key) {
    State S0 = Sp.start();
    push(Space::encode(S0), Cost(), StartPeak, ~0u, ChainOp{}, Key(Cost(), S0));
    while (!Heap.empty() && !GaveUp) {
      auto [K, Deeper, Id, G] = Heap.top();
      Heap.pop();
      if (Nodes[Id].Closed || Nodes[Id].G != G)
        continue;
      Nodes[Id].Closed = true;
      State S = Space::decode(Nodes[Id].Code);
      if (Sp.done(S))
        return Id;
      Node Cur = Nodes[Id];
      // A named copy: lambdas may not capture structured bindings before
      // C++20 compilers implement P1091 (clang 14, used for fuzzing).
      uint32_t Parent = Id;
      Sp.forEachMove(
          S, [&](ChainOp Op, const State &N, uint64_t Peak, double Time) {
            std::optional<Cost> G = Step(Cur.G, Peak, Time);
            if (G)
              push(Space::encode(N), *G, std::max(Cur.PathPeak, Peak), Parent,
                   Op, Key(*G, N));
          });
    }
    return std::nullopt;
  }

  std::vector<ChainOp> ops(uint32_t Id) const {
    std::vector<ChainOp> Out;
    for (; Nodes[Id].Parent != ~0u; Id = Nodes[Id].Parent)
      Out.push_back(Nodes[Id].Op);
    std::reverse(Out.begin(), Out.end());
    return Out;
  }

  std::vector<Node> Nodes;
  bool GaveUp = false;

private:
  void push(uint64_t Code, Cost G, uint64_t PathPeak, uint32_t Parent,
            ChainOp Op, Cost Key) {
    auto [It, New] = Index.try_emplace(Code, uint32_t(Nodes.size()));
    if (New) {
      if (Nodes.size() >= Cap) {
        GaveUp = true;
        return;
      }
      Nodes.push_back({Code, G, PathPeak, Parent, Op, false});
    } else {
      Node &N = Nodes[It->second];
      if (N.Closed || !(G < N.G))
        return;
      N = {Code, G, PathPeak, Parent, Op, false};
    }
    // Ties: the deeper node first (larger G), then the older one.
    Heap.push({Key, -double(G), It->second, G});
  }

  /// Key, -G (ties go to the deeper node), node id, G (to skip stale
  /// entries).
  using Entry = std::tuple<Cost, double, uint32_t, Cost>;
  const Space &Sp;
  uint64_t Cap;
  DenseMap<uint64_t, uint32_t> Index;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> Heap;
};

} // namespace

std::optional<ChainExhaustiveResult>
searchChainSchedules(const Chain &C, const ChainExhaustiveOptions &Opts) {
  if (C.size() > MaxEncodedStages)
    return std::nullopt;
  Space Sp(C);
  ChainExhaustiveResult R;
  if (C.InputBytes > Opts.BudgetBytes)
    return R;
  BestFirst<double> Search(Sp, Opts.MaxStates);
  uint64_t Budget = Opts.BudgetBytes;
  std::optional<uint32_t> Goal = Search.run(
      C.InputBytes,
      [&](double G, uint64_t Peak, double Time) -> std::optional<double> {
        if (Peak > Budget)
          return std::nullopt;
        return G + Time;
      },
      [&](double G, const State &S) { return G + Sp.heuristic(S); });
  R.States = Search.Nodes.size();
  if (Search.GaveUp)
    return std::nullopt;
  if (!Goal)
    return R;
  R.Feasible = true;
  R.Ops = Search.ops(*Goal);
  R.Time = Search.Nodes[*Goal].G;
  R.PeakBytes = Search.Nodes[*Goal].PathPeak;
  return R;
}

std::optional<uint64_t> leastChainBudgetAllSchedules(const Chain &C,
                                                     uint64_t MaxStates) {
  if (C.size() > MaxEncodedStages)
    return std::nullopt;
  Space Sp(C);
  BestFirst<uint64_t> Search(Sp, MaxStates);
  std::optional<uint32_t> Goal = Search.run(
      C.InputBytes,
      [](uint64_t G, uint64_t Peak, double) -> std::optional<uint64_t> {
        return std::max(G, Peak);
      },
      [](uint64_t G, const State &) { return G; });
  if (Search.GaveUp || !Goal)
    return std::nullopt;
  return std::max(C.InputBytes, Search.Nodes[*Goal].G);
}

} // namespace remat

//===- planner/graph/GraphExhaustive.cpp - Every graph schedule -----------===//
//
// A* over (computed, resident) node sets; see GraphExhaustive.h. In time
// mode a path's cost is the sum of compute times and the heuristic is the
// time that every completion must still spend; in peak mode the cost is the
// largest op peak so far (a bottleneck path) and the heuristic is the largest
// peak that some node never computed must still reach on its own.
//
//===----------------------------------------------------------------------===//

#include "planner/GraphExhaustive.h"
#include "graph/Errors.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/bit.h"

#include <algorithm>
#include <chrono>
#include <queue>

using namespace llvm;

namespace remat {

namespace {

using Mask = uint32_t;

Mask bit(unsigned V) { return Mask(1) << V; }

/// The graph as bit sets.
struct Problem {
  unsigned N = 0;
  Mask All = 0;
  std::vector<Mask> Inputs, Users, Desc;
  std::vector<double> Time;
  std::vector<uint64_t> Bytes;
  /// Bytes(v) + workspace(v).
  std::vector<uint64_t> OwnPeak;
  /// OwnPeak(v) + bytes of v's inputs: v's op peak at the least.
  std::vector<uint64_t> MinPeak;

  explicit Problem(const Graph &G) : N(G.size()) {
    All = N == 32 ? ~Mask(0) : bit(N) - 1;
    Inputs.assign(N, 0);
    Users.assign(N, 0);
    Desc.assign(N, 0);
    for (unsigned V = 0; V < N; ++V) {
      const Node &Nd = G.Nodes[V];
      Time.push_back(Nd.Time);
      Bytes.push_back(Nd.Bytes);
      OwnPeak.push_back(Nd.Bytes + Nd.Workspace);
      uint64_t In = 0;
      for (unsigned I : Nd.Inputs) {
        Inputs[V] |= bit(I);
        Users[I] |= bit(V);
        In += G.Nodes[I].Bytes;
      }
      MinPeak.push_back(OwnPeak.back() + In);
    }
    // Ids are topological, so users have larger ids: fill from the back.
    for (unsigned V = N; V-- > 0;)
      for (Mask U = Users[V]; U; U &= U - 1) {
        unsigned W = unsigned(countr_zero(U));
        Desc[V] |= bit(W) | Desc[W];
      }
  }

  uint64_t residentBytes(Mask R) const {
    uint64_t B = 0;
    for (; R; R &= R - 1)
      B += Bytes[countr_zero(R)];
    return B;
  }

  /// Resident nodes after computing into \p C, minus the dead: those all of
  /// whose transitive users have been computed (no useful op reads them
  /// again, so freeing them at once never hurts).
  Mask dropDead(Mask C, Mask R) const {
    Mask Out = R;
    for (Mask X = R; X; X &= X - 1) {
      unsigned W = unsigned(countr_zero(X));
      if ((Desc[W] & ~C) == 0)
        Out &= ~bit(W);
    }
    return Out;
  }
};

struct StateRec {
  uint64_t Key;
  /// Cost so far: time, or peak in peak mode.
  double Cost;
  /// Time mode: the peak so far, the tie-break among equal times (so that
  /// of the fastest plans the search returns one of least peak); 0 in peak
  /// mode.
  uint64_t Peak;
  uint32_t Parent;
  GraphOp Op;
};

struct QueueItem {
  double F, Cost;
  uint64_t Peak;
  uint32_t Id;
  /// Lower F first, then the lower peak, then the deeper (costlier) state,
  /// then the older one. (Time, peak) compared lexicographically is a cost
  /// that extending a path preserves the order of, so A* stays exact.
  bool operator<(const QueueItem &O) const {
    if (F != O.F)
      return F > O.F;
    if (Peak != O.Peak)
      return Peak > O.Peak;
    if (Cost != O.Cost)
      return Cost < O.Cost;
    return Id > O.Id;
  }
};

/// DenseMap's own hash of a 64-bit key is a multiply, which the buckets
/// truncate: keys differing only in their resident half would collide.
struct KeyInfo {
  static uint64_t getEmptyKey() { return ~uint64_t(0); }
  static uint64_t getTombstoneKey() { return ~uint64_t(0) - 1; }
  static unsigned getHashValue(uint64_t K) {
    K ^= K >> 33;
    K *= 0xff51afd7ed558ccdULL;
    K ^= K >> 33;
    K *= 0xc4ceb9fe1a85ec53ULL;
    return unsigned(K ^ (K >> 33));
  }
  static bool isEqual(uint64_t A, uint64_t B) { return A == B; }
};

Mask computedOf(uint64_t Key) { return Mask(Key); }
Mask residentOf(uint64_t Key) { return Mask(Key >> 32); }
uint64_t keyOf(Mask C, Mask R) { return uint64_t(R) << 32 | C; }

class Search {
public:
  Search(const Graph &G, const GraphExhaustiveOptions &Opts)
      : P(G), Opts(Opts), Start(std::chrono::steady_clock::now()) {}

  GraphExhaustiveResult run();

private:
  double heuristic(Mask C, Mask R) const;
  void relax(uint32_t From, uint64_t ToKey, double Cost, uint64_t Peak,
             GraphOp Op);
  void expand(uint32_t Id);
  bool outOfBudget();
  GraphExhaustiveResult witness(uint32_t Goal) const;

  Problem P;
  const GraphExhaustiveOptions &Opts;
  std::chrono::steady_clock::time_point Start;
  DenseMap<uint64_t, uint32_t, KeyInfo> Index;
  std::vector<StateRec> States;
  std::priority_queue<QueueItem> Open;
  size_t Pushes = 0, Expanded = 0;
};

double Search::heuristic(Mask C, Mask R) const {
  if (Opts.MinimizePeak) {
    uint64_t H = 0;
    for (Mask X = P.All & ~C; X; X &= X - 1)
      H = std::max(H, P.MinPeak[countr_zero(X)]);
    return double(H);
  }
  // Every node never computed runs at least once; every computed input of
  // one that is not resident runs again before it. The sets are disjoint.
  double H = 0;
  for (unsigned V = 0; V < P.N; ++V) {
    bool Todo = !(C & bit(V));
    bool Again = !Todo && !(R & bit(V)) && (P.Users[V] & ~C);
    if (Todo || Again)
      H += P.Time[V];
  }
  return H;
}

void Search::relax(uint32_t From, uint64_t ToKey, double Cost, uint64_t Peak,
                   GraphOp Op) {
  auto [It, New] = Index.try_emplace(ToKey, uint32_t(States.size()));
  if (New) {
    States.push_back({ToKey, Cost, Peak, From, Op});
  } else {
    StateRec &Old = States[It->second];
    if (Cost > Old.Cost || (Cost == Old.Cost && Peak >= Old.Peak))
      return;
    Old = {ToKey, Cost, Peak, From, Op};
  }
  double H = heuristic(computedOf(ToKey), residentOf(ToKey));
  double F = Opts.MinimizePeak ? std::max(Cost, H) : Cost + H;
  Open.push({F, Cost, Peak, It->second});
  ++Pushes;
}

void Search::expand(uint32_t Id) {
  uint64_t Key = States[Id].Key;
  double Cost = States[Id].Cost;
  uint64_t PeakSoFar = States[Id].Peak;
  Mask C = computedOf(Key), R = residentOf(Key);
  uint64_t Res = P.residentBytes(R);
  for (unsigned V = 0; V < P.N; ++V) {
    Mask B = bit(V);
    if (R & B) {
      relax(Id, keyOf(C, R & ~B), Cost, PeakSoFar, {GraphOpKind::Free, V});
      continue;
    }
    // Ready, and not dead (a dead node is never needed again).
    if ((P.Inputs[V] & ~R) || ((C & B) && !(P.Desc[V] & ~C)))
      continue;
    uint64_t Peak = Res + P.OwnPeak[V];
    if (!Opts.MinimizePeak && Peak > Opts.BudgetBytes)
      continue;
    double Next =
        Opts.MinimizePeak ? std::max(Cost, double(Peak)) : Cost + P.Time[V];
    Mask NC = C | B;
    uint64_t NextPeak = Opts.MinimizePeak ? 0 : std::max(PeakSoFar, Peak);
    relax(Id, keyOf(NC, P.dropDead(NC, R | B)), Next, NextPeak,
          {GraphOpKind::Compute, V});
  }
}

bool Search::outOfBudget() {
  if (States.size() > Opts.MaxStates || Pushes > 4 * Opts.MaxStates)
    return true;
  if (Expanded % 1024 != 0)
    return false;
  double S =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - Start)
          .count();
  return S > Opts.TimeLimitSeconds;
}

GraphExhaustiveResult Search::witness(uint32_t Goal) const {
  std::vector<uint32_t> Path;
  for (uint32_t X = Goal; X != 0; X = States[X].Parent)
    Path.push_back(X);
  GraphExhaustiveResult Out;
  Out.Outcome = ExhaustiveOutcome::Optimal;
  Mask R = 0;
  uint64_t Res = 0;
  for (auto It = Path.rbegin(); It != Path.rend(); ++It) {
    const StateRec &S = States[*It];
    Out.Ops.push_back(S.Op);
    unsigned V = S.Op.Node;
    if (S.Op.Kind == GraphOpKind::Free) {
      R &= ~bit(V);
      Res -= P.Bytes[V];
      continue;
    }
    Out.Time += P.Time[V];
    Out.PeakBytes = std::max(Out.PeakBytes, Res + P.OwnPeak[V]);
    R |= bit(V);
    Res += P.Bytes[V];
    // The dead nodes the state dropped, in id order.
    for (Mask X = R & ~residentOf(S.Key); X; X &= X - 1) {
      unsigned W = unsigned(countr_zero(X));
      Out.Ops.push_back({GraphOpKind::Free, W});
      Res -= P.Bytes[W];
    }
    R = residentOf(S.Key);
  }
  return Out;
}

GraphExhaustiveResult Search::run() {
  GraphExhaustiveResult Out;
  States.push_back({keyOf(0, 0), 0, 0, 0, {}});
  Index[keyOf(0, 0)] = 0;
  Open.push({heuristic(0, 0), 0, 0, 0});
  Out.Outcome = ExhaustiveOutcome::Infeasible;
  while (!Open.empty()) {
    QueueItem Top = Open.top();
    Open.pop();
    if (Top.Cost != States[Top.Id].Cost || Top.Peak != States[Top.Id].Peak)
      continue; // superseded by a cheaper path to the same state
    if (computedOf(States[Top.Id].Key) == P.All) {
      Out = witness(Top.Id);
      break;
    }
    ++Expanded;
    if (outOfBudget()) {
      Out.Outcome = ExhaustiveOutcome::GaveUp;
      break;
    }
    expand(Top.Id);
  }
  Out.StatesStored = States.size();
  Out.StatesExpanded = Expanded;
  Out.Seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - Start)
          .count();
  return Out;
}

} // namespace

Expected<GraphExhaustiveResult>
planGraphExhaustive(const Graph &G, const GraphExhaustiveOptions &Opts) {
  if (G.size() > GraphExhaustiveMaxNodes)
    return badInput(
        "exhaustive graph search handles up to {} nodes; this graph has {}",
        GraphExhaustiveMaxNodes, G.size());
  Search S(G, Opts);
  return S.run();
}

} // namespace remat

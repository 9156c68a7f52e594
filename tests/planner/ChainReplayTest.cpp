//===- tests/planner/ChainReplayTest.cpp - The replay engines -------------===//
//
// planner/ChainReplay.h and planner/GraphReplay.h against spec §3a/§3b:
// hand-derived steps, the order of checks, and seeded random op sequences
// against the literal reading of tests/planner/SpecReplay.h.

#include "SimTestUtil.h"
#include "SpecReplay.h"

#include "models/RandomGraphs.h"
#include "planner/ChainReplay.h"
#include "planner/GraphReplay.h"
#include "planner/Simulator.h"

#include <doctest/doctest.h>

using namespace remat;
using namespace remat::test;

namespace {
using K = ChainTensorKind;

std::string name(ChainTensor T) { return chainTensorName(T); }

std::vector<std::string> names(llvm::ArrayRef<ChainTensor> Ts) {
  std::vector<std::string> Out;
  for (ChainTensor T : Ts)
    Out.push_back(name(T));
  return Out;
}

/// Steps \p R through \p Op, collecting what it frees into \p Freed.
ChainStep step(ChainReplay &R, const ChainOp &Op,
               std::vector<ChainTensor> *Freed = nullptr) {
  return R.step(Op, [&](ChainTensor T) {
    if (Freed)
      Freed->push_back(T);
  });
}

/// The engine's resident set in SpecChain's spelling.
std::set<std::string> residents(const ChainReplay &R) {
  std::set<std::string> Out;
  R.forEachResident([&](ChainTensor T) {
    const char *P = T.Kind == K::X ? "x" : T.Kind == K::XBar ? "xb" : "y";
    Out.insert(P + std::to_string(T.Index));
  });
  return Out;
}
} // namespace

TEST_CASE("chain replay: each op reads, makes and frees what spec §3a says") {
  // L = 2. F_ck 0 reads x_0 and makes x_1; F_n 1 reads x_1, makes x_2 and
  // frees x_1; the loss reads x_2, makes y_2, frees the plain x_2; F_all 0
  // makes x̄_1 from x_0; F_all 1 makes x̄_2 from x̄_1 (no plain x_1 is
  // left); B 1 reads x̄_2, makes y_1, frees y_2 and x̄_2 (x_1 is not
  // resident); B 0 makes y_0 and frees y_1, x̄_1 and the plain x_0.
  ChainReplay R(2);
  struct Want {
    ChainOp Op;
    const char *In, *Out;
    std::vector<std::string> Freed;
  } Steps[] = {
      {fck(0), "x_0", "x_1", {}},
      {fn(1), "x_1", "x_2", {"x_1"}},
      {lossOp(), "x_2", "y_2", {"x_2"}},
      {fall(0), "x_0", "xbar_1", {}},
      {fall(1), "xbar_1", "xbar_2", {}},
      {bwd(1), "xbar_2", "y_1", {"y_2", "xbar_2"}},
      {bwd(0), "xbar_1", "y_0", {"y_1", "xbar_1", "x_0"}},
  };
  for (const Want &W : Steps) {
    CAPTURE(chainOpLabel(0, W.Op));
    std::vector<ChainTensor> Freed;
    ChainStep S = step(R, W.Op, &Freed);
    REQUIRE(S.ok());
    CHECK(name(S.Input) == W.In);
    CHECK(name(S.Output) == W.Out);
    CHECK(names(Freed) == W.Freed);
  }
  CHECK(R.y0Produced());
  CHECK(residents(R) == std::set<std::string>{"y0"});
}

TEST_CASE("chain replay: F_n frees the recorded input when no plain one is") {
  // F_all 0 records x̄_1; F_n 1 reads x̄_1 and frees it.
  ChainReplay R(2);
  REQUIRE(step(R, fall(0)).ok());
  std::vector<ChainTensor> Freed;
  ChainStep S = step(R, fn(1), &Freed);
  REQUIRE(S.ok());
  CHECK(names(Freed) == std::vector<std::string>{"xbar_1"});
  CHECK(residents(R) == std::set<std::string>{"x0", "x2"});
}

TEST_CASE("chain replay: faults come in a fixed order and change nothing") {
  // B 0 on a fresh chain misses both x̄_1 and y_1: x̄_1 is checked first.
  ChainReplay R(2);
  ChainStep S = step(R, bwd(0));
  CHECK(S.Fault == ChainFault::NotResident);
  CHECK(name(S.Culprit) == "xbar_1");
  // A layer out of range is checked before anything else.
  S = step(R, fall(7));
  CHECK(S.Fault == ChainFault::LayerOutOfRange);
  CHECK(S.Culprit.Index == 7);
  CHECK(chainFaultText(S, 2) ==
        "layer 7 is out of range (the chain has 2 stages)");
  // F_ck 1 misses its input x_1 (reported as x_1, "neither x_1 nor x̄_1").
  S = step(R, fck(1));
  CHECK(S.Fault == ChainFault::NotResident);
  CHECK(name(S.Culprit) == "x_1");
  // F_all 0 then F_ck 0: x̄_1 is resident, so the plain x_1 cannot be made.
  REQUIRE(step(R, fall(0)).ok());
  S = step(R, fck(0));
  CHECK(S.Fault == ChainFault::AlreadyResident);
  CHECK(chainFaultText(S, 2, "x̄") == "x̄_1 is already resident");
  // None of the faults changed the state: x_0 and x̄_1 only.
  CHECK(residents(R) == std::set<std::string>{"x0", "xb1"});
  // The loss is checked for repetition before its input.
  ChainReplay One(1);
  REQUIRE(step(One, fall(0)).ok());
  REQUIRE(step(One, lossOp()).ok());
  S = step(One, lossOp());
  CHECK(S.Fault == ChainFault::LossRepeated);
  CHECK(chainFaultText(S, 1) == "the loss has already run");
}

TEST_CASE("chain replay: random op sequences follow spec §3a read literally") {
  // 3000 seeded sequences on chains of 1 to 4 stages: at every op the
  // engine and SpecChain agree on validity, and after a valid op on the
  // whole resident set; the step's Output and Freed are exactly what was
  // added and removed, and its Input was resident before.
  std::mt19937_64 Rng(16);
  unsigned Complete = 0, Invalid = 0;
  for (int Case = 0; Case < 3000; ++Case) {
    unsigned L = 1 + Case % 4;
    std::vector<ChainOp> Ops = randomChainOps(Rng, L);
    ChainReplay R(L);
    SpecChain Spec(L);
    for (size_t I = 0; I < Ops.size(); ++I) {
      CAPTURE(Case);
      CAPTURE(chainOpLabel(I, Ops[I]));
      std::set<std::string> Before = residents(R);
      bool InputWas = true;
      std::vector<ChainTensor> FreedList;
      ChainStep S = step(R, Ops[I], &FreedList);
      if (S.ok())
        InputWas = Before.count((S.Input.Kind == K::X ? "x" : "xb") +
                                std::to_string(S.Input.Index));
      bool Valid = Spec.apply(Ops[I]);
      REQUIRE(S.ok() == Valid);
      if (!Valid) {
        CHECK(residents(R) == Before);
        CHECK(FreedList.empty());
        ++Invalid;
        break;
      }
      CHECK(InputWas);
      CHECK(residents(R) == Spec.Res);
      std::set<std::string> Added, Removed;
      for (const std::string &T : Spec.Res)
        if (!Before.count(T))
          Added.insert(T);
      for (const std::string &T : Before)
        if (!Spec.Res.count(T))
          Removed.insert(T);
      auto Spelled = [](ChainTensor T) {
        return (T.Kind == K::X      ? "x"
                : T.Kind == K::XBar ? "xb"
                                    : "y") +
               std::to_string(T.Index);
      };
      CHECK(Added == std::set<std::string>{Spelled(S.Output)});
      std::set<std::string> Freed;
      for (ChainTensor T : FreedList)
        Freed.insert(Spelled(T));
      CHECK(Freed == Removed);
    }
    Complete += R.y0Produced();
  }
  // Both kinds of ending occur often enough to mean something.
  MESSAGE("complete " << Complete << ", invalid " << Invalid);
  CHECK(Complete > 200);
  CHECK(Invalid > 300);
}

TEST_CASE("graph replay: random op sequences follow spec §3b read literally") {
  // 1000 seeded sequences on seeded random layered graphs (forward and
  // backward): the engine and SpecGraph agree op by op, and on which node
  // was first never computed.
  std::mt19937_64 Rng(16);
  unsigned Complete = 0, Invalid = 0;
  for (int Case = 0; Case < 1000; ++Case) {
    Graph G = randomLayeredGraph(Case, 3 + Case % 4, 2);
    std::vector<GraphOp> Ops = randomGraphOps(Rng, G);
    GraphReplay R(G);
    SpecGraph Spec(G);
    bool Failed = false;
    for (const GraphOp &Op : Ops) {
      CAPTURE(Case);
      GraphStep S = R.step(Op);
      bool Valid = Spec.apply(Op);
      REQUIRE(S.ok() == Valid);
      if (!Valid) {
        Failed = true;
        break;
      }
      std::set<unsigned> Got;
      R.forEachResident([&](unsigned V) { Got.insert(V); });
      CHECK(Got == Spec.Res);
    }
    Invalid += Failed;
    std::optional<unsigned> Missing = R.firstNeverComputed();
    std::optional<unsigned> Want;
    for (unsigned V = 0; V < G.size() && !Want; ++V)
      if (!Spec.Done.count(V))
        Want = V;
    CHECK(Missing == Want);
    Complete += !Want;
  }
  MESSAGE("complete " << Complete << ", invalid " << Invalid);
  CHECK(Complete > 100);
  CHECK(Invalid > 100);
}

TEST_CASE("graph replay: faults name the node and change nothing") {
  // a -> b: computing b first misses a; freeing a twice misses a; a second
  // compute of a is refused while a is resident.
  Graph G;
  G.add("a", Phase::Forward, 1, 4, {});
  G.add("b", Phase::Forward, 1, 4, {0});
  G.finalize();
  GraphReplay R(G);
  GraphStep S = R.step({GraphOpKind::Compute, 1});
  CHECK(S.Fault == GraphFault::InputNotResident);
  CHECK(S.Culprit == 0);
  REQUIRE(R.step({GraphOpKind::Compute, 0}).ok());
  S = R.step({GraphOpKind::Compute, 0});
  CHECK(S.Fault == GraphFault::AlreadyResident);
  CHECK(graphFaultText(3, {GraphOpKind::Compute, 0}, S, G) ==
        "op 3 (compute a): a is already resident");
  REQUIRE(R.step({GraphOpKind::Free, 0}).ok());
  S = R.step({GraphOpKind::Free, 0});
  CHECK(S.Fault == GraphFault::NotResident);
  S = R.step({GraphOpKind::Free, 9});
  CHECK(S.Fault == GraphFault::NodeOutOfRange);
  CHECK(graphFaultText(4, {GraphOpKind::Free, 9}, S, G) ==
        "op 4: node id 9 is out of range (the graph has 2 nodes)");
  CHECK(R.firstNeverComputed() == std::optional<unsigned>(1));
}

//===- tests/planner/SimulatorTest.cpp - spec §3a/§3b replay --------------===//
//
// Every expected number below is worked out by hand in the comments from the
// chain in SimTestUtil.h (x_0 = 10; outputs 20, 40, 8; saved 30, 50, 16).

#include "SimTestUtil.h"

#include "planner/ChainStrategies.h"
#include "planner/Errors.h"
#include "planner/GraphPlanner.h"
#include "planner/Simulator.h"

#include <doctest/doctest.h>

using namespace remat;
using namespace remat::test;

namespace {

std::string errorText(llvm::Error E) {
  std::string Msg;
  bool IsInvalid = false;
  llvm::handleAllErrors(
      std::move(E),
      [&](const InvalidScheduleError &SE) {
        IsInvalid = true;
        Msg = SE.Msg;
      },
      [&](const llvm::ErrorInfoBase &EI) { Msg = "other: " + EI.message(); });
  return IsInvalid ? Msg : Msg + " (not an InvalidScheduleError)";
}

std::string chainError(const std::vector<ChainOp> &Ops) {
  auto R = simulateChain(handChain(), Ops);
  if (R)
    return "valid";
  return errorText(R.takeError());
}

} // namespace

TEST_CASE("sim: store-all on the hand chain, op by op") {
  Chain C = handChain();
  std::vector<ChainOp> Ops = storeAllOps(C);
  REQUIRE(Ops == std::vector<ChainOp>{fall(0), fall(1), fall(2), lossOp(),
                                      bwd(2), bwd(1), bwd(0)});
  auto R = simulateChain(C, Ops, {/*RecordTimeline=*/true});
  REQUIRE(R);
  // start 10
  // F_all 0: +xbar_1 30 -> 40, peak 40 + fwd_ws 5 = 45
  // F_all 1: +50 -> 90;  F_all 2: +16 -> 106
  // loss: +y_3 8 -> 114, peak 114 + 3 = 117; x_3 is recorded, so kept
  // B 2: +y_2 40 -> 154, peak 155; -y_3 8 -xbar_3 16 -> 130
  // B 1: +y_1 20 -> 150, peak 150; -40 -50 -> 60
  // B 0: +y_0 10 -> 70, peak 77; -y_1 20 -xbar_1 30 -x_0 10 -> 10
  std::vector<uint64_t> Resident = {40, 90, 106, 114, 154, 150, 70};
  std::vector<uint64_t> Peak = {45, 90, 106, 117, 155, 150, 77};
  std::vector<uint64_t> After = {40, 90, 106, 114, 130, 60, 10};
  REQUIRE(R->Timeline.size() == 7);
  for (size_t I = 0; I < 7; ++I) {
    CAPTURE(I);
    CHECK(R->Timeline[I].ResidentBytes == Resident[I]);
    CHECK(R->Timeline[I].PeakBytes == Peak[I]);
    CHECK(R->Timeline[I].AfterBytes == After[I]);
  }
  CHECK(R->PeakBytes == 155);
  CHECK(R->PeakOpIndex == 4);
  // 1 + 3 + 5 + 0.5 + 6 + 4 + 2
  CHECK(R->Time == doctest::Approx(21.5));
  CHECK(R->Timeline.back().EndTime == doctest::Approx(21.5));
  CHECK(R->ForwardOps == 3);
  CHECK(R->ForwardRecomputations == 0);
}

TEST_CASE("sim: every-2 checkpointing on the hand chain") {
  Chain C = handChain();
  std::vector<ChainOp> Ops = {fck(0), fn(1),   fck(2),  lossOp(), fall(2),
                              bwd(2), fall(0), fall(1), bwd(1),   bwd(0)};
  auto R = simulateChain(C, Ops, {true});
  REQUIRE(R);
  // F_ck 0: +x_1 20 -> 30 (peak 35)    F_n 1: +x_2 40 -> 70, -x_1 -> 50
  // F_ck 2: +x_3 8 -> 58               loss: +y_3 8 -> 66 (peak 69), -x_3 -> 58
  // F_all 2: +xbar_3 16 -> 74          B 2: +y_2 40 -> 114 (peak 115),
  //   -y_3 -xbar_3 -> 90, -x_2 -> 50
  // F_all 0: +30 -> 80 (peak 85)       F_all 1: +50 -> 130
  // B 1: +y_1 20 -> 150, -40 -50 -> 60  B 0: +10 -> 70 (peak 77) -> 10
  std::vector<uint64_t> Peak = {35, 70, 58, 69, 74, 115, 85, 130, 150, 77};
  std::vector<uint64_t> After = {30, 50, 58, 58, 74, 50, 80, 130, 60, 10};
  for (size_t I = 0; I < Ops.size(); ++I) {
    CAPTURE(I);
    CHECK(R->Timeline[I].PeakBytes == Peak[I]);
    CHECK(R->Timeline[I].AfterBytes == After[I]);
  }
  CHECK(R->PeakBytes == 150);
  // forward 1+3+5 + recompute 5+1+3 = 18, backward 12, loss 0.5
  CHECK(R->Time == doctest::Approx(30.5));
  CHECK(R->ForwardRecomputations == 3);
  // The library's every-K builds exactly these ops.
  auto Every = everyOps(C, 2);
  REQUIRE(Every);
  CHECK(*Every == Ops);
}

TEST_CASE("sim: a loss that frees its input, recorded and plain x_L") {
  Chain C = handChain();
  C.Loss.FreesInput = true;
  auto R = simulateChain(C, storeAllOps(C), {true});
  REQUIRE(R);
  // As store-all above up to F_all 2 (106). loss: x_3's share of xbar_3 (8)
  // goes before y_3 (8) comes: 106, peak 106 + 3 = 109; xbar_3 now holds
  // 16 - 8 = 8. B 2: +y_2 40 -> 146, peak 147; -y_3 8 -xbar_3 8 -> 130.
  // B 1: +20 -> 150, -40 -50 -> 60. B 0: +10 -> 70 (peak 77) -> 10.
  std::vector<uint64_t> Peak = {45, 90, 106, 109, 147, 150, 77};
  std::vector<uint64_t> After = {40, 90, 106, 106, 130, 60, 10};
  for (size_t I = 0; I < Peak.size(); ++I) {
    CAPTURE(I);
    CHECK(R->Timeline[I].PeakBytes == Peak[I]);
    CHECK(R->Timeline[I].AfterBytes == After[I]);
  }
  CHECK(R->PeakBytes == 150); // B 1 now, 155 at B 2 without the flag

  // Every-2: the loss frees the plain x_3 first: 58 - 8 + 8 = 58, peak 61.
  // F_all 2 after the loss: +16 -> 74 (its peak), then x_3's share goes at
  // once -> 66. B 2: +40 -> 106 (peak 107); -y_3 8, -xbar_3 8, -x_2 40 ->
  // 50. The rest as without the flag.
  std::vector<ChainOp> Ops = {fck(0), fn(1),   fck(2),  lossOp(), fall(2),
                              bwd(2), fall(0), fall(1), bwd(1),   bwd(0)};
  R = simulateChain(C, Ops, {true});
  REQUIRE(R);
  Peak = {35, 70, 58, 61, 74, 107, 85, 130, 150, 77};
  After = {30, 50, 58, 58, 66, 50, 80, 130, 60, 10};
  for (size_t I = 0; I < Peak.size(); ++I) {
    CAPTURE(I);
    CHECK(R->Timeline[I].PeakBytes == Peak[I]);
    CHECK(R->Timeline[I].AfterBytes == After[I]);
  }
}

TEST_CASE("sim: the start is part of the peak") {
  Chain C;
  C.InputBytes = 1000;
  C.Stages.push_back({"tiny", "", 1, 1, 1, 1, 0, 0});
  auto R = simulateChain(C, storeAllOps(C));
  REQUIRE(R);
  // start 1000; F_all: 1001; loss: 1002; B: +y_0 1000 -> 2002: the gradient
  // of x_0 is as large as x_0, so the start alone is never the peak of a
  // complete schedule, only of a prefix.
  CHECK(R->PeakBytes == 2002);
  auto Prefix = simulateChain(C, {}, {false, /*RequireComplete=*/false});
  REQUIRE(Prefix);
  CHECK(Prefix->PeakBytes == 1000);
  CHECK(Prefix->PeakOpIndex == SIZE_MAX);
}

TEST_CASE("sim: invalid chain schedules are rejected with exact messages") {
  CHECK(chainError({fall(0), fall(1), fall(2), bwd(2)}) ==
        "op 3 (B layer 2): y_3 is not resident");
  CHECK(chainError({fck(0), fck(1), fck(2), lossOp(), bwd(2)}) ==
        "op 4 (B layer 2): xbar_3 is not resident");
  CHECK(chainError({fn(0), fck(0)}) ==
        "op 1 (F_ck layer 0): x_0 is not resident");
  CHECK(chainError({fall(0), fck(9)}) ==
        "op 1 (F_ck layer 9): layer 9 is out of range (the chain has 3 "
        "stages)");
  CHECK(chainError({fall(0), bwd(3)}) ==
        "op 1 (B layer 3): layer 3 is out of range (the chain has 3 stages)");
  CHECK(chainError({lossOp()}) == "op 0 (loss): x_3 is not resident");
  CHECK(chainError({fall(0), fall(1), fall(2), lossOp()}) ==
        "schedule is incomplete: y_0 was never produced");
  CHECK(chainError({}) == "schedule is incomplete: y_0 was never produced");
  CHECK(chainError({fck(0), fck(0)}) ==
        "op 1 (F_ck layer 0): x_1 is already resident");
  CHECK(chainError({fck(0), fall(0)}) ==
        "op 1 (F_all layer 0): x_1 is already resident");
  CHECK(chainError({fall(0), fn(0)}) ==
        "op 1 (F_n layer 0): xbar_1 is already resident");
  CHECK(chainError({fall(0), fall(1), fall(2), lossOp(), lossOp()}) ==
        "op 4 (loss): the loss has already run");
  CHECK(chainError({fall(0), fall(1), fall(2), lossOp(), bwd(2), bwd(2)}) ==
        "op 5 (B layer 2): xbar_3 is not resident");
  CHECK(chainError({fall(0), fall(1), fall(2), lossOp(), bwd(2), bwd(0)}) ==
        "op 5 (B layer 0): y_1 is not resident");
  // F_n of stage 1 frees the recorded xbar_1 (no plain x_1 is there), so
  // the backward of stage 0 finds nothing to work with.
  CHECK(chainError({fall(0), fn(1), fall(2), lossOp(), bwd(2), bwd(1)}) ==
        "op 5 (B layer 1): xbar_2 is not resident");
}

TEST_CASE("sim: F_n frees the recorded input when no plain one is resident") {
  // F_all 0 records xbar_1; F_n 1 then frees xbar_1 (30), not x_0.
  auto R = simulateChain(handChain(), {fall(0), fn(1)}, {true, false});
  REQUIRE(R);
  // 10 + 30 = 40; + x_2 40 = 80; - xbar_1 30 = 50
  CHECK(R->Timeline[1].ResidentBytes == 80);
  CHECK(R->Timeline[1].AfterBytes == 50);
}

TEST_CASE("sim: a chain without stages") {
  Chain C;
  C.InputBytes = 7;
  C.Loss = {2, 1};
  auto R = simulateChain(C, storeAllOps(C));
  REQUIRE(R);
  // start 7; loss: +y_0 7 -> 14, peak 15; then x_0 (= x_L, plain) freed.
  CHECK(R->PeakBytes == 15);
  CHECK(R->Time == 2);
}

namespace {
/// a -> b -> loss -> g.b -> g.a, with g.b also reading a.
Graph handGraph() {
  Graph G;
  auto Add = [&](const char *Name, double T, uint64_t Bytes, uint64_t Ws,
                 Phase P, llvm::SmallVector<unsigned, 4> In) {
    Node N;
    N.Name = Name;
    N.Time = T;
    N.Bytes = Bytes;
    N.Workspace = Ws;
    N.NodePhase = P;
    N.Inputs = In;
    G.Nodes.push_back(N);
  };
  Add("a", 1, 4, 0, Phase::Forward, {});
  Add("b", 2, 6, 2, Phase::Forward, {0});
  Add("loss", 0.5, 1, 0, Phase::Loss, {1});
  Add("g.b", 3, 6, 0, Phase::Backward, {2, 0});
  Add("g.a", 1, 4, 0, Phase::Backward, {3});
  G.finalize();
  return G;
}

std::string graphError(const std::vector<GraphOp> &Ops) {
  auto R = simulateGraph(handGraph(), Ops);
  if (R)
    return "valid";
  return errorText(R.takeError());
}

GraphOp comp(unsigned N) { return {GraphOpKind::Compute, N}; }
GraphOp freeOp(unsigned N) { return {GraphOpKind::Free, N}; }
} // namespace

TEST_CASE("sim: store-all on a hand graph") {
  Graph G = handGraph();
  std::vector<GraphOp> Ops = storeAllGraphOps(G);
  // a's last user is g.b (3); b's is loss; loss's is g.b; g.b's is g.a;
  // g.a has no users and stays.
  std::vector<GraphOp> Want = {comp(0),   comp(1), comp(2),
                               freeOp(1), comp(3), freeOp(2),
                               freeOp(0), comp(4), freeOp(3)};
  CHECK(Ops == Want);
  auto R = simulateGraph(G, Ops, {true});
  REQUIRE(R);
  // a: 4; b: 10 (+ws 2 = 12); loss: 11; free b: 5; g.b: 11; free loss: 10;
  // free a: 6; g.a: 10; free g.b: 4
  CHECK(R->PeakBytes == 12);
  CHECK(R->PeakOpIndex == 1);
  CHECK(R->Timeline.back().AfterBytes == 4);
  CHECK(R->Time == doctest::Approx(7.5)); // 1 + 2 + 0.5 + 3 + 1
  CHECK(R->ForwardOps == 2);
  CHECK(R->ForwardRecomputations == 0);
}

TEST_CASE("sim: graph recomputation is counted") {
  // Free a after b, recompute it for g.b: 3 forward computes for 2 nodes.
  std::vector<GraphOp> Ops = {comp(0), comp(1),   freeOp(0), comp(2),
                              comp(0), freeOp(1), comp(3),   comp(4)};
  auto R = simulateGraph(handGraph(), Ops);
  REQUIRE(R);
  CHECK(R->ForwardRecomputations == 1);
  CHECK(R->Time == doctest::Approx(8.5)); // 7.5 + a again
}

TEST_CASE("sim: invalid graph schedules are rejected with exact messages") {
  CHECK(graphError({comp(1)}) == "op 0 (compute b): a is not resident");
  CHECK(graphError({comp(0), comp(0)}) ==
        "op 1 (compute a): a is already resident");
  CHECK(graphError({comp(0), freeOp(1)}) == "op 1 (free b): b is not resident");
  CHECK(graphError({comp(0), comp(1), comp(2)}) ==
        "schedule is incomplete: node g.b was never computed");
  CHECK(graphError({comp(0), {GraphOpKind::Compute, 99}}) ==
        "op 1: node id 99 is out of range (the graph has 5 nodes)");
}

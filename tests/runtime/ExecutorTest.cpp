//===- tests/runtime/ExecutorTest.cpp - Chain executor and allocator ------===//
//
// Peaks here are worked out by hand from spec §3a, with the arithmetic in
// comments; the hand-built schedules come from RuntimeTestUtil.h.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"

#include "planner/Baselines.h"
#include "planner/Errors.h"
#include "planner/Simulator.h"
#include "runtime/Executor.h"
#include "runtime/Synthetic.h"
#include "runtime/TrackingAllocator.h"

#include <doctest/doctest.h>

using namespace remat;
using namespace remat::test;

static RunResult runOk(const Chain &C, const std::vector<ChainOp> &Ops) {
  auto Dev = createCpuBackend();
  SyntheticWorkload W(C, *Dev, 0.01);
  auto R = runChain(W, Ops, *Dev);
  REQUIRE_MESSAGE(bool(R), (R ? "" : llvm::toString(R.takeError())));
  return *R;
}

static std::string runErr(const Chain &C, const std::vector<ChainOp> &Ops) {
  auto Dev = createCpuBackend();
  SyntheticWorkload W(C, *Dev, 0.01);
  auto R = runChain(W, Ops, *Dev);
  REQUIRE_FALSE(bool(R));
  std::string Msg;
  llvm::handleAllErrors(
      R.takeError(), [&](const InvalidScheduleError &E) { Msg = E.Msg; },
      [&](const llvm::ErrorInfoBase &E) { Msg = "other: " + E.message(); });
  return Msg;
}

TEST_CASE("tracking allocator: live and peak bytes are exact") {
  auto Dev = createCpuBackend();
  TrackingAllocator A(*Dev);
  auto X = A.allocate(100);
  REQUIRE(bool(X));
  auto Y = A.allocate(50);
  REQUIRE(bool(Y));
  CHECK(A.liveBytes() == 150);
  A.release(*X);
  CHECK(A.liveBytes() == 50);
  auto Z = A.allocate(0); // empty buffers cost nothing and count nothing
  REQUIRE(bool(Z));
  CHECK(Z->Data == nullptr);
  auto W = A.allocate(70);
  REQUIRE(bool(W));
  CHECK(A.liveBytes() == 120);
  CHECK(A.peakBytes() == 150); // 100 + 50 was the high point
  CHECK(A.allocations() == 3);
  A.release(*Y);
  A.release(*W);
  CHECK(A.liveBytes() == 0);
}

TEST_CASE("executor: store-everything peak by hand") {
  // L = 4, x = 1 byte, x̄ = 2 bytes. After F_all 0..3: x_0 + 4 x̄ = 9;
  // loss adds y_4: 10; B 3 adds y_3: 11, then frees y_4 and x̄_4 -> 8, and
  // every later B adds 1 and frees 3. Peak 11.
  Chain C = uniformChain(4, 1, 2);
  RunResult R = runOk(C, storeAllOps(C));
  CHECK(R.PeakBytes == 11);
  CHECK(R.EndLiveBytes == 1); // y_0 alone: B 0 freed x_0
  CHECK(R.ForwardOps == 4);
  CHECK(R.ForwardRecomputations == 0);
  CHECK(R.PerOpMicros.size() == 9);
}

TEST_CASE("executor: two segments peak and recomputations by hand") {
  // Segments [0,2) and [2,4): F_ck 0 {x0,x1}=2, F_n 1 -> {x0,x2}=2 (3 at
  // its peak), F_all 2, 3 -> 6, loss -> 7, B 3 adds y_3 -> 8 (peak), frees
  // y4, x̄4 -> 5; B 2 -> 6, frees y3, x̄3, x2 -> 2; F_all 0, 1 -> 6; B 1 -> 7.
  Chain C = uniformChain(4, 1, 2);
  RunResult R = runOk(C, segmentSchedule(4, {0, 2}));
  CHECK(R.PeakBytes == 8);
  CHECK(R.ForwardOps == 6);
  CHECK(R.ForwardRecomputations == 2);
  CHECK(R.ForwardCounts == std::vector<unsigned>{2, 2, 1, 1});
}

TEST_CASE("executor: workspaces count for the op's duration only") {
  // As above with fwd_workspace 5 on stage 3: F_all 3 peaks at 4 + 2 + 5 =
  // 11 in the segmented plan, 7 + 2 + 5 = 14 storing everything. A backward
  // workspace of 4 on stage 0: B 0 in store-everything sees x_0, x̄_1, y_1
  // (4) + y_0 (1) + 4 = 9 < 14.
  Chain C = uniformChain(4, 1, 2);
  C.Stages[3].FwdWorkspace = 5;
  C.Stages[0].BwdWorkspace = 4;
  CHECK(runOk(C, segmentSchedule(4, {0, 2})).PeakBytes == 11);
  CHECK(runOk(C, storeAllOps(C)).PeakBytes == 14);
}

TEST_CASE("executor: recompute-all counts L(L-1)/2 recomputations") {
  Chain C = uniformChain(5, 3, 7);
  RunResult R = runOk(C, recomputeAllSchedule(5));
  CHECK(R.ForwardRecomputations == 10); // 5 * 4 / 2
  CHECK(R.ForwardCounts == std::vector<unsigned>{5, 4, 3, 2, 1});
  // Peak: at B 4 the residents are x_0, x_4 (F_all keeps it), x̄_5, y_5
  // and the new y_4: 3 + 3 + 7 + 3 + 3 = 19.
  CHECK(R.PeakBytes == 19);
}

TEST_CASE("executor: the loss frees a plain x_L") {
  // F_ck 0 keeps x_0 and makes x_1; loss adds y_1 (peak 3 of 1-byte
  // tensors) and frees x_1; F_all 0 adds x̄_1 (2): 1 + 1 + 2 = 4; B 0: + y_0
  // = 5, then frees y_1, x̄_1, x_0 -> y_0 alone.
  Chain C = uniformChain(1, 1, 2);
  std::vector<ChainOp> Ops = {{ChainOpKind::FCk, 0},
                              {ChainOpKind::Loss, 0},
                              {ChainOpKind::FAll, 0},
                              {ChainOpKind::B, 0}};
  RunResult R = runOk(C, Ops);
  CHECK(R.PeakBytes == 5);
  CHECK(R.EndLiveBytes == 1);
  CHECK(R.ForwardRecomputations == 1);
}

TEST_CASE("executor: invalid schedules name the op and the tensor") {
  Chain C = uniformChain(3, 1, 2);
  CHECK(runErr(C, {{ChainOpKind::FAll, 1}}) ==
        "op 0 (F_all layer 1): neither x_1 nor x̄_1 is resident");
  CHECK(runErr(C, {{ChainOpKind::FAll, 0}, {ChainOpKind::B, 0}}) ==
        "op 1 (B layer 0): y_1 is not resident");
  CHECK(runErr(C, {{ChainOpKind::FCk, 0}, {ChainOpKind::FCk, 0}}) ==
        "op 1 (F_ck layer 0): x_1 is already resident");
  CHECK(runErr(C, {{ChainOpKind::FCk, 7}}) ==
        "op 0 (F_ck layer 7): layer 7 is out of range (chain has 3 stages)");
  CHECK(runErr(C, {{ChainOpKind::FAll, 0}}) ==
        "the schedule ends without producing y_0");
}

/// x_0 10 B; stage 0 makes x_1 10 B (x̄_1 20 B); stage 1 makes the 100 B
/// x_2 (x̄_2 150 B); no workspaces; the loss frees its input.
static Chain bigHeadChain() {
  Chain C;
  C.InputBytes = 10;
  C.Stages.push_back({"body", "", 1, 1, 10, 20, 0, 0});
  C.Stages.push_back({"head", "", 1, 1, 100, 150, 0, 0});
  C.Loss.FreesInput = true;
  return C;
}

TEST_CASE("executor: a loss that frees its input, recorded and plain x_L") {
  Chain C = bigHeadChain();
  // Store-all: 10; F_all 0 +20 -> 30; F_all 1 +150 -> 180; the loss frees
  // x_2's 100 B share of x̄_2 before y_2 (100 B): 180; B 1 +y_1 10 -> 190,
  // -y_2 100, -the 50 B left of x̄_2 -> 40; B 0 +10 -> 50, then x_0, x̄_1
  // and y_1 go (10 + 20 + 10) -> 10, y_0 alone.
  // Without the flag the loss peaks at 280 and B 1 at 290.
  using K = ChainOpKind;
  RunResult R = runOk(
      C, {{K::FAll, 0}, {K::FAll, 1}, {K::Loss, 0}, {K::B, 1}, {K::B, 0}});
  CHECK(R.PeakBytes == 190);
  CHECK(R.EndLiveBytes == 10);
  // The plain x_2 at the loss, recorded after it: F_ck 0 +10 -> 20; F_n 1
  // +100 -> 120, -x_1 -> 110; the loss frees x_2 before y_2: 110; F_all 0
  // +20 -> 130; F_all 1 +150 -> 280, then x_2's share goes at once -> 180;
  // B 1 +10 -> 190 -> 40; B 0 -> 10. Peak 280, not 290.
  R = runOk(C, {{K::FCk, 0},
                {K::FN, 1},
                {K::Loss, 0},
                {K::FAll, 0},
                {K::FAll, 1},
                {K::B, 1},
                {K::B, 0}});
  CHECK(R.PeakBytes == 280);
  CHECK(R.EndLiveBytes == 10);
  C.Loss.FreesInput = false; // the control: the rotor semantics
  CHECK(
      runOk(C, {{K::FAll, 0}, {K::FAll, 1}, {K::Loss, 0}, {K::B, 1}, {K::B, 0}})
          .PeakBytes == 290);
}

TEST_CASE("executor: a loss that frees its input peaks as simulated") {
  // Seeded: random chains under the flag, three schedule shapes each; the
  // simulator's arithmetic is checked by hand in SimulatorTest.
  for (uint64_t Seed = 1; Seed <= 20; ++Seed) {
    Chain C = randomChain(2 + Seed % 5, Seed);
    C.Loss.FreesInput = true;
    unsigned L = C.size();
    for (const auto &Ops : {storeAllOps(C), recomputeAllSchedule(L),
                            segmentSchedule(L, {0, L / 2})}) {
      CAPTURE(Seed);
      auto Sim = simulateChain(C, Ops);
      REQUIRE(bool(Sim));
      RunResult R = runOk(C, Ops);
      CHECK(R.PeakBytes == Sim->PeakBytes);
    }
  }
}

namespace {
/// A workload whose kernels read x̄_L whole (the default).
struct WholeRecordWorkload final : ChainWorkload {
  explicit WholeRecordWorkload(const Chain &C) : C(C) {}
  const Chain &chain() const override { return C; }
  void initInput(Buffer) override {}
  void forward(unsigned, TensorRef, Buffer, bool, Buffer) override {}
  void loss(TensorRef, Buffer, Buffer) override {}
  void backward(unsigned, Buffer, Buffer, Buffer, Buffer) override {}
  const Chain &C;
};
} // namespace

TEST_CASE("executor: a workload that reads x̄_L whole refuses the flag") {
  Chain C = bigHeadChain();
  auto Dev = createCpuBackend();
  WholeRecordWorkload W(C);
  auto R = runChain(W, storeAllOps(C), *Dev);
  REQUIRE_FALSE(bool(R));
  CHECK(llvm::toString(R.takeError()).find("frees_input") != std::string::npos);
  C.Loss.FreesInput = false;
  CHECK(bool(runChain(W, storeAllOps(C), *Dev)));
}

TEST_CASE("executor: byte scaling rounds up and keeps zeros") {
  Chain C = uniformChain(2, 10, 25);
  C.Stages[1].FwdWorkspace = 1;
  Chain S = scaleChainBytes(C, 4);
  CHECK(S.InputBytes == 3);             // ceil(10 / 4)
  CHECK(S.Stages[0].SavedBytes == 7);   // ceil(25 / 4)
  CHECK(S.Stages[1].FwdWorkspace == 1); // ceil(1 / 4)
  CHECK(S.Stages[0].FwdWorkspace == 0);
  CHECK(S.Stages[0].FwdTime == C.Stages[0].FwdTime);
}

TEST_CASE("executor: synthetic ops last at least their scaled time") {
  // 3 stages of fwd 1 + bwd 2 units, loss 0: 9 units at 20 us each is at
  // least 180 us of busy work (the clock is the calibration, so never less).
  Chain C = uniformChain(3, 8, 16);
  auto Dev = createCpuBackend();
  SyntheticWorkload W(C, *Dev, 20);
  auto R = runChain(W, storeAllOps(C), *Dev);
  REQUIRE(bool(R));
  CHECK(R->OpMicros >= 180);
  CHECK(R->WallMicros >= R->OpMicros);
}

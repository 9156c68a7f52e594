//===- tests/planner/MaxBatchTest.cpp - The largest batch that fits -------===//

#include "planner/MaxBatch.h"

#include "GraphFixtures.h"
#include "planner/ChainDP.h"

#include <doctest/doctest.h>

using namespace remat;
using remat::test::diamondGraph;

namespace {
/// Three stages with round sizes.
Chain smallChain() {
  Chain C;
  C.InputBytes = 100;
  for (int I = 0; I < 3; ++I) {
    Stage S;
    S.Name = "s" + std::to_string(I);
    S.Kind = I == 1 ? "attention" : "mlp";
    S.FwdTime = 1;
    S.BwdTime = 2;
    S.OutputBytes = 100;
    S.SavedBytes = 300;
    S.FwdWorkspace = 40;
    S.BwdWorkspace = 40;
    C.Stages.push_back(S);
  }
  return C;
}
} // namespace

TEST_CASE("maxbatch: scaling rounds bytes up and scales times") {
  Chain C = smallChain();
  C.Stages[0].OutputBytes = 10;
  // File batch 4: batch 6 gives ceil(10 * 6 / 4) = 15 bytes, batch 3 gives
  // ceil(30 / 4) = 8; times scale by 6/4 = 1.5.
  Chain S6 = scaleChain(C, 4, 6);
  CHECK(S6.Stages[0].OutputBytes == 15);
  CHECK(S6.Stages[0].SavedBytes == 450);
  CHECK(S6.Stages[0].FwdTime == 1.5);
  CHECK(S6.InputBytes == 150);
  CHECK(scaleChain(C, 4, 3).Stages[0].OutputBytes == 8);
}

TEST_CASE("maxbatch: batches follow linear scaling of the peaks") {
  Model M;
  M.Path = "mem.json";
  M.Name = "small";
  M.AsChain = smallChain();
  M.Static.Parameters = 1000;
  // Without batch_size, the costs are batch 1 and every size scales
  // exactly, so a plan's peak at batch b is b times its batch-1 peak.
  uint64_t Min1 = minFeasibleChainBudget(*M.AsChain);
  MaxBatchOptions O;
  O.DeviceMemoryBytes = 1000 + 7 * Min1 + Min1 / 2;
  auto R = computeMaxBatch(M, O);
  REQUIRE_MESSAGE(bool(R), llvm::toString(R.takeError()));
  CHECK_FALSE(R->BatchDeclared);
  CHECK(R->FileBatch == 1);
  CHECK(R->BudgetBytes == 7 * Min1 + Min1 / 2);
  CHECK(R->CheckpointedBatch == 7);
  for (const MaxBatchRow &Row : R->Rows) {
    CAPTURE(Row.Label);
    CHECK(Row.MaxBatch <= R->CheckpointedBatch);
    if (Row.MaxBatch)
      CHECK(Row.PeakBytes <= R->BudgetBytes);
  }
  CHECK(R->StandardBatch <= R->CheckpointedBatch);
  CHECK(R->OptimalPeakAtStandard <= R->StandardPeakBytes);
}

TEST_CASE("maxbatch: device memory below the static bytes is an error") {
  Model M;
  M.Path = "mem.json";
  M.AsChain = smallChain();
  M.Static.Optimizer = 5000;
  MaxBatchOptions O;
  O.DeviceMemoryBytes = 4000;
  auto R = computeMaxBatch(M, O);
  REQUIRE_FALSE(bool(R));
  CHECK(llvm::toString(R.takeError()).find("static") != std::string::npos);
}

TEST_CASE("maxbatch: graph models get the graph strategies") {
  Model M;
  M.Path = "diamond.json";
  M.Name = "diamond";
  M.G = diamondGraph();
  M.Static.Parameters = 100;
  // Store-all peak of the diamond is 26 bytes at batch 1 (GraphFixtures.h:
  // P, Q, Y, L = 25, plus gY). Without batch_size every size scales
  // exactly, so store-all fits batch b iff 26 b <= budget: with a budget of
  // 26 * 5 + 13 = 143 bytes the largest is 5 (130), and 6 needs 156.
  MaxBatchOptions O;
  O.DeviceMemoryBytes = 100 + 26 * 5 + 13;
  auto R = computeMaxBatch(M, O);
  REQUIRE_MESSAGE(bool(R), llvm::toString(R.takeError()));
  CHECK(R->BudgetBytes == 143);
  CHECK(R->StandardBatch == 5);
  CHECK(R->StandardPeakBytes == 130);
  std::vector<std::string> Labels;
  for (const MaxBatchRow &Row : R->Rows) {
    CAPTURE(Row.Label);
    Labels.push_back(Row.Label);
    if (Row.MaxBatch)
      CHECK(Row.PeakBytes <= R->BudgetBytes);
    // Checkpointing never fits fewer than storing everything.
    if (Row.Strategy == "optimal" && Row.Label == "optimal")
      CHECK(Row.MaxBatch >= R->StandardBatch);
  }
  CHECK(Labels == std::vector<std::string>{
                      "none", "recompute-all", "chen", "optimal",
                      "optimal, overhead <= 10%", "optimal, overhead <= 33%"});
  // The least budget at the standard batch is at most store-all's peak.
  CHECK(R->OptimalPeakAtStandard <= R->StandardPeakBytes);
  CHECK(R->OptimalPeakAtStandard > 0);
}

TEST_CASE("maxbatch: a search that reaches its limit reports the limit") {
  Model M;
  M.Path = "diamond.json";
  M.G = diamondGraph();
  MaxBatchOptions O;
  O.DeviceMemoryBytes = 26 * 1000; // store-all fits batch 1000
  O.BatchLimit = 3;
  auto R = computeMaxBatch(M, O);
  REQUIRE_MESSAGE(bool(R), llvm::toString(R.takeError()));
  CHECK(R->BatchLimit == 3);
  CHECK(R->StandardBatch == 3);
}

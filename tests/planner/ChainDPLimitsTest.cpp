//===- tests/planner/ChainDPLimitsTest.cpp - The chain DP's memory cap ----===//
//
// The chain DP estimates its tables before it allocates them and refuses
// over ChainDPOptions::MaxTableBytes (docs/limits.md). The estimates must be
// upper bounds on what the tables then hold (measured by their own
// tableBytes), and the refusal must come before any (L+1)^2 allocation.
//
//===----------------------------------------------------------------------===//

#include "planner/ChainDP.h"
#include "planner/chain/ChainDPDense.h"
#include "planner/chain/ChainDPTables.h"

#include "BruteForce.h"
#include "TestUtil.h"

#include <doctest/doctest.h>

#include <random>

using namespace remat;
using namespace remat::chaindp;
using namespace remat::test;

namespace {

/// \p L identical stages: fwd 1, bwd 2, output 8 B, saved 16 B.
Chain uniformChain(unsigned L) {
  Chain C;
  C.InputBytes = 4;
  for (unsigned I = 0; I != L; ++I) {
    Stage S;
    S.Name = "l" + std::to_string(I);
    S.FwdTime = 1;
    S.BwdTime = 2;
    S.OutputBytes = 8;
    S.SavedBytes = 16;
    C.Stages.push_back(S);
  }
  return C;
}

std::string errorOf(llvm::Expected<ChainDPResult> R) {
  REQUIRE_FALSE(bool(R));
  return llvm::toString(R.takeError());
}

} // namespace

// The dense tables' bytes, as the tables count them, never exceed the
// estimate, for random chains, budgets, precisions, clipping and split
// masks (every third stage; the estimate then counts only the columns
// built, and is below the unmasked one on every chain of 6 stages or more).
TEST_CASE("chaindp limits: the dense estimate bounds the dense tables") {
  std::mt19937_64 Rng(1717);
  for (int Trial = 0; Trial < 40; ++Trial) {
    Chain C = randomChain(Rng, 1 + Trial % 25, 30);
    DPChain D = exactChain(C);
    uint64_t Min = minFeasibleBudget(D);
    std::vector<char> Third(D.L + 1, 0);
    for (unsigned J = 3; J <= D.L; J += 3)
      Third[J] = 1;
    for (uint64_t B : {Min, Min + Min / 3, 3 * Min}) {
      for (bool Clip : {true, false})
        for (bool Single : {true, false})
          for (bool Masked : {false, true}) {
            DenseOptions O;
            O.ClipToReach = Clip;
            O.SinglePrecision = Single;
            if (Masked)
              O.SplitAt = Third;
            std::optional<DenseResult> R = planDense(D, B, O);
            if (Masked && !R)
              continue; // The subclass may not fit the least budget.
            REQUIRE(bool(R));
            uint64_t Est = denseTablesBytes(D, B, Single ? 4 : 8, Clip,
                                            Masked ? &Third : nullptr);
            CHECK(R->TableBytes <= Est);
            if (Masked && D.L >= 6)
              CHECK(Est < denseTablesBytes(D, B, Single ? 4 : 8, Clip));
          }
    }
  }
}

TEST_CASE("chaindp limits: 100000 stages are refused before allocating") {
  // The reproducer: reserving (L+1)^2 spans threw std::bad_alloc
  // ("terminate called", exit 134). (L+1)^2 * 32 B = 100001^2 * 32 B
  // = 320006400032 B = 298.03 GiB.
  Chain C = uniformChain(100000);
  ChainDPOptions O;
  O.BudgetBytes = 5000;
  std::string Msg = errorOf(planOptimalChain(C, O));
  CHECK(Msg == "optimal: the chain DP needs an estimated 298.03 GiB of "
               "tables for 100000 stages, over the limit of 16.00 GiB; use "
               "--strategy revolve or sqrt, which keep no tables, or a model "
               "with fewer stages (see docs/limits.md)");
  // The discretised DP's per-pair arrays: 100001^2 * 120 B = 1.09 TiB.
  O.MemorySlots = 100;
  CHECK(errorOf(planOptimalChain(C, O))
            .find("an estimated 1.09 TiB of tables for 100000 stages") !=
        std::string::npos);
  CHECK(llvm::toString(checkChainFrontierMemory(C, 0)) == Msg);
  CHECK(llvm::toString(checkChainFrontierMemory(C, 300)) == Msg);
}

TEST_CASE("chaindp limits: the cap is exact and can be raised") {
  // 10 stages: 11^2 pairs * 32 B = 3872 B for the exact DP's pair tables.
  Chain C = uniformChain(10);
  ChainDPOptions O;
  O.BudgetBytes = 1000;
  O.MaxTableBytes = 3871;
  CHECK(
      errorOf(planOptimalChain(C, O))
          .find("an estimated 3.78 KiB of tables for 10 stages, over the limit "
                "of 3.78 KiB") != std::string::npos);
  O.MaxTableBytes = 3872;
  CHECK(bool(planOptimalChain(C, O)));
}

TEST_CASE("chaindp limits: too many memory slots name the option") {
  // 40 stages of 1 MiB with 10^6 slots over a 24 MiB budget (below the
  // store-all peak of about 41 MiB, above the least of about 2 sqrt(40)
  // MiB): units of 26 B, each stage 40330 units, so the tables low in the
  // chain hold up to ~10^6 entries each; hundreds of them are far over a
  // 64 MiB cap, while the per-pair arrays (41^2 * 120 B = 197 KiB) fit.
  Chain C = test::uniformChain(40, 1 << 20, 1 << 20);
  ChainDPOptions O;
  O.BudgetBytes = 24 << 20;
  O.MemorySlots = 1000000;
  O.MaxTableBytes = 64 << 20;
  std::string Msg = errorOf(planOptimalChain(C, O));
  CHECK(Msg.find("use fewer --memory-slots (this plan used 1000000)") !=
        std::string::npos);
  O.MemorySlots = 100;
  CHECK(bool(planOptimalChain(C, O)));
}

//===- tests/planner/ChainDPDenseTest.cpp - Discretised chain DP ----------===//
//
// The dense tables' tiling, threads and single precision, against the exact
// step-function DP (planner/chain/ChainDPTables.cpp) and against each other.
//
//===----------------------------------------------------------------------===//

#include "planner/chain/ChainDPDense.h"

#include "BruteForce.h"
#include "planner/Simulator.h"
#include "planner/chain/ChainDPTables.h"

#include <doctest/doctest.h>

#include <random>

using namespace remat;
using namespace remat::chaindp;
using namespace remat::test;

namespace {

/// Times with fractions that float cannot hold exactly (k/3, k/7), so that
/// single precision really rounds.
Chain fractionalChain(std::mt19937_64 &Rng, unsigned L) {
  Chain C = randomChain(Rng, L, 20);
  for (Stage &S : C.Stages) {
    S.FwdTime = S.FwdTime / 3 + 0.1;
    S.BwdTime = S.BwdTime / 7 + 0.01;
  }
  C.Loss.BwdTime = C.Loss.BwdTime / 3;
  return C;
}

/// Budgets (bytes = units here) from the least feasible to past store-all.
std::vector<uint64_t> budgets(const DPChain &D) {
  uint64_t Min = minFeasibleBudget(D);
  return {Min, Min + Min / 4, Min + Min / 2, 2 * Min, 4 * Min};
}

} // namespace

// Tiles of every size from 1 (each table its own tile, so every split is a
// "middle" split of some tile) to more than the chain (one tile), and 1 to 3
// threads, must give the very same tables: each table is the min over the
// same candidates, only the order differs, and min is exact. Tables clipped
// to the m a plan can reach them with (the variants) must give the plan of
// whole tables (the reference). The time must also be the exact DP's
// optimum at every budget (one-byte units).
TEST_CASE("chaindp dense: tiles, threads and clipping do not change the plan") {
  std::mt19937_64 Rng(31);
  for (int Trial = 0; Trial < 30; ++Trial) {
    Chain C = randomChain(Rng, 1 + Trial * 3 % 45, 20);
    DPChain D = exactChain(C);
    Tables Exact(D);
    for (uint64_t B : budgets(D)) {
      DenseOptions Ref;
      Ref.Tile = 1;
      Ref.ClipToReach = false;
      std::optional<DenseResult> R0 = planDense(D, B, Ref);
      std::optional<Point> P = Exact.best(B);
      REQUIRE(bool(R0) == bool(P));
      if (!R0)
        continue;
      CHECK(R0->Time == doctest::Approx(P->Time));
      for (unsigned Tile : {2u, 3u, 7u, 32u})
        for (unsigned Threads : {1u, 2u, 3u}) {
          DenseOptions O;
          O.Tile = Tile;
          O.Threads = Threads;
          std::optional<DenseResult> R = planDense(D, B, O);
          REQUIRE(bool(R));
          CHECK(R->Time == R0->Time);
          CHECK(R->Ops == R0->Ops);
        }
    }
  }
}

// With a split mask (DenseOptions::SplitAt) only some tables are built and
// only some splits tried; that must not depend on tiles, threads or
// clipping either (chains of 40 to 130 stages, past one 32-table tile and
// into minMemTable's threads from 128 stages), every checkpoint of the plan
// must be allowed, and the plan must fit and be no faster than the plan
// over every stage.
TEST_CASE("chaindp dense: a split mask gives one plan whatever the tiles") {
  std::mt19937_64 Rng(37);
  for (unsigned L : {40u, 67u, 89u, 130u}) {
    Chain C = randomChain(Rng, L, 20);
    DPChain D = exactChain(C);
    std::vector<std::vector<char>> Masks(3, std::vector<char>(L + 1, 0));
    for (unsigned J = 1; J <= L; ++J) {
      Masks[0][J] = J % 3 == 0;
      Masks[1][J] = J % 5 == 1;
      Masks[2][J] = Rng() % 4 == 0;
    }
    for (uint64_t B : budgets(D))
      for (const std::vector<char> &Mask : Masks) {
        DenseOptions Ref;
        Ref.Tile = 1;
        Ref.ClipToReach = false;
        Ref.SplitAt = Mask;
        std::optional<DenseResult> R0 = planDense(D, B, Ref);
        if (!R0)
          continue;
        CAPTURE(L);
        CAPTURE(B);
        CHECK(onlyAt(R0->Ops, Mask));
        auto S = simulateChain(C, R0->Ops);
        REQUIRE(bool(S));
        CHECK(S->PeakBytes <= B);
        CHECK(S->Time == doctest::Approx(R0->Time));
        std::optional<DenseResult> Every = planDense(D, B, DenseOptions());
        REQUIRE(bool(Every));
        CHECK(R0->Time >= Every->Time * (1 - 1e-12));
        for (unsigned Tile : {2u, 7u, 32u})
          for (unsigned Threads : {1u, 3u}) {
            DenseOptions O;
            O.Tile = Tile;
            O.Threads = Threads;
            O.SplitAt = Mask;
            std::optional<DenseResult> R = planDense(D, B, O);
            REQUIRE(bool(R));
            CHECK(R->Time == R0->Time);
            CHECK(R->Ops == R0->Ops);
          }
      }
  }
}

// minMemTable with a mask: masked entries (and those built on them) may
// only be lower bounds on the least m, never above it; unmasked entries of
// a table whose inputs are all exact are exact; with every entry masked,
// each is the largest backward (or loss) peak of its stages, added up here
// from the chain.
TEST_CASE("chaindp dense: least memory with coarse entries is a lower bound") {
  std::mt19937_64 Rng(41);
  unsigned Lower = 0;
  for (int Trial = 0; Trial < 40; ++Trial) {
    DPChain D = exactChain(randomChain(Rng, 1 + Trial % 25, 20));
    unsigned L = D.L;
    std::vector<uint64_t> Exact = minMemTable(D);
    std::vector<char> Mask(Exact.size(), 0), All(Exact.size(), 1);
    for (char &M : Mask)
      M = std::uniform_int_distribution<int>(0, 3)(Rng) == 0;
    std::vector<uint64_t> Some = minMemTable(D, 1 + Trial % 3, &Mask);
    std::vector<uint64_t> Peaks = minMemTable(D, 1, &All);
    for (unsigned I = 0; I <= L; ++I)
      for (unsigned Lp = I; Lp <= L; ++Lp) {
        size_t X = size_t(I) * (L + 1) + Lp;
        CHECK(Some[X] <= Exact[X]);
        Lower += Some[X] < Exact[X];
        uint64_t Peak = 0;
        for (unsigned K = I; K <= Lp; ++K)
          Peak = std::max(Peak, K == L ? D.A[L] + D.LossWs
                                       : D.ABar[K + 1] + D.A[K + 1] + D.A[K] +
                                             D.BwdWs[K]);
        CHECK(Peaks[X] == Peak);
        CHECK(Peak <= Exact[X]);
      }
  }
  CHECK(Lower > 0); // the masks did lower some entries
}

// Single precision: the float tables' optimum is within the stated slack of
// the double tables' (both solve the same rounded chain), the lower bound
// Time / (1 + Slack) never exceeds the true optimum, and the float plan is a
// real plan: it fits and its exactly summed time is at least the optimum.
TEST_CASE("chaindp dense: single precision stays within its slack") {
  std::mt19937_64 Rng(37);
  for (int Trial = 0; Trial < 30; ++Trial) {
    Chain C = fractionalChain(Rng, 1 + Trial * 7 % 60);
    DPChain D = exactChain(C);
    for (uint64_t B : budgets(D)) {
      DenseOptions Single;
      Single.SinglePrecision = true;
      Single.Tile = 1 + Trial % 5;
      std::optional<DenseResult> F = planDense(D, B, Single);
      std::optional<DenseResult> G = planDense(D, B);
      REQUIRE(bool(F) == bool(G));
      if (!F)
        continue;
      CHECK(F->Slack == denseSlack(C.size(), true));
      CHECK(G->Slack == 0);
      CHECK(std::abs(F->Time - G->Time) <= F->Slack * G->Time);
      CHECK(F->Time / (1 + F->Slack) <= G->Time);
      auto S = simulateChain(C, F->Ops);
      REQUIRE_MESSAGE(bool(S), llvm::toString(S.takeError()));
      CHECK(S->PeakBytes <= B);
      CHECK(S->Time >= G->Time * (1 - 1e-12));
      CHECK(S->Time <= F->Time * (1 + F->Slack));
    }
  }
}

// The slack itself: (4L + 8) units of rounding, 2^-24 in float and 2^-53 in
// double. For L = 1000: 4008 * 2^-24 = 2.389e-4.
TEST_CASE("chaindp dense: the rounding slack") {
  CHECK(denseSlack(1000, true) == doctest::Approx(2.389e-4).epsilon(1e-3));
  CHECK(denseSlack(0, false) == 8 * 0x1p-53);
  CHECK(denseSlack(10, true) < denseSlack(11, true));
}

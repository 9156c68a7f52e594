//===- tests/planner/ChainDPEnvelopeTest.cpp - Exact DP against the old one
//===//
//
// The exact step-function DP merges each candidate into a running lower
// envelope, walks a split only where it can beat it, and clips tables at
// their store-all need and, with a budget, at their reach (issue 18). The
// sort-based DP it replaced (ChainDPSortedReference.h) is the reference:
// without a budget every table must be the same list of breakpoints (memory,
// time and choice); with one, the optimum at the budget must be the same and
// the plan must replay to it within the budget.
//
//===----------------------------------------------------------------------===//

#include "ChainDPSortedReference.h"

#include "BruteForce.h"
#include "planner/ChainDP.h"
#include "planner/Simulator.h"
#include "planner/chain/ChainDPTables.h"

#include <doctest/doctest.h>

#include <random>

using namespace remat;
using namespace remat::chaindp;
using namespace remat::test;

namespace {

/// randomChain with real-valued times (not sums of integers), so that
/// rounding of the time sums is exercised too.
Chain realTimed(std::mt19937_64 &Rng, unsigned L, uint64_t MaxBytes) {
  Chain C = randomChain(Rng, L, MaxBytes);
  std::uniform_real_distribution<double> U(0.1, 3);
  for (Stage &S : C.Stages) {
    S.FwdTime = U(Rng);
    S.BwdTime = U(Rng);
  }
  C.Loss.BwdTime = U(Rng);
  return C;
}

bool samePoints(llvm::ArrayRef<Point> A, const std::vector<Point> &B) {
  if (A.size() != B.size())
    return false;
  for (size_t K = 0; K < A.size(); ++K)
    if (A[K].Mem != B[K].Mem || A[K].Time != B[K].Time ||
        A[K].Choice != B[K].Choice)
      return false;
  return true;
}

} // namespace

TEST_CASE("chaindp envelope: whole tables equal the sort-based DP's") {
  std::mt19937_64 Rng(1801);
  for (int Trial = 0; Trial < 80; ++Trial) {
    unsigned L = 1 + Trial % 24;
    Chain C = Trial % 2 ? realTimed(Rng, L, 30) : randomChain(Rng, L, 30);
    DPChain D = exactChain(C);
    Tables New(D);
    SortedTables Old(D);
    int Differ = 0;
    for (unsigned Lp = 0; Lp <= L; ++Lp)
      for (unsigned I = 0; I <= Lp; ++I)
        Differ += !samePoints(New.at(I, Lp), Old.at(I, Lp));
    CAPTURE(Trial);
    CHECK(Differ == 0);
  }
}

TEST_CASE("chaindp envelope: with a budget, the same optimum and a plan "
          "that replays to it") {
  std::mt19937_64 Rng(1802);
  int Compared = 0;
  for (int Trial = 0; Trial < 120; ++Trial) {
    unsigned L = 1 + Trial % 30;
    Chain C = Trial % 2 ? realTimed(Rng, L, 1000) : randomChain(Rng, L, 1000);
    DPChain D = exactChain(C);
    SortedTables Whole(D);
    const std::vector<Point> &Top = Whole.at(0, L);
    REQUIRE(!Top.empty());
    // Budgets from below the least feasible one to past the store-all peak.
    uint64_t Least = Top.front().Mem + D.A[0], Most = Top.back().Mem + D.A[0];
    for (int Step = -1; Step <= 10; ++Step) {
      uint64_t B = Step < 0 ? Least - 1 : Least + (Most - Least) * Step / 8;
      // The sort-based optimum: its last breakpoint at or below B - x_0.
      std::optional<double> Want;
      SortedTables Capped(D, B);
      for (const Point &P : Capped.at(0, L))
        if (P.Mem + D.A[0] <= B)
          Want = P.Time;
      ChainDPOptions O;
      O.BudgetBytes = B;
      auto R = planOptimalChain(C, O);
      CAPTURE(Trial);
      CAPTURE(B);
      if (!Want) {
        CHECK_FALSE(bool(R));
        llvm::consumeError(R.takeError());
        continue;
      }
      REQUIRE_MESSAGE(bool(R), llvm::toString(R.takeError()));
      CHECK(R->MemorySlots == 0);
      CHECK(R->Time == *Want);
      auto S = simulateChain(C, R->Ops);
      REQUIRE(bool(S));
      CHECK(S->PeakBytes <= B);
      CHECK(S->PeakBytes == R->PeakBytes);
      CHECK(S->Time == doctest::Approx(*Want));
      ++Compared;
    }
  }
  CHECK(Compared > 1000);
}

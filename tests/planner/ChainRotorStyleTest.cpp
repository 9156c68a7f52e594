//===- tests/planner/ChainRotorStyleTest.cpp - Never worse than rotor -----===//
//
// At N memory slots the planner's plan is never slower than rotor's
// discretisation at the same N (slots of floor(B / N) bytes, all N usable),
// computed by the independent DP of ChainRotorStyle.h (issue 18, item 2).
//
//===----------------------------------------------------------------------===//

#include "ChainRotorStyle.h"
#include "BruteForce.h"
#include "planner/ChainDP.h"
#include "planner/ChainStrategies.h"
#include "planner/Simulator.h"

#include <doctest/doctest.h>

#include <limits>

using namespace remat;
using namespace remat::test;

TEST_CASE("chain rotor-style: with one-byte slots it is the persistent "
          "optimum") {
  // N = B slots make a slot one byte: no rounding, so the reference DP must
  // equal the persistent brute force at every budget.
  std::mt19937_64 Rng(1811);
  for (unsigned L = 1; L <= 4; ++L)
    for (int Trial = 0; Trial < 8; ++Trial) {
      Chain C = randomChain(Rng, L);
      std::vector<Simulated> All = simulateAllPersistent(C);
      auto Top = simulateChain(C, storeAllOps(C));
      REQUIRE(bool(Top));
      for (uint64_t B = 1; B <= Top->PeakBytes; ++B) {
        double Ref = RotorStyleDP(C, B, unsigned(B)).optimum();
        std::optional<double> Brute = bruteForceBest(All, B);
        CHECK(Ref ==
              (Brute ? *Brute : std::numeric_limits<double>::infinity()));
      }
    }
}

TEST_CASE("chain rotor-style: N slots never worse than rotor's N slots") {
  // Sizes up to 1000 bytes so that slots hold many bytes; budgets from 30%
  // to 100% of the store-all peak; N that rarely divides B.
  std::mt19937_64 Rng(1812);
  int Compared = 0;
  for (int Trial = 0; Trial < 60; ++Trial) {
    unsigned L = 2 + Trial % 7;
    Chain C = randomChain(Rng, L, 1000);
    auto Top = simulateChain(C, storeAllOps(C));
    REQUIRE(bool(Top));
    for (unsigned Pct : {30u, 50u, 70u, 100u})
      for (unsigned N : {7u, 20u, 50u, 123u}) {
        uint64_t B = Top->PeakBytes * Pct / 100;
        double Rotor = RotorStyleDP(C, B, N).optimum();
        if (Rotor == std::numeric_limits<double>::infinity())
          continue;
        auto R = planOptimalChain(C, {B, N});
        REQUIRE_MESSAGE(bool(R), llvm::toString(R.takeError()));
        ++Compared;
        CAPTURE(Trial);
        CAPTURE(B);
        CAPTURE(N);
        CHECK(R->Time <= Rotor);
      }
  }
  CHECK(Compared > 200);
}

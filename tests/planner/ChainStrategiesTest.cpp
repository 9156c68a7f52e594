//===- tests/planner/ChainStrategiesTest.cpp - Classic chain strategies ---===//
//
// Ops and figures on the hand chain of SimTestUtil.h (x_0 = 10; outputs 20,
// 40, 8; saved 30, 50, 16; fwd 1, 3, 5; bwd 2, 4, 6; loss 0.5, workspaces
// fwd 5 on s0, bwd 7 on s0 and 1 on s2, loss 3), worked out by hand.

#include "SimTestUtil.h"

#include "planner/ChainStrategies.h"
#include "planner/Errors.h"
#include "planner/Simulator.h"

#include <doctest/doctest.h>

#include <random>

using namespace remat;
using namespace remat::test;

TEST_CASE("strategies: sequential follows checkpoint_sequential") {
  Chain C = handChain();
  // N = 2: segment size 1; [s0] checkpointed, the remainder [s1, s2] plain.
  auto Two = sequentialOps(C, 2);
  REQUIRE(Two);
  CHECK(*Two == std::vector<ChainOp>{fck(0), fall(1), fall(2), lossOp(), bwd(2),
                                     bwd(1), fall(0), bwd(0)});
  auto R = simulateChain(C, *Two);
  REQUIRE(R);
  // 10; F_ck 0: 30; F_all 1: 80; F_all 2: 96; loss: 104 (107);
  // B 2: 144 (145) -> 120; B 1: 140 -> 50 -> x_1 freed 30;
  // F_all 0: 60 (65); B 0: 70 (77) -> 10.
  CHECK(R->PeakBytes == 145);
  CHECK(R->Time == doctest::Approx(22.5)); // 21.5 + fwd of s0
  CHECK(R->ForwardRecomputations == 1);

  // N = 3: [s0] and [s1] checkpointed, [s2] plain.
  auto Three = sequentialOps(C, 3);
  REQUIRE(Three);
  CHECK(*Three == std::vector<ChainOp>{fck(0), fck(1), fall(2), lossOp(),
                                       bwd(2), fall(1), bwd(1), fall(0),
                                       bwd(0)});
  R = simulateChain(C, *Three);
  REQUIRE(R);
  // 10; 30 (35); 70; 86; loss 94 (97); B 2: 134 (135) -> 110 -> 70;
  // F_all 1: 120; B 1: 140 -> 50 -> 30; F_all 0: 60 (65); B 0: 70 (77).
  CHECK(R->PeakBytes == 140);
  CHECK(R->Time == doctest::Approx(25.5)); // 21.5 + 1 + 3
  CHECK(R->ForwardRecomputations == 2);

  // N = 1 runs everything plainly: the store-all plan.
  auto One = sequentialOps(C, 1);
  REQUIRE(One);
  CHECK(*One == storeAllOps(C));
}

TEST_CASE("strategies: sequential with more segments than stages fails") {
  auto R = sequentialOps(handChain(), 4);
  REQUIRE(!R);
  CHECK(llvm::toString(R.takeError()) ==
        "strategy 'sequential': --segments 4 is more than the chain's 3 "
        "stages (PyTorch's checkpoint_sequential fails there)");
}

TEST_CASE("strategies: every and sqrt") {
  Chain C = handChain();
  // K = 3 (or more): one checkpointed segment, the whole chain recomputed.
  auto All = everyOps(C, 3);
  REQUIRE(All);
  CHECK(*All == std::vector<ChainOp>{fck(0), fn(1), fn(2), lossOp(), fall(0),
                                     fall(1), fall(2), bwd(2), bwd(1), bwd(0)});
  auto Big = everyOps(C, 100);
  REQUIRE(Big);
  CHECK(*Big == *All);
  // sqrt: K = ceil(sqrt(3)) = 2.
  auto Two = everyOps(C, 2);
  REQUIRE(Two);
  CHECK(sqrtOps(C) == *Two);
  CHECK(!everyOps(C, 0));
  // L = 9 -> K = 3 exactly (segments at 0, 3, 6); L = 10 -> K = 4.
  Chain Nine;
  Nine.InputBytes = 1;
  for (int I = 0; I < 9; ++I)
    Nine.Stages.push_back({"s", "", 1, 1, 1, 1, 0, 0});
  auto K3 = everyOps(Nine, 3);
  REQUIRE(K3);
  CHECK(sqrtOps(Nine) == *K3);
  Nine.Stages.push_back({"s", "", 1, 1, 1, 1, 0, 0});
  auto K4 = everyOps(Nine, 4);
  REQUIRE(K4);
  CHECK(sqrtOps(Nine) == *K4);
}

TEST_CASE("strategies: selective recomputes only the chosen kinds") {
  Chain C = handChain();
  auto Ops = selectiveOps(C, {"attention"});
  REQUIRE(Ops);
  CHECK(*Ops == std::vector<ChainOp>{fall(0), fck(1), fall(2), lossOp(), bwd(2),
                                     fall(1), bwd(1), bwd(0)});
  auto R = simulateChain(C, *Ops);
  REQUIRE(R);
  // 10; F_all 0: 40 (45); F_ck 1: 80; F_all 2: 96; loss: 104 (107);
  // B 2: 144 (145) -> 120 -> x_2 freed 80; F_all 1: 130; B 1: 150 -> 60;
  // B 0: 70 (77) -> 10.
  CHECK(R->PeakBytes == 150);
  CHECK(R->Time == doctest::Approx(24.5)); // 21.5 + 3
  CHECK(R->ForwardRecomputations == 1);

  auto Bad = selectiveOps(C, {"attention", "norm"});
  REQUIRE(!Bad);
  CHECK(llvm::toString(Bad.takeError()) ==
        "strategy 'selective': the model has no stage of kind 'norm' (its "
        "kinds: conv, attention, mlp)");
}

TEST_CASE("strategies: chen without a budget gives its least peak") {
  Chain C = handChain();
  auto Ops = chenOps(C, std::nullopt);
  REQUIRE(Ops);
  auto R = simulateChain(C, *Ops);
  REQUIRE(R);
  // The b = 0 pass (every stage its own segment) and the one-segment plan
  // are both candidates, so Chen's least peak is at most theirs.
  auto Every1 = everyOps(C, 1), Whole = everyOps(C, 3);
  REQUIRE(Every1);
  REQUIRE(Whole);
  CHECK(R->PeakBytes <= simulateChain(C, *Every1)->PeakBytes);
  CHECK(R->PeakBytes <= simulateChain(C, *Whole)->PeakBytes);
}

TEST_CASE("strategies: chen under a budget fits it or names its least peak") {
  std::mt19937 Rng(7);
  for (int Trial = 0; Trial < 50; ++Trial) {
    Chain C;
    C.InputBytes = 1 + Rng() % 100;
    unsigned L = 1 + Rng() % 20;
    for (unsigned I = 0; I < L; ++I) {
      uint64_t Out = 1 + Rng() % 100;
      C.Stages.push_back({"s" + std::to_string(I), "", double(1 + Rng() % 5),
                          double(1 + Rng() % 5), Out, Out + Rng() % 200,
                          Rng() % 20, Rng() % 20});
    }
    auto Least = chenOps(C, std::nullopt);
    REQUIRE(Least);
    uint64_t Peak = simulateChain(C, *Least)->PeakBytes;
    auto Fit = chenOps(C, Peak);
    REQUIRE(Fit);
    CHECK(simulateChain(C, *Fit)->PeakBytes <= Peak);
    auto TooSmall = chenOps(C, Peak - 1);
    REQUIRE(!TooSmall);
    uint64_t Named = 0;
    llvm::handleAllErrors(
        TooSmall.takeError(),
        [&](const InfeasibleBudgetError &E) { Named = E.MinFeasibleBytes; });
    CHECK(Named == Peak);
    // A generous budget buys time: the fastest candidate is at most as slow
    // as the least-peak one.
    auto Rich = chenOps(C, uint64_t(1) << 40);
    REQUIRE(Rich);
    CHECK(simulateChain(C, *Rich)->Time <=
          simulateChain(C, *Least)->Time + 1e-9);
  }
}

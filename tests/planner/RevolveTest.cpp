//===- tests/planner/RevolveTest.cpp - Binomial checkpointing -------------===//

#include "planner/Revolve.h"

#include "BruteForce.h"
#include "planner/Simulator.h"

#include "llvm/ADT/BitVector.h"

#include <doctest/doctest.h>

#include <algorithm>

using namespace remat;
using namespace remat::test;

namespace {

Chain uniformChain(unsigned L) {
  Chain C;
  C.InputBytes = 4;
  for (unsigned I = 0; I < L; ++I) {
    Stage S;
    S.Name = "s" + std::to_string(I);
    S.FwdTime = 1;
    S.BwdTime = 2;
    S.OutputBytes = 4;
    S.SavedBytes = 8;
    C.Stages.push_back(S);
  }
  return C;
}

uint64_t forwardOps(const std::vector<ChainOp> &Ops) {
  return std::count_if(Ops.begin(), Ops.end(),
                       [](const ChainOp &O) { return O.isForward(); });
}

/// The most checkpoints resident at once: plain x_i that some F_ck has
/// kept, plus x_0. The running activation of an F_n sweep is not one.
unsigned maxCheckpoints(unsigned L, const std::vector<ChainOp> &Ops) {
  llvm::BitVector Plain(L + 1), Kept(L + 1);
  Plain.set(0);
  Kept.set(0);
  unsigned Max = 1;
  for (const ChainOp &O : Ops) {
    unsigned I = O.Layer;
    switch (O.Kind) {
    case ChainOpKind::FCk:
      Kept.set(I);
      Plain.set(I + 1);
      break;
    case ChainOpKind::FN:
      Plain.reset(I);
      Kept.reset(I);
      Plain.set(I + 1);
      break;
    case ChainOpKind::FAll:
      break;
    case ChainOpKind::Loss:
      Plain.reset(L);
      break;
    case ChainOpKind::B:
      Plain.reset(I);
      Kept.reset(I);
      break;
    }
    llvm::BitVector K = Kept;
    K &= Plain;
    Max = std::max(Max, unsigned(K.count()));
  }
  return Max;
}

} // namespace

TEST_CASE("revolve: t(L,S) by hand") {
  // S = 1: every reversal restarts from x_0, t = 0+1+...+(L-1).
  CHECK(revolveRecomputations(1, 1) == 0);
  CHECK(revolveRecomputations(3, 1) == 3);
  CHECK(revolveRecomputations(10, 1) == 45);
  // L = 2, S = 2: r = 1 (C(3,2) = 3 >= 2), t = 2 - C(3,3) = 1.
  CHECK(revolveRecomputations(2, 2) == 1);
  // L = 10, S = 3: r = 2 (C(5,3) = 10 >= 10), t = 20 - C(5,4) = 15.
  CHECK(revolveRecomputations(10, 3) == 15);
}

TEST_CASE("revolve: t(L,S) equals the minimum of the split recursion") {
  // T(n,s) = min_m m + T(n-m,s-1) + T(m,s), T(1,s) = 0 recomputations plus
  // the taped step; T(n,1) = n(n-1)/2. Computed by brute force here.
  const unsigned N = 80, S = 8;
  std::vector<std::vector<uint64_t>> T(N + 1, std::vector<uint64_t>(S + 1));
  for (unsigned s = 1; s <= S; ++s)
    for (unsigned n = 1; n <= N; ++n) {
      if (n == 1 || s == 1) {
        T[n][s] = uint64_t(n) * (n - 1) / 2;
        continue;
      }
      uint64_t Best = UINT64_MAX;
      for (unsigned m = 1; m < n; ++m)
        Best = std::min<uint64_t>(Best, m + T[n - m][s - 1] + T[m][s]);
      T[n][s] = Best;
    }
  for (unsigned s = 1; s <= S; ++s)
    for (unsigned n = 1; n <= N; ++n) {
      CAPTURE(n);
      CAPTURE(s);
      CHECK(revolveRecomputations(n, s) == T[n][s]);
    }
}

TEST_CASE("revolve: forward ops are t(L,S) + L for L <= 2000, S <= 50") {
  // Feasible means S >= 1 (x_0 needs a slot). Every S <= 50 is checked for
  // every L <= 200, and for L from 200 to 2000 in steps of 97: the op lists
  // of all 100,000 pairs hold ~10^9 ops, too slow for a Debug test run.
  unsigned Checked = 0;
  for (unsigned S = 1; S <= 50; ++S)
    for (unsigned L = 1; L <= 2000; L += (L < 200 ? 1 : 97)) {
      // Revolve looks at the length only; unnamed stages keep this quick.
      Chain C;
      C.Stages.resize(L);
      auto Ops = revolveOps(C, S);
      REQUIRE(bool(Ops));
      if (forwardOps(*Ops) != revolveRecomputations(L, S) + L) {
        FAIL("L=" << L << " S=" << S << ": " << forwardOps(*Ops)
                  << " forward ops, expected "
                  << revolveRecomputations(L, S) + L);
      }
      ++Checked;
    }
  CHECK(Checked == 50 * (199 + 19));
}

TEST_CASE("revolve: valid under the simulator, at most S checkpoints") {
  std::mt19937_64 Rng(11);
  for (unsigned L = 1; L <= 200; L += (L < 20 ? 1 : 7))
    for (unsigned S : {1u, 2u, 3u, 5u, 10u, 50u}) {
      Chain C = randomChain(Rng, L, 50);
      auto Ops = revolveOps(C, S);
      REQUIRE(bool(Ops));
      auto Sim = simulateChain(C, *Ops);
      CAPTURE(L);
      CAPTURE(S);
      REQUIRE_MESSAGE(bool(Sim), llvm::toString(Sim.takeError()));
      CHECK(Sim->ForwardRecomputations == revolveRecomputations(L, S));
      CHECK(maxCheckpoints(L, *Ops) <= S);
    }
}

TEST_CASE("revolve: zero slots is an error") {
  auto Ops = revolveOps(uniformChain(3), 0);
  REQUIRE_FALSE(bool(Ops));
  CHECK(llvm::toString(Ops.takeError()).find("slots") != std::string::npos);
}

TEST_CASE("revolve: schedules over the op cap are refused before building") {
  // The reproducer: --slots 2 on 1,000,000 stages grew to 6.9 GiB
  // and threw bad_alloc. By hand (Python's math.comb): r = 1413 is the least
  // with C(2+r, 2) >= 10^6 (C(1415,2) = 1000405); t = 1413 * 10^6 -
  // C(1415, 3) = 1413000000 - 471190755 = 941809245; ops = t + 2L + 1 =
  // 943809246. With 3 slots 136787106 ops, with 4 slots 56008457, the least
  // within 10^8.
  Chain C;
  C.Stages.resize(1000000);
  auto Ops = revolveOps(C, 2);
  REQUIRE_FALSE(bool(Ops));
  CHECK(llvm::toString(Ops.takeError()) ==
        "strategy 'revolve': --slots 2 on 1000000 stages gives 943809246 "
        "ops, over the limit of 100000000; --slots 4 gives 56008457 (see "
        "docs/limits.md)");
  // The cap is exact: the count is that of the ops built (L = 300, S = 2).
  Chain Small;
  Small.Stages.resize(300);
  auto All = revolveOps(Small, 2, UINT64_MAX);
  REQUIRE(bool(All));
  uint64_t N = All->size();
  CHECK(bool(revolveOps(Small, 2, N)));
  auto Over = revolveOps(Small, 2, N - 1);
  REQUIRE_FALSE(bool(Over));
  CHECK(llvm::toString(Over.takeError())
            .find("--slots 2 on 300 stages gives " + std::to_string(N) +
                  " ops") != std::string::npos);
}

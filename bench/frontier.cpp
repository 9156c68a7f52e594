//===- bench/frontier.cpp - Speed of the whole budget -> time curve -------===//
//
// The optimal planner's whole frontier on seeded random heterogeneous
// chains (the generator of bench/chain_dp.cpp): exact for short chains,
// and discretised at 500 and 2000 slots for L = 200. Median of the runs.
//
//   build-dp-rel/bench/frontier [--runs N] [--exact-max-l L]
//
//===----------------------------------------------------------------------===//

#include "planner/ChainDP.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <vector>

using namespace remat;

namespace {

/// Same distribution as bench/chain_dp.cpp.
Chain benchChain(unsigned L, uint64_t Seed) {
  std::mt19937_64 Rng(Seed);
  auto U = [&](uint64_t Lo, uint64_t Hi) {
    return std::uniform_int_distribution<uint64_t>(Lo, Hi)(Rng);
  };
  auto T = [&] { return std::uniform_real_distribution<double>(0.1, 5)(Rng); };
  const uint64_t MiB = 1 << 20;
  Chain C;
  C.InputBytes = U(MiB, 64 * MiB);
  for (unsigned I = 0; I < L; ++I) {
    Stage S;
    S.Name = "s" + std::to_string(I);
    S.FwdTime = T();
    S.BwdTime = 2 * T();
    S.OutputBytes = U(MiB, 64 * MiB);
    S.SavedBytes = S.OutputBytes * U(1, 4);
    S.FwdWorkspace = U(0, 2) == 0 ? U(0, 32 * MiB) : 0;
    S.BwdWorkspace = U(0, 2) == 0 ? U(0, 32 * MiB) : 0;
    C.Stages.push_back(S);
  }
  C.Loss.BwdTime = T();
  return C;
}

void run(unsigned L, unsigned Slots, unsigned Runs) {
  Chain C = benchChain(L, 1000 + L);
  std::vector<double> Secs;
  size_t Points = 0;
  for (unsigned R = 0; R < Runs; ++R) {
    auto Start = std::chrono::steady_clock::now();
    Points = optimalChainFrontier(C, Slots).size();
    Secs.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - Start)
            .count());
  }
  std::sort(Secs.begin(), Secs.end());
  fmt::print("{:>5} {:>7} {:>12} {:>10.4f}\n", L,
             Slots ? std::to_string(Slots) : "exact", Points,
             Secs[Secs.size() / 2]);
  std::fflush(stdout);
}

} // namespace

int main(int Argc, char **Argv) {
  unsigned Runs = 3, ExactMaxL = 60;
  for (int I = 1; I + 1 < Argc; I += 2) {
    if (!std::strcmp(Argv[I], "--runs"))
      Runs = std::max(1, std::atoi(Argv[I + 1]));
    else if (!std::strcmp(Argv[I], "--exact-max-l"))
      ExactMaxL = std::atoi(Argv[I + 1]);
  }
  fmt::print("{:>5} {:>7} {:>12} {:>10}\n", "L", "slots", "breakpoints",
             "median s");
  for (unsigned L : {20u, 40u, 60u, 80u})
    if (L <= ExactMaxL)
      run(L, 0, Runs);
  for (unsigned Slots : {500u, 2000u})
    run(200, Slots, Runs);
  return 0;
}

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

#include "BenchArgs.h"
#include "BenchChains.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <vector>

using namespace remat;

namespace {

using bench::benchChain;

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
  bench::Flags("frontier [--runs N] [--exact-max-l L]")
      .add("--runs", Runs, 1)
      .add("--exact-max-l", ExactMaxL)
      .parse(Argc, Argv);
  fmt::print("{:>5} {:>7} {:>12} {:>10}\n", "L", "slots", "breakpoints",
             "median s");
  for (unsigned L : {20u, 40u, 60u, 80u})
    if (L <= ExactMaxL)
      run(L, 0, Runs);
  for (unsigned Slots : {500u, 2000u})
    run(200, Slots, Runs);
  return 0;
}

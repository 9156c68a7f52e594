//===- bench/chain_exhaustive.cpp - Search over every chain schedule ------===//
//
// How long planner/ChainExhaustive.h takes, and how many states it stores,
// on seeded heterogeneous chains (bench/BenchChains.h) of L stages, at
// budgets from just below the least feasible one (the search then exhausts
// every state that fits, and the least-budget search runs too) to the
// store-all peak. Used to choose ChainExhaustiveMaxStages and MaxStates.
//
//   chain_exhaustive [MAX_L [SEEDS]]     (defaults 10 and 10)
//
//===----------------------------------------------------------------------===//

#include "BenchArgs.h"
#include "BenchChains.h"
#include "planner/ChainExhaustive.h"
#include "planner/ChainStrategies.h"
#include "planner/Simulator.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

using namespace remat;
using namespace remat::bench;

static const char *Usage = "chain_exhaustive [MAX_L [SEEDS]]";

int main(int Argc, char **Argv) {
  if (Argc > 3)
    badArgs("too many arguments", Usage);
  unsigned MaxL = Argc > 1 ? parseUnsigned("MAX_L", Argv[1], Usage, 1) : 10;
  unsigned Seeds = Argc > 2 ? parseUnsigned("SEEDS", Argv[2], Usage, 1) : 10;
  const uint64_t Cap = 100'000'000;
  using Clock = std::chrono::steady_clock;
  fmt::print("{:>3} {:>10} {:>12} {:>12}\n", "L", "cases", "max states",
             "max ms");
  for (unsigned L = 2; L <= MaxL; ++L) {
    uint64_t MaxStates = 0, Cases = 0;
    double MaxMs = 0;
    for (unsigned Seed = 0; Seed < Seeds; ++Seed) {
      Chain C = benchChain(L, 1000 * L + Seed);
      auto Top = simulateChain(C, storeAllOps(C));
      auto T0 = Clock::now();
      std::optional<uint64_t> Least = leastChainBudgetAllSchedules(C, Cap);
      double LeastMs =
          std::chrono::duration<double, std::milli>(Clock::now() - T0).count();
      if (!Top || !Least) {
        fmt::print(stderr, "L={} seed {}: no result\n", L, Seed);
        return 1;
      }
      for (int K = -1; K <= 4; ++K) {
        uint64_t B =
            K < 0 ? *Least - 1 : *Least + (Top->PeakBytes - *Least) * K / 4;
        auto T1 = Clock::now();
        auto R = searchChainSchedules(C, {B, Cap});
        double Ms = std::chrono::duration<double, std::milli>(Clock::now() - T1)
                        .count();
        // Below the least budget the planner runs both searches.
        Ms += K < 0 ? LeastMs : 0;
        MaxMs = std::max(MaxMs, Ms);
        MaxStates = std::max<uint64_t>(MaxStates, R ? R->States : Cap);
        ++Cases;
      }
    }
    fmt::print("{:>3} {:>10} {:>12} {:>12.1f}\n", L, Cases, MaxStates, MaxMs);
  }
  return 0;
}

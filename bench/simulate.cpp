//===- bench/simulate.cpp - Simulator throughput --------------------------===//
//
// Replays long schedules through the simulator and reports ops per second,
// median of several runs:
//   - chain: sequential checkpointing (N = ceil(sqrt L)) on a random chain
//     of L = 60,000 stages, about 180,000 ops;
//   - graph: store-everything on the same chain lowered to a graph, about
//     400,000 ops;
//   - baseline: a plain loop over the chain ops that only sums their layer
//     indices, measured in the same run, so the simulator's cost reads as a
//     ratio against touching every op once.
// Usage: build-release/bench/simulate [L] [runs]
//
//===----------------------------------------------------------------------===//

#include "graph/Lowering.h"
#include "planner/ChainStrategies.h"
#include "planner/GraphPlanner.h"
#include "planner/Simulator.h"

#include "BenchArgs.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

using namespace remat;

namespace {

Chain randomChain(unsigned L) {
  std::mt19937_64 Rng(42);
  Chain C;
  C.InputBytes = 1 + Rng() % 4096;
  for (unsigned I = 0; I < L; ++I) {
    Stage S;
    S.Name = "layer" + std::to_string(I);
    S.FwdTime = double(Rng() % 1000) / 10;
    S.BwdTime = double(Rng() % 2000) / 10;
    S.OutputBytes = 1 + Rng() % 4096;
    S.SavedBytes = S.OutputBytes + Rng() % 8192;
    C.Stages.push_back(S);
  }
  return C;
}

/// Median seconds of \p Runs calls of \p F.
template <typename Fn> double medianSeconds(int Runs, Fn F) {
  std::vector<double> Secs;
  for (int I = 0; I < Runs; ++I) {
    auto T0 = std::chrono::steady_clock::now();
    F();
    Secs.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - T0)
            .count());
  }
  std::sort(Secs.begin(), Secs.end());
  return Secs[Secs.size() / 2];
}

} // namespace

int main(int Argc, char **Argv) {
  const char *Usage = "simulate [L [RUNS]]";
  if (Argc > 3)
    bench::badArgs("too many arguments", Usage);
  unsigned L = Argc > 1 ? bench::parseUnsigned("L", Argv[1], Usage, 1) : 60000;
  int Runs =
      Argc > 2 ? int(bench::parseUnsigned("RUNS", Argv[2], Usage, 1)) : 7;
  Chain C = randomChain(L);
  unsigned N = 1;
  while (N * N < L)
    ++N;
  auto Ops = sequentialOps(C, N);
  if (!Ops) {
    std::fprintf(stderr, "sequentialOps failed\n");
    return 1;
  }
  Graph G = lowerChain(C);
  std::vector<GraphOp> GOps = storeAllGraphOps(G);

  volatile uint64_t Sink = 0;
  double Base = medianSeconds(Runs, [&] {
    uint64_t Sum = 0;
    for (const ChainOp &Op : *Ops)
      Sum += Op.Layer + unsigned(Op.Kind);
    Sink = Sink + Sum;
  });
  double Chain = medianSeconds(Runs, [&] {
    auto R = simulateChain(C, *Ops);
    Sink = Sink + (R ? R->PeakBytes : 0);
  });
  double Timeline = medianSeconds(Runs, [&] {
    auto R = simulateChain(C, *Ops, {/*RecordTimeline=*/true});
    Sink = Sink + (R ? R->PeakBytes : 0);
  });
  double Graph = medianSeconds(Runs, [&] {
    auto R = simulateGraph(G, GOps);
    Sink = Sink + (R ? R->PeakBytes : 0);
  });

  std::printf("simulate bench: L = %u stages, median of %d runs\n", L, Runs);
  auto Line = [&](const char *Name, size_t NOps, double S) {
    std::printf("  %-34s %8zu ops  %9.3f ms  %7.1f Mops/s  %6.1fx baseline\n",
                Name, NOps, 1e3 * S, NOps / S / 1e6,
                (S / NOps) / (Base / Ops->size()));
  };
  Line("baseline loop over chain ops", Ops->size(), Base);
  Line("simulateChain (sequential)", Ops->size(), Chain);
  Line("simulateChain + timeline", Ops->size(), Timeline);
  Line("simulateGraph (store-all)", GOps.size(), Graph);
  return 0;
}

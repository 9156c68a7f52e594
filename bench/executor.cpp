//===- bench/executor.cpp - Executor overhead per op ----------------------===//
//
// How much the executor (resident table, tracking allocator, timers) adds
// to each op, with zero-time synthetic ops so only the machinery is timed.
// Baseline, measured in the same run: the same number of raw 64-byte-aligned
// allocate/free pairs through the CPU backend with no executor around them.
//
// usage: build-release/bench/executor [stages=1000] [runs=7]
// Prints the median ns per op of each and their ratio.
//
//===----------------------------------------------------------------------===//

#include "runtime/Executor.h"
#include "planner/Baselines.h"
#include "runtime/Synthetic.h"

#include "BenchArgs.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

using namespace remat;
using Clock = std::chrono::steady_clock;

static double median(std::vector<double> V) {
  std::sort(V.begin(), V.end());
  return V[V.size() / 2];
}

int main(int Argc, char **Argv) {
  const char *Usage = "executor [L [RUNS]]";
  if (Argc > 3)
    bench::badArgs("too many arguments", Usage);
  unsigned L = Argc > 1 ? bench::parseUnsigned("L", Argv[1], Usage, 1) : 1000;
  unsigned Runs =
      Argc > 2 ? bench::parseUnsigned("RUNS", Argv[2], Usage, 1) : 7;
  Chain C;
  C.InputBytes = 4096;
  for (unsigned I = 0; I < L; ++I) {
    Stage S;
    S.OutputBytes = 4096;
    S.SavedBytes = 8192;
    S.BwdWorkspace = 1024;
    C.Stages.push_back(S);
  }
  std::vector<ChainOp> Ops = storeAllOps(C);
  auto Dev = createCpuBackend(CpuClock::Steady);
  SyntheticWorkload W(C, *Dev, 0);
  std::vector<double> Exec, Raw;
  for (unsigned R = 0; R < Runs; ++R) {
    auto T0 = Clock::now();
    auto Res = runChain(W, Ops, *Dev);
    auto T1 = Clock::now();
    if (!Res) {
      std::fprintf(stderr, "run failed\n");
      return 1;
    }
    Exec.push_back(std::chrono::duration<double, std::nano>(T1 - T0).count() /
                   double(Ops.size()));
    // Baseline: one allocate/free pair of the same sizes per op.
    std::vector<void *> Ptrs;
    auto B0 = Clock::now();
    for (size_t I = 0; I < Ops.size(); ++I)
      Ptrs.push_back(*Dev->allocate(8192));
    for (void *P : Ptrs)
      Dev->release(P, 8192);
    auto B1 = Clock::now();
    Raw.push_back(std::chrono::duration<double, std::nano>(B1 - B0).count() /
                  double(Ops.size()));
  }
  double E = median(Exec), B = median(Raw);
  std::printf("stages %u, ops %zu, runs %u\n", L, Ops.size(), Runs);
  std::printf("executor      %8.1f ns/op (median)\n", E);
  std::printf("raw alloc+free %7.1f ns/op (median, baseline)\n", B);
  std::printf("ratio          %7.2fx\n", E / B);
  return 0;
}

//===- bench/BenchChains.h - Seeded chains for benches ----------*- C++ -*-===//
//
// The random chains that bench/chain_dp.cpp and bench/frontier.cpp plan, so
// both benches measure the same distribution.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_BENCH_BENCHCHAINS_H
#define REMAT_BENCH_BENCHCHAINS_H

#include "graph/Graph.h"

#include <cstdint>
#include <random>
#include <string>

namespace remat::bench {

/// Sizes between 1 and 64 MiB, saved 1-4x the output, workspaces on a third
/// of the stages, times 0.1-5 ms: a heterogeneous network of \p L stages.
inline Chain benchChain(unsigned L, uint64_t Seed) {
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

/// The chains of issue 18's comparison with rotor: activations 4-40 MiB,
/// saved 1-4x the output, forward 0.1-1 ms, backward 1-3x the forward, a
/// third of the stages with forward and backward workspaces of 4-40 MiB.
/// Budgets are then taken at 30, 50 and 70% of the store-all peak.
inline Chain issue18Chain(unsigned L, uint64_t Seed) {
  std::mt19937_64 Rng(Seed);
  auto U = [&](uint64_t Lo, uint64_t Hi) {
    return std::uniform_int_distribution<uint64_t>(Lo, Hi)(Rng);
  };
  auto R = [&](double Lo, double Hi) {
    return std::uniform_real_distribution<double>(Lo, Hi)(Rng);
  };
  const uint64_t MiB = 1 << 20;
  Chain C;
  C.InputBytes = U(4 * MiB, 40 * MiB);
  for (unsigned I = 0; I < L; ++I) {
    Stage S;
    S.Name = "s" + std::to_string(I);
    S.FwdTime = R(0.1, 1);
    S.BwdTime = S.FwdTime * R(1, 3);
    S.OutputBytes = U(4 * MiB, 40 * MiB);
    S.SavedBytes = uint64_t(double(S.OutputBytes) * R(1, 4));
    if (U(0, 2) == 0) {
      S.FwdWorkspace = U(4 * MiB, 40 * MiB);
      S.BwdWorkspace = U(4 * MiB, 40 * MiB);
    }
    C.Stages.push_back(S);
  }
  C.Loss.BwdTime = R(0.1, 1);
  return C;
}

} // namespace remat::bench

#endif // REMAT_BENCH_BENCHCHAINS_H

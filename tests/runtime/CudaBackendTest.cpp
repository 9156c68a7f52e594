//===- tests/runtime/CudaBackendTest.cpp - The CUDA backend on a GPU ------===//
//
// Compiled only in CUDA builds; every case reports itself skipped
// (test::skipTest, exit 77 under ctest) when no device is present.
//
//===----------------------------------------------------------------------===//

#ifdef REMAT_HAVE_CUDA

#include "RuntimeTestUtil.h"
#include "TestUtil.h"

#include "planner/Baselines.h"
#include "planner/Simulator.h"
#include "runtime/Executor.h"
#include "runtime/Synthetic.h"

#include <doctest/doctest.h>

using namespace remat;
using namespace remat::test;

/// The CUDA backend, or null after reporting the case as skipped.
static std::unique_ptr<Backend> cudaOrSkip() {
  auto B = createCudaBackend();
  if (!B) {
    skipTest("no GPU: " + llvm::toString(B.takeError()));
    return nullptr;
  }
  return std::move(*B);
}

TEST_CASE("cuda: synthetic peak equals the simulator's, device view agrees") {
  auto Dev = cudaOrSkip();
  if (!Dev)
    return;
  CHECK(cudaBackendBuilt());
  MESSAGE("running on " << Dev->description());
  for (uint64_t Seed : {11, 12}) {
    Chain C = randomChain(8, Seed);
    // Sizes in KiB so the pool sees real allocations.
    for (Stage &S : C.Stages) {
      S.OutputBytes *= 1024;
      S.SavedBytes *= 1024;
      S.FwdWorkspace *= 1024;
      S.BwdWorkspace *= 1024;
    }
    C.InputBytes *= 1024;
    for (const auto &Ops : {storeAllOps(C), segmentSchedule(8, {0, 3, 6}),
                            recomputeAllSchedule(8)}) {
      auto Sim = simulateChain(C, Ops);
      REQUIRE(bool(Sim));
      SyntheticWorkload W(C, *Dev, 5);
      auto R = runChain(W, Ops, *Dev);
      REQUIRE_MESSAGE(bool(R), (R ? "" : llvm::toString(R.takeError())));
      CHECK(R->PeakBytes == Sim->PeakBytes);
      CHECK(R->ForwardRecomputations == Sim->ForwardRecomputations);
      REQUIRE(R->Device.Available);
      // The pool rounds allocations up, never down.
      CHECK(R->Device.PoolUsedHighBytes >= R->PeakBytes);
    }
  }
}

TEST_CASE("cuda: busy kernels last their scaled time (CUDA events)") {
  auto Dev = cudaOrSkip();
  if (!Dev)
    return;
  auto Buf = Dev->allocate(4096);
  REQUIRE(bool(Buf));
  Dev->busy(*Buf, 4096, 10); // warm-up: module load, first launch
  Dev->synchronize();
  Dev->startTimer();
  Dev->busy(*Buf, 4096, 200);
  double T = Dev->stopTimer();
  CHECK(T >= 190); // globaltimer granularity is about 1 us or better
  CHECK(T < 2000); // and the launch costs tens of us, not milliseconds
  Dev->release(*Buf, 4096);
  Dev->synchronize();
}
#else
// Without the CUDA build there is nothing to compile here; the CLI test
// "cli validate: --device cuda without a GPU is a clear exit 2" covers the
// error path.
#endif

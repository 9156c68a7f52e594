//===- tests/runtime/MeterTest.cpp - The host meter and its controls ------===//
//
// The host meter reads glibc's in-use counters, which the executor and the
// tracking allocator do not compute. Negative controls: a CPU backend that
// frees one buffer one op late, or leaks one, below the tracking allocator.
// The bookkeeping still matches the prediction; only the meter can see the
// fault, and validation must fail because of it. Expected peaks are worked
// out by hand from spec §3a, with the arithmetic in comments.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"
#include "TestUtil.h"

#include "graph/ModelLoader.h"
#include "planner/Baselines.h"
#include "planner/Strategy.h"
#include "runtime/Executor.h"
#include "runtime/Synthetic.h"
#include "runtime/Validate.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <utility>
#include <vector>

using namespace remat;
using namespace remat::test;

namespace {
/// One tensor unit: 256 KiB, far above every rounding term.
constexpr uint64_t U = 256 * 1024;

/// L = 2, x = U, x̄ = 2U, stage 0 backward workspace 2U. Store-everything,
/// op by op (residents after the op's allocations):
///   F_all 0: x_0 + x̄_1 = 3U        F_all 1: + x̄_2 = 5U
///   loss:    + y_2 = 6U             B 1: + y_1 = 7U, then frees y_2 (release
///   0) and x̄_2 (release 1)         B 0: x_0 + x̄_1 + y_1 + y_0 + ws 2U = 7U,
///   then frees the workspace (2), y_1 (3), x̄_1 (4), x_0 (5).
/// Peak 7U, reached twice.
Chain controlChain() {
  Chain C = uniformChain(2, U, 2 * U);
  C.Stages[0].BwdWorkspace = 2 * U;
  return C;
}

/// Upper bound on what glibc adds to a live buffer of at least 128 KiB: an
/// mmapped chunk is the request plus header and alignment room (under 256
/// bytes), rounded up to a 4 KiB page, so under 4096 + 256 bytes; at most 7
/// buffers are live here; plus 8 KiB for the small pieces glibc's
/// per-thread cache keeps.
constexpr uint64_t RoundingBound = 7 * (4096 + 256) + 8192;

RunResult runControl(CpuFault Fault) {
  Chain C = controlChain();
  CpuBackendOptions O;
  O.Fault = Fault;
  auto Dev = createCpuBackend(O);
  SyntheticWorkload W(C, *Dev, 0.01);
  auto R = runChain(W, storeAllOps(C), *Dev);
  REQUIRE_MESSAGE(bool(R), (R ? "" : llvm::toString(R.takeError())));
  return *R;
}

const Comparison &row(const ValidationReport &R, const std::string &Name) {
  for (const Comparison &C : R.Rows)
    if (C.Metric == Name)
      return C;
  FAIL("no row " << Name);
  return R.Rows.front();
}

/// Validates \p S on \p M with \p Fault, judging peaks only (times are not
/// what these tests are about).
ValidationReport validateWith(const Model &M, const Schedule &S,
                              CpuFault Fault) {
  ValidateOptions O;
  O.Fault = Fault;
  O.Repeats = 1;
  O.TimeTol = 1e9;
  O.OverheadTol = 1e9;
  O.MicrosPerUnit = 0.05;
  auto R = validateSchedule(M, S, O);
  REQUIRE_MESSAGE(bool(R), (R ? "" : llvm::toString(R.takeError())));
  return *R;
}

Schedule storeEverything(const Chain &C) {
  Schedule S;
  S.Strategy = "none";
  S.Ops = storeAllOps(C);
  return S;
}
} // namespace

TEST_CASE("host meter: a clean run reads the peak within rounding") {
  if (!hostMeterBuilt()) {
    skipTest("the host meter cannot see this process's allocations "
             "(no glibc mallinfo2, or a sanitizer replaced malloc)");
    return;
  }
  RunResult R = runControl({});
  REQUIRE(R.Meter.Available);
  CHECK(R.PeakBytes == 7 * U);
  // Every chunk holds at least its request, so the meter never reads less.
  CHECK(R.Meter.PeakBytes >= int64_t(7 * U));
  CHECK(R.Meter.PeakBytes <= int64_t(7 * U + RoundingBound));
  CHECK(R.Meter.PeakBytes <= int64_t(7 * U + R.Meter.AllowanceBytes));
  // One sample per non-empty allocation: x_0, x̄_1, x̄_2, y_2, y_1, y_0 and
  // the workspace of B 0.
  CHECK(R.Meter.Samples == 7);
}

TEST_CASE("host meter: sees memory the tracking allocator never counted") {
  if (!hostMeterBuilt()) {
    skipTest("the host meter cannot see this process's allocations "
             "(no glibc mallinfo2, or a sanitizer replaced malloc)");
    return;
  }
  auto Dev = createCpuBackend();
  Dev->resetMemStats();
  // Straight through the backend: no tracking allocator involved.
  auto A = Dev->allocate(3 * U);
  REQUIRE(bool(A));
  auto B = Dev->allocate(5 * U);
  REQUIRE(bool(B));
  HostMeterStats M = Dev->hostMeter();
  CHECK(M.PeakBytes >= int64_t(8 * U));
  CHECK(M.PeakBytes <= int64_t(8 * U + 2 * (4096 + 256) + 8192));
  Dev->release(*A, 3 * U);
  Dev->release(*B, 5 * U);
}

TEST_CASE("host meter: seeded random allocations stay within the derived "
          "rounding") {
  if (!hostMeterBuilt()) {
    skipTest("the host meter cannot see this process's allocations "
             "(no glibc mallinfo2, or a sanitizer replaced malloc)");
    return;
  }
  // Independent bound, worked out here: a buffer of b bytes is requested
  // as max(b, 1040), and glibc adds less than 4096 + 256 to any request
  // (an mmapped chunk's page rounding and alignment room; heap chunks add
  // less), plus 8 KiB for the small pieces its per-thread cache keeps.
  auto Extra = [](uint64_t B) {
    return std::max<uint64_t>(B, 1040) - B + 4352;
  };
  uint64_t State = 12345;
  auto Next = [&](uint64_t N) {
    State = State * 6364136223846793005ull + 1442695040888963407ull;
    return (State >> 33) % N;
  };
  for (int Round = 0; Round < 20; ++Round) {
    auto Dev = createCpuBackend();
    Dev->resetMemStats();
    std::vector<std::pair<void *, uint64_t>> Live;
    uint64_t Req = 0, ReqPeak = 0, Bound = 0, BoundPeak = 0;
    for (int Step = 0; Step < 300; ++Step) {
      if (Live.empty() || Next(100) < 55) {
        // Sizes from 1 B to 2 MiB, a quarter of them under 2 KiB.
        uint64_t B = Next(4) ? 1 + Next(2 << 20) : 1 + Next(2048);
        auto P = Dev->allocate(B);
        REQUIRE(bool(P));
        Live.push_back({*P, B});
        Req += B;
        Bound += B + Extra(B);
        ReqPeak = std::max(ReqPeak, Req);
        BoundPeak = std::max(BoundPeak, Bound);
      } else {
        size_t I = Next(Live.size());
        Dev->release(Live[I].first, Live[I].second);
        Req -= Live[I].second;
        Bound -= Live[I].second + Extra(Live[I].second);
        Live[I] = Live.back();
        Live.pop_back();
      }
    }
    HostMeterStats M = Dev->hostMeter();
    INFO("round " << Round);
    CHECK(M.PeakBytes >= int64_t(ReqPeak));
    CHECK(M.PeakBytes <= int64_t(BoundPeak + 8192));
    for (auto &[P, B] : Live)
      Dev->release(P, B);
  }
}

TEST_CASE("host meter: a late free is caught by the meter, not the "
          "bookkeeping") {
  if (!hostMeterBuilt()) {
    skipTest("the host meter cannot see this process's allocations "
             "(no glibc mallinfo2, or a sanitizer replaced malloc)");
    return;
  }
  // Release 1 (x̄_2, 2U, freed by B 1) reaches glibc only after B 0 ran: at
  // B 0's workspace x_0 + x̄_1 + y_1 + y_0 + ws + x̄_2 = 1+2+1+1+2+2 = 9U.
  RunResult R = runControl({CpuFaultKind::LateFree, 1});
  CHECK(R.PeakBytes == 7 * U); // the bookkeeping cannot see it
  CHECK(R.Meter.PeakBytes >= int64_t(9 * U));
  CHECK(R.Meter.PeakBytes <= int64_t(9 * U + RoundingBound));

  Model M;
  M.Name = "control";
  M.AsChain = controlChain();
  ValidationReport Clean = validateWith(M, storeEverything(*M.AsChain), {});
  CHECK(Clean.Passed);
  ValidationReport Late =
      validateWith(M, storeEverything(*M.AsChain), {CpuFaultKind::LateFree, 1});
  CHECK_FALSE(Late.Passed);
  CHECK_FALSE(row(Late, "peak_bytes").Ok);
  CHECK_FALSE(row(Late, "baseline_peak_bytes").Ok);
  // The bookkeeping lines equal the prediction exactly: they did not catch
  // it, and no other line failed.
  const Comparison &Book = row(Late, "peak_bytes_bookkeeping");
  CHECK(Book.Measured == Book.Predicted);
  CHECK(row(Late, "forward_recomputations").Ok);
}

TEST_CASE("host meter: a leak is caught by the meter, not the bookkeeping") {
  if (!hostMeterBuilt()) {
    skipTest("the host meter cannot see this process's allocations "
             "(no glibc mallinfo2, or a sanitizer replaced malloc)");
    return;
  }
  // Release 0 (y_2, U, freed by B 1) never reaches glibc: at B 0's
  // workspace the 7U of the clean run plus y_2 = 8U.
  RunResult R = runControl({CpuFaultKind::Leak, 0});
  CHECK(R.PeakBytes == 7 * U);
  CHECK(R.Meter.PeakBytes >= int64_t(8 * U));
  CHECK(R.Meter.PeakBytes <= int64_t(8 * U + RoundingBound));

  Model M;
  M.Name = "control";
  M.AsChain = controlChain();
  ValidationReport Leak =
      validateWith(M, storeEverything(*M.AsChain), {CpuFaultKind::Leak, 0});
  CHECK_FALSE(Leak.Passed);
  CHECK_FALSE(row(Leak, "peak_bytes").Ok);
  const Comparison &Book = row(Leak, "peak_bytes_bookkeeping");
  CHECK(Book.Measured == Book.Predicted);
}

TEST_CASE("host meter: a leak fails validation of a bundled model at the "
          "default scales") {
  if (!hostMeterBuilt()) {
    skipTest("the host meter cannot see this process's allocations "
             "(no glibc mallinfo2, or a sanitizer replaced malloc)");
    return;
  }
  auto M = loadModelFile(sourcePath("data/models/gpt2-small.json"));
  REQUIRE(bool(M));
  StrategyOptions SO;
  SO.Name = "sqrt";
  auto S = planStrategy(*M, SO);
  REQUIRE(bool(S));
  ValidateOptions O;
  O.Repeats = 1;
  O.TimeTol = 1e9;
  O.OverheadTol = 1e9;
  auto Clean = validateSchedule(*M, *S, O);
  REQUIRE(bool(Clean));
  CHECK(Clean->Passed);
  CHECK(Clean->BytesScaleAuto);
  // The sqrt plan opens with F_ck 0 (embed, no workspace) and F_n 1
  // (h.0.attn), whose forward workspace is the run's first release; `remat
  // simulate` puts the peak at op 29, later. Leaking that workspace adds
  // its scaled size to every later sample, the peak's included.
  REQUIRE(S->chainOps().size() > 29);
  REQUIRE(S->chainOps()[0].Kind == ChainOpKind::FCk);
  REQUIRE(S->chainOps()[1].Kind == ChainOpKind::FN);
  REQUIRE(M->AsChain->Stages[0].FwdWorkspace == 0);
  uint64_t Ws = M->AsChain->Stages[1].FwdWorkspace;
  REQUIRE(Ws > 0);
  O.Fault = {CpuFaultKind::Leak, 0};
  auto Leak = validateSchedule(*M, *S, O);
  REQUIRE(bool(Leak));
  CHECK_FALSE(Leak->Passed);
  CHECK_FALSE(row(*Leak, "peak_bytes").Ok);
  // Rounded up per size by the scale: ceil(Ws / scale).
  uint64_t Scaled = (Ws + Leak->BytesScale - 1) / Leak->BytesScale;
  CHECK(Leak->Run.Meter.PeakBytes >=
        int64_t(row(*Leak, "peak_bytes").Predicted) + int64_t(Scaled));
  const Comparison &Book = row(*Leak, "peak_bytes_bookkeeping");
  CHECK(Book.Measured == Book.Predicted);
}

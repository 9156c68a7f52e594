//===- tests/cli/ValidateTest.cpp - remat validate ------------------------===//

#include "TestUtil.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

using namespace remat::test;

namespace {
const std::string Gpt2 = sourcePath("data/models/gpt2-small.json");

/// Plans \p Strategy on \p Model into a temporary schedule file.
std::unique_ptr<TempFile> planFile(const std::string &Model,
                                   std::vector<std::string> Extra) {
  auto F = std::make_unique<TempFile>("plan.json");
  std::vector<std::string> Args = {"plan", Model, "-o", F->path()};
  Args.insert(Args.end(), Extra.begin(), Extra.end());
  CliResult R = runCli(Args);
  REQUIRE_MESSAGE(R.Code == 0, R.Err);
  return F;
}

nlohmann::json checkNamed(const nlohmann::json &J, const std::string &Name) {
  for (const auto &C : J["checks"])
    if (C["metric"] == Name)
      return C;
  FAIL("no check named " << Name);
  return {};
}
} // namespace

TEST_CASE("cli validate: synthetic json, bookkeeping exact, meter judged") {
  auto Plan = planFile(Gpt2, {"--strategy", "sqrt"});
  // Time is judged loosely here (the machine may be busy); peaks and
  // recomputations must be exact.
  CliResult R =
      runCli({"validate", Gpt2, Plan->path(), "--device", "cpu",
              "--bytes-scale", "65536", "--time-scale", "20", "--repeat", "1",
              "--time-tol", "100", "--overhead-tol", "100", "--json"});
  REQUIRE_MESSAGE(R.Code == 0, R.Err);
  CHECK(R.Err.empty());
  auto J = nlohmann::json::parse(R.Out); // exactly one JSON object
  CHECK(J["mode"] == "synthetic");
  CHECK(J["bytes_scale"] == 65536);
  CHECK(J["passed"] == true);
  CHECK(J["bytes_scale_auto"] == false);
  CHECK(J["time_scale_auto"] == false);
  auto Peak = checkNamed(J, "peak_bytes");
  CHECK(Peak["checked"] == true);
  CHECK(Peak["ok"] == true);
  if (J["peak_source"] == "host meter (glibc mallinfo2)") {
    // The meter counts allocator chunks, each at least its request.
    CHECK(Peak["measured"].get<double>() >= Peak["predicted"].get<double>());
    auto Book = checkNamed(J, "peak_bytes_bookkeeping");
    CHECK(Book["predicted"] == Book["measured"]);
    CHECK(Book["checked"] == false);
    CHECK(J["host_meter"]["schedule"]["samples"].get<int>() > 0);
  } else {
    CHECK(Peak["predicted"] == Peak["measured"]);
  }
  auto Rec = checkNamed(J, "forward_recomputations");
  CHECK(Rec["predicted"] == Rec["measured"]);
  CHECK(J["gradients_bit_identical"].is_null());
}

TEST_CASE("cli validate: real mode reports bit-identical gradients") {
  TempFile Model("tiny.json");
  CliResult P = runCli({"profile", "--device", "cpu", "--preset", "tiny-gpt",
                        "--blocks", "1", "--hidden", "16", "--seq", "8",
                        "--repeat", "1", "-o", Model.path()});
  REQUIRE_MESSAGE(P.Code == 0, P.Err);
  auto Plan = planFile(Model.path(), {"--strategy", "revolve", "--slots", "2"});
  CliResult R =
      runCli({"validate", Model.path(), Plan->path(), "--mode", "real",
              "--hidden", "16", "--seq", "8", "--repeat", "1"});
  REQUIRE_MESSAGE(R.Code == 0, R.Err);
  CHECK(R.Out.find("gradients bit-identical to store-everything: yes") !=
        std::string::npos);
  CHECK(R.Out.find("verdict: PASS") != std::string::npos);
}

TEST_CASE("cli validate: a tolerance violation exits 1") {
  auto Plan = planFile(Gpt2, {"--strategy", "none"});
  // Every op's measured time is its busy time plus the timer's own cost,
  // never less, so the relative time error is always above a tolerance of 0.
  CliResult T = runCli({"validate", Gpt2, Plan->path(), "--bytes-scale",
                        "65536", "--time-scale", "1", "--repeat", "1",
                        "--time-tol", "0", "--overhead-tol", "100"});
  CHECK(T.Code == 1);
  CHECK(T.Err.find("remat: error: validation failed: time: predicted ") == 0);
  CHECK(T.Out.find("MISMATCH") != std::string::npos);
  CHECK(T.Out.find("verdict: FAIL") != std::string::npos);
  // Negative tolerances are bad input, not a failed validation.
  CliResult Neg =
      runCli({"validate", Gpt2, Plan->path(), "--overhead-tol", "-1"});
  CHECK(Neg.Code == 2);
}

TEST_CASE("cli validate: an invalid schedule still answers in JSON") {
  // chain4.json (4 stages): F_all 0 then the loss, which needs x_4.
  std::string Chain4 = sourcePath("tests/data/chain4.json");
  CliResult Plan = runCli({"plan", Chain4, "--strategy", "none"});
  REQUIRE_MESSAGE(Plan.Code == 0, Plan.Err);
  auto J = nlohmann::json::parse(Plan.Out);
  J["ops"] = nlohmann::json::array(
      {{{"op", "F_all"}, {"layer", 0}}, {{"op", "loss"}}});
  TempFile Bad("bad.json", J.dump());
  CliResult R = runCli({"validate", Chain4, Bad.path(), "--json"});
  CHECK(R.Code == 1);
  auto Out = nlohmann::json::parse(R.Out);
  CHECK(Out["valid"] == false);
  CHECK(Out["error"].get<std::string>().find("op 1 (loss)") !=
        std::string::npos);
  CHECK(R.Err.find("remat: error: ") == 0);
}

TEST_CASE("cli validate: a run over the busy-time limit is refused first") {
  // gpt2-small's sqrt plan predicts about 31 ms and store-everything 23 ms:
  // at 10^12 us per ms, 3 runs are 3 * 54 * 10^12 us = 1.6e8 s of spinning;
  // 10^8 repeats at the automatic scale (300 us an op, tens of ops) are
  // over 10^6 s; and 1 ms is below the default run's own ~0.1 s.
  auto Plan = planFile(Gpt2, {"--strategy", "sqrt"});
  for (std::vector<std::string> Extra :
       {std::vector<std::string>{"--time-scale", "1e12"},
        {"--repeat", "100000000"},
        {"--max-seconds", "0.001"}}) {
    std::vector<std::string> Args = {"validate", Gpt2, Plan->path()};
    Args.insert(Args.end(), Extra.begin(), Extra.end());
    CliResult R = runCli(Args);
    CAPTURE(Extra[0]);
    CHECK(R.Code == 2);
    CHECK(R.Err.find("validation would spin for about ") != std::string::npos);
    CHECK(R.Err.find("raise --max-seconds") != std::string::npos);
  }
}

TEST_CASE("cli validate: bad input exits 2") {
  auto Plan = planFile(Gpt2, {"--strategy", "sqrt"});
  CHECK(runCli({"validate", Gpt2}).Code == 2);
  CliResult Dev = runCli({"validate", Gpt2, Plan->path(), "--device", "tpu"});
  CHECK(Dev.Code == 2);
  CHECK(Dev.Err == "remat: error: --device must be cpu or cuda, not 'tpu'\n");
  CliResult Scale =
      runCli({"validate", Gpt2, Plan->path(), "--bytes-scale", "0"});
  CHECK(Scale.Code == 2);
  CHECK(Scale.Err ==
        "remat: error: --bytes-scale must be at least 1 (or auto)\n");
  // A schedule for another model is refused without --force.
  CliResult Other = runCli(
      {"validate", sourcePath("data/models/vit-l16.json"), Plan->path()});
  CHECK(Other.Code == 2);
  // Real mode needs a chain model.
  auto Graph = sourcePath("data/models/sd21-unet.json");
  auto GPlan = planFile(Graph, {"--strategy", "none"});
  CliResult Real = runCli({"validate", Graph, GPlan->path(), "--mode", "real"});
  CHECK(Real.Code == 2);
  CHECK(Real.Err == "remat: error: --mode real runs chain schedules of chain "
                    "models only\n");
}

TEST_CASE("cli validate: --device cuda without a GPU is a clear exit 2") {
  auto Plan = planFile(Gpt2, {"--strategy", "sqrt"});
  CliResult R = runCli({"validate", Gpt2, Plan->path(), "--device", "cuda",
                        "--bytes-scale", "65536", "--repeat", "1"});
  if (R.Code == 0) {
    MESSAGE("a GPU is present: --device cuda ran (checked in the CUDA tests)");
    return;
  }
  CHECK(R.Code == 2);
  CHECK(R.Err.find("remat: error: --device cuda: ") == 0);
  CHECK(R.Out.empty());
}

TEST_CASE("cli validate: --device cuda --mode real without a GPU is exit 2") {
  TempFile Model("tiny-real.json");
  REQUIRE(runCli({"profile", "--preset", "tiny-mlp", "--blocks", "1",
                  "--repeat", "1", "-o", Model.path()})
              .Code == 0);
  auto Plan = planFile(Model.path(), {"--strategy", "sqrt"});
  CliResult R = runCli({"validate", Model.path(), Plan->path(), "--device",
                        "cuda", "--mode", "real", "--check-time"});
  if (R.Code == 0) {
    MESSAGE("a GPU is present: real mode ran on it (see the CUDA tests)");
    return;
  }
  CHECK(R.Code == 2);
  CHECK(R.Err.find("remat: error: --device cuda") == 0);
  CHECK(R.Out.empty());
}

TEST_CASE("cli validate: --help teaches") {
  CliResult R = runCli({"validate", "--help"});
  CHECK(R.Code == 0);
  CHECK(R.Out.find("--bytes-scale") != std::string::npos);
  CHECK(R.Out.find("--memory-cap") != std::string::npos);
  CHECK(R.Out.find("host meter") != std::string::npos);
  CHECK(R.Out.find("example:") != std::string::npos);
}

TEST_CASE("cli validate: the memory cap refuses a scale that exceeds it") {
  auto Plan = planFile(Gpt2, {"--strategy", "sqrt"});
  // gpt2-small's store-everything peak is about 11.9 GiB, far above 256 MiB
  // at scale 1: refused before anything is allocated.
  CliResult R = runCli({"validate", Gpt2, Plan->path(), "--bytes-scale", "1"});
  CHECK(R.Code == 2);
  CHECK(R.Err.find("above the memory cap 256.00 MiB") != std::string::npos);
  CHECK(R.Out.empty());
  // The automatic scale reports itself in the text.
  CliResult A = runCli({"validate", Gpt2, Plan->path(), "--repeat", "1",
                        "--memory-cap", "16MiB"});
  CHECK_MESSAGE(A.Code == 0, A.Err);
  CHECK(A.Out.find("(auto: the smallest power of two that brings both peaks "
                   "within the 16.00 MiB memory cap)") != std::string::npos);
  CHECK(A.Out.find("(auto: the average op lasts 300 us)") != std::string::npos);
  CHECK(A.Out.find("peaks judged by the ") != std::string::npos);
}

namespace {
/// The store-everything peak of \p Model, from the `none` plan's file.
uint64_t storeAllPeak(const std::string &Model) {
  auto None = planFile(Model, {"--strategy", "none"});
  std::ifstream In(None->path());
  auto J = nlohmann::json::parse(In);
  return J["predicted"]["baseline_peak_bytes"].get<uint64_t>();
}

/// The kind of a chain model's second stage (present by construction).
std::string secondKind(const std::string &Model) {
  std::ifstream In(Model);
  auto J = nlohmann::json::parse(In);
  return J["layers"][1]["kind"].get<std::string>();
}

/// Whether the only failed checks of a `validate --json` output are the
/// wall-clock ones (time, baseline_time, overhead).
bool onlyTimeFailed(const std::string &Out) {
  auto J = nlohmann::json::parse(Out, nullptr, /*allow_exceptions=*/false);
  if (J.is_discarded() || !J.contains("checks"))
    return false;
  bool Any = false;
  for (const auto &C : J["checks"]) {
    if (C.value("ok", true))
      continue;
    std::string M = C["metric"];
    if (M != "time" && M != "baseline_time" && M != "overhead")
      return false;
    Any = true;
  }
  return Any;
}

/// Plans every strategy of issue 12's matrix on \p Name and validates each
/// with the defaults (only --repeat 1, to keep the suite short): it must
/// pass, choose both scales itself and stay within the 256 MiB cap.
void defaultsPassOn(const std::string &Name) {
  std::string Model = sourcePath("data/models/" + Name + ".json");
  std::string Half = std::to_string(storeAllPeak(Model) / 2);
  bool IsChain = Model.find("-unet") == std::string::npos;
  std::vector<std::vector<std::string>> Plans;
  if (IsChain)
    Plans = {{"none"},
             {"sequential", "--segments", "4"},
             {"every", "--k", "3"},
             {"sqrt"},
             {"selective", "--kinds", secondKind(Model)},
             {"chen", "--budget", Half},
             {"revolve", "--slots", "4"},
             {"optimal", "--budget", Half}};
  else
    // Graph chen at half the peak is infeasible (its least feasible budgets
    // are 2.24 of 3.79 GiB on sd21, 59%, and 5.22 of 7.17 GiB on sdxl,
    // 73%), so it is validated without a budget and at four fifths.
    Plans = {{"none"},
             {"recompute-all"},
             {"chen"},
             {"chen", "--budget", std::to_string(storeAllPeak(Model) / 5 * 4)},
             {"optimal", "--budget", Half}};
  const uint64_t Cap = uint64_t(256) << 20;
  for (const auto &Plan : Plans) {
    INFO(Name << " / " << Plan[0]);
    std::vector<std::string> Args = {"--strategy"};
    Args.insert(Args.end(), Plan.begin(), Plan.end());
    auto File = planFile(Model, Args);
    CliResult R =
        runCli({"validate", Model, File->path(), "--repeat", "1", "--json"});
    // Wall-clock time on a shared machine (ctest -j2 beside the Python
    // suites) is noisy: a verdict that failed on time alone is measured
    // again, at most twice. Memory and recomputations are never retried.
    for (int Retry = 0; Retry < 2 && R.Code == 1 && onlyTimeFailed(R.Out);
         ++Retry)
      R = runCli({"validate", Model, File->path(), "--repeat", "1", "--json"});
    CHECK_MESSAGE(R.Code == 0, R.Err << R.Out);
    auto J = nlohmann::json::parse(R.Out);
    CHECK(J["passed"] == true);
    CHECK(J["bytes_scale_auto"] == true);
    CHECK(J["time_scale_auto"] == true);
    CHECK(J["memory_cap_bytes"] == Cap);
    for (const char *Peak : {"peak_bytes", "baseline_peak_bytes"})
      CHECK(checkNamed(J, Peak)["predicted"].get<double>() <= double(Cap));
    // The scale is the smallest power of two that fits: at half of it the
    // larger peak was above the cap, and since ceil(2b/s) <= 2 ceil(b/s)
    // for every size b, a peak at scale s is at least half the peak at s/2,
    // so the larger scaled peak here is above Cap / 2.
    double Larger = std::max(
        checkNamed(J, "peak_bytes")["predicted"].get<double>(),
        checkNamed(J, "baseline_peak_bytes")["predicted"].get<double>());
    if (J["bytes_scale"].get<uint64_t>() > 1)
      CHECK(Larger > double(Cap) / 2);
  }
}
} // namespace

TEST_CASE("cli validate: defaults pass on gpt2-small, every strategy") {
  defaultsPassOn("gpt2-small");
}
TEST_CASE("cli validate: defaults pass on llama2-7b, every strategy") {
  defaultsPassOn("llama2-7b");
}
TEST_CASE("cli validate: defaults pass on resnet-1001, every strategy") {
  defaultsPassOn("resnet-1001");
}
TEST_CASE("cli validate: defaults pass on sd21-unet, every strategy") {
  defaultsPassOn("sd21-unet");
}
TEST_CASE("cli validate: defaults pass on sdxl-unet, every strategy") {
  defaultsPassOn("sdxl-unet");
}
TEST_CASE("cli validate: defaults pass on transformer-50, every strategy") {
  defaultsPassOn("transformer-50");
}
TEST_CASE("cli validate: defaults pass on vit-l16, every strategy") {
  defaultsPassOn("vit-l16");
}

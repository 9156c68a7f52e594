//===- cli/MaxbatchCommand.cpp - remat maxbatch ---------------------------===//
//
// `remat maxbatch MODEL --device-memory SIZE [--json]`: per strategy, the
// largest batch that fits. The scaling rule is in planner/MaxBatch.h and
// docs/optimal-chain.md.
//
//===----------------------------------------------------------------------===//

#include "cli/Commands.h"
#include "cli/Common.h"
#include "cli/TrainingOptions.h"
#include "graph/Errors.h"
#include "graph/ModelLoader.h"
#include "graph/Size.h"
#include "planner/MaxBatch.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

using namespace llvm;

namespace remat::cli {

namespace {

ArgParser makeParser() {
  ArgParser P(
      "maxbatch",
      "maxbatch MODEL --device-memory SIZE [--static-bytes SIZE | "
      "--parameters N [set-up options]] [--json]",
      "The largest batch that fits in device memory, per strategy. The "
      "model's costs describe its top-level batch_size (batch 1 when the "
      "file has none); at batch b, every activation size (input, outputs, "
      "saved tensors, workspaces) and every time scales by b / batch_size, "
      "sizes rounded up to whole bytes. static_bytes do not scale; the "
      "activation budget is device memory minus static bytes. For the "
      "optimal planner the table also gives the largest batch whose "
      "overhead stays within 10% and 33%. Chain models get every chain "
      "strategy; graph models get none, recompute-all, chen and optimal "
      "(the scalable graph planner, within --time-limit per call). The "
      "search stops at batch 2^24; a row there reads '16777216+'. The "
      "static bytes are the model file's unless --static-bytes replaces "
      "them, or --parameters with the set-up options (the same as remat "
      "gen's; formula in docs/models.md) recomputes them.");
  P.option("device-memory", "SIZE",
           "total device memory, e.g. 80GiB or 24GB (required)");
  P.option("time-limit", "SEC",
           fmt::format("graph models: time limit of each optimal planner "
                       "call (default {})",
                       DefaultMaxBatchTimeLimitSeconds));
  P.option("static-bytes", "SIZE",
           "replace the model file's static bytes (weights, gradients, "
           "optimizer states) by SIZE");
  P.option("parameters", "N",
           "parameter count of the model; with the set-up options below, "
           "recomputes the static bytes");
  addTrainingOptions(P, TrainingSetup());
  P.flag("json", "print one JSON object");
  P.epilog("Examples:\n  remat maxbatch data/models/gpt2-small.json "
           "--device-memory 24GiB\n  remat maxbatch "
           "data/models/sd21-unet.json --device-memory 80GB --json\n  remat "
           "maxbatch data/models/llama2-7b.json --device-memory 80GB "
           "--parameters 6738415616 --optimizer adamw-8bit");
  return P;
}

/// "-" when not even batch 1 fits; a batch at the search limit \p Limit
/// (MaxBatchOptions::BatchLimit, 2^24) is a lower bound: "16777216+".
std::string batchText(uint64_t B, uint64_t Limit) {
  if (!B)
    return "-";
  return std::to_string(B) + (B >= Limit ? "+" : "");
}

void printText(const Model &M, const MaxBatchResult &R, raw_ostream &OS) {
  OS << fmt::format("{}: activation budget {} = device memory - static {}\n",
                    printable(M.Name.empty() ? M.Path : M.Name),
                    formatSize(R.BudgetBytes), formatSize(R.StaticBytes));
  if (!R.BatchDeclared)
    OS << "note: the model declares no batch_size; its costs are taken as "
          "batch 1\n";
  else
    OS << fmt::format("costs in the file are for batch {}\n", R.FileBatch);
  OS << fmt::format("\n  {:<30}  {:>9}  {:>12}  {:>9}\n", "strategy",
                    "max batch", "peak", "overhead");
  for (const MaxBatchRow &Row : R.Rows)
    OS << fmt::format("  {:<30}  {:>9}  {:>12}  {:>9}\n", Row.Label,
                      batchText(Row.MaxBatch, R.BatchLimit),
                      Row.MaxBatch ? formatSize(Row.PeakBytes) : "-",
                      Row.MaxBatch ? fmt::format("{:.1f}%", Row.Overhead * 100)
                                   : "-");
  bool AtLimit =
      R.StandardBatch >= R.BatchLimit || R.CheckpointedBatch >= R.BatchLimit;
  for (const MaxBatchRow &Row : R.Rows)
    AtLimit = AtLimit || Row.MaxBatch >= R.BatchLimit;
  if (AtLimit)
    OS << fmt::format("  (+: the search stops at batch {}; a larger one may "
                      "fit)\n",
                      R.BatchLimit);
  OS << fmt::format("\n  standard (store everything) batch:  {}\n",
                    batchText(R.StandardBatch, R.BatchLimit));
  OS << fmt::format("  checkpointed (optimal) batch:       {}",
                    batchText(R.CheckpointedBatch, R.BatchLimit));
  if (R.StandardBatch && R.CheckpointedBatch)
    OS << fmt::format("  ({:.2f}x)",
                      double(R.CheckpointedBatch) / double(R.StandardBatch));
  OS << "\n";
  if (R.StandardBatch && R.StandardPeakBytes >= R.OptimalPeakAtStandard) {
    uint64_t Saved = R.StandardPeakBytes - R.OptimalPeakAtStandard;
    OS << fmt::format("  at batch {}: store-all needs {}, optimal needs {}; "
                      "saves {} ({:.1f}%)\n",
                      R.StandardBatch, formatSize(R.StandardPeakBytes),
                      formatSize(R.OptimalPeakAtStandard), formatSize(Saved),
                      R.StandardPeakBytes ? 100.0 * Saved / R.StandardPeakBytes
                                          : 0.0);
  }
}

nlohmann::ordered_json toJson(const Model &M, const MaxBatchResult &R) {
  nlohmann::ordered_json J;
  J["model"] = M.Name;
  J["file_batch"] = R.FileBatch;
  J["batch_declared"] = R.BatchDeclared;
  J["static_bytes"] = R.StaticBytes;
  J["budget_bytes"] = R.BudgetBytes;
  J["batch_limit"] = R.BatchLimit;
  nlohmann::ordered_json Rows = nlohmann::ordered_json::array();
  for (const MaxBatchRow &Row : R.Rows)
    Rows.push_back({{"label", Row.Label},
                    {"strategy", Row.Strategy},
                    {"max_batch", Row.MaxBatch},
                    {"max_batch_is_limit", Row.MaxBatch >= R.BatchLimit},
                    {"peak_bytes", Row.PeakBytes},
                    {"overhead", Row.Overhead}});
  J["strategies"] = std::move(Rows);
  J["standard_batch"] = R.StandardBatch;
  J["checkpointed_batch"] = R.CheckpointedBatch;
  J["standard_peak_bytes"] = R.StandardPeakBytes;
  J["optimal_peak_bytes_at_standard"] = R.OptimalPeakAtStandard;
  return J;
}

/// Where the static bytes come from, when not from the model file.
struct StaticSource {
  /// "--static-bytes" or "training set-up"; empty: the model file's.
  std::string Kind;
  /// The set-up's phrase (describeTrainingSetup), or the size given.
  std::string Description;
};

/// Applies --static-bytes or --parameters with the set-up options to \p M.
Expected<StaticSource> applyStaticOptions(const ArgParser &P, Model &M) {
  auto Given = P.getSize("static-bytes");
  if (!Given)
    return Given.takeError();
  auto Setup = readTrainingOptions(P, TrainingSetup());
  if (!Setup)
    return Setup.takeError();
  bool HasParams = P.has("parameters");
  if (*Given && (*Setup || HasParams))
    return badInput("maxbatch: --static-bytes replaces the static "
                    "bytes; do not combine it with --parameters or "
                    "the set-up options");
  if (*Given) {
    M.Static = StaticBytes();
    M.Static.Parameters = **Given;
    return StaticSource{"--static-bytes", formatSize(**Given)};
  }
  if (!*Setup && !HasParams)
    return StaticSource();
  if (!HasParams)
    return badInput("maxbatch: the set-up options need --parameters "
                    "N, the model's parameter count (remat gen "
                    "prints it in the model's description)");
  uint64_t N = 0;
  // A copy: P.get returns a temporary.
  std::string Text = *P.get("parameters");
  if (StringRef(Text).getAsInteger(10, N) || N == 0)
    return badInput("maxbatch: --parameters: '{}' is not a positive "
                    "whole number of parameters",
                    Text);
  TrainingSetup S = Setup->value_or(TrainingSetup());
  auto Bytes = trainingStaticBytes(N, S);
  if (!Bytes)
    return Bytes.takeError();
  M.Static = *Bytes;
  return StaticSource{"training set-up", describeTrainingSetup(S, N)};
}

} // namespace

int runMaxbatch(ArrayRef<std::string> Args, raw_ostream &Out,
                raw_ostream &Err) {
  ArgParser P = makeParser();
  if (std::optional<int> Done = parseArgs(P, Args, 1, 1, Out, Err))
    return *Done;
  auto Device = P.getSize("device-memory");
  if (!Device)
    return reportError(Device.takeError(), Err);
  if (!*Device)
    return reportError(badInput("maxbatch needs --device-memory SIZE"), Err);
  auto M = loadModelFile(P.positionals()[0]);
  if (!M)
    return reportError(M.takeError(), Err);
  auto Source = applyStaticOptions(P, *M);
  if (!Source)
    return reportError(Source.takeError(), Err);
  MaxBatchOptions Opts;
  Opts.DeviceMemoryBytes = **Device;
  auto Limit = P.getDouble("time-limit");
  if (!Limit)
    return reportError(Limit.takeError(), Err);
  if (*Limit)
    Opts.TimeLimitSeconds = **Limit;
  auto R = computeMaxBatch(*M, Opts);
  if (!R)
    return reportError(R.takeError(), Err);
  if (P.has("json")) {
    nlohmann::ordered_json J = toJson(*M, *R);
    if (!Source->Kind.empty())
      J["static_bytes_from"] = {{"source", Source->Kind},
                                {"description", Source->Description}};
    Out << J.dump(2) << "\n";
  } else {
    if (!Source->Kind.empty())
      Out << fmt::format("static bytes from {}: {}\n", Source->Kind,
                         Source->Description);
    printText(*M, *R, Out);
  }
  return ExitOk;
}

} // namespace remat::cli

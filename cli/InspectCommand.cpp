//===- cli/InspectCommand.cpp - remat inspect -----------------------------===//
//
// `remat inspect MODEL [--json]`: what a model file holds, and what storing
// every activation would cost (the store-everything plan simulated under
// spec §3). The JSON keys are documented in docs/model-format.md.
//
//===----------------------------------------------------------------------===//

#include "cli/Commands.h"
#include "cli/Common.h"
#include "graph/ModelLoader.h"
#include "graph/Size.h"
#include "planner/ChainStrategies.h"
#include "planner/GraphPlanner.h"
#include "planner/Simulator.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

using namespace llvm;

namespace remat::cli {

namespace {

/// How many of the largest layers (or nodes) inspect lists.
constexpr size_t LargestShown = 5;

/// One row of the "largest" table: a chain stage, or a forward graph node
/// (then SavedBytes == OutputBytes == its bytes and BwdTime is unused).
struct Entry {
  std::string Name, Kind;
  uint64_t SavedBytes = 0, OutputBytes = 0;
  double FwdTime = 0, BwdTime = 0;
};

struct Summary {
  const Model *M = nullptr;
  /// Forward, loss and backward node counts of the graph.
  unsigned NodesByPhase[3] = {0, 0, 0};
  /// Stage kinds (chains) or forward node kinds (graphs), by kind name.
  std::map<std::string, unsigned> Kinds;
  uint64_t OutputTotal = 0, SavedTotal = 0;
  uint64_t StoreAllPeak = 0;
  double StoreAllTime = 0;
  std::vector<Entry> Largest;
};

std::string kindName(const std::string &K) { return K.empty() ? "(none)" : K; }

void summariseChain(const Chain &C, Summary &S) {
  for (const Stage &St : C.Stages) {
    ++S.Kinds[kindName(St.Kind)];
    S.OutputTotal += St.OutputBytes;
    S.SavedTotal += St.SavedBytes;
    S.Largest.push_back({St.Name, St.Kind, St.SavedBytes, St.OutputBytes,
                         St.FwdTime, St.BwdTime});
  }
}

void summariseGraph(const Graph &G, Summary &S) {
  for (const Node &N : G.Nodes) {
    if (N.NodePhase != Phase::Forward)
      continue;
    ++S.Kinds[kindName(N.Kind)];
    S.OutputTotal += N.Bytes;
    S.Largest.push_back({N.Name, N.Kind, N.Bytes, N.Bytes, N.Time, 0});
  }
}

Expected<Summary> summarise(const Model &M) {
  Summary S;
  S.M = &M;
  for (const Node &N : M.G.Nodes)
    ++S.NodesByPhase[static_cast<unsigned>(N.NodePhase)];
  Expected<SimResult> R =
      M.isChain() ? simulateChain(*M.AsChain, storeAllOps(*M.AsChain))
                  : simulateGraph(M.G, storeAllGraphOps(M.G));
  if (!R)
    return R.takeError();
  S.StoreAllPeak = R->PeakBytes;
  S.StoreAllTime = R->Time;
  if (M.isChain())
    summariseChain(*M.AsChain, S);
  else
    summariseGraph(M.G, S);
  // Largest first; ties keep file order.
  std::stable_sort(S.Largest.begin(), S.Largest.end(),
                   [](const Entry &A, const Entry &B) {
                     return A.SavedBytes > B.SavedBytes;
                   });
  if (S.Largest.size() > LargestShown)
    S.Largest.resize(LargestShown);
  return S;
}

std::string formForm(const Model &M) {
  if (!M.FromGraphForm)
    return "chain";
  return M.isChain() ? "graph (recognised as a chain)" : "graph";
}

/// "12.00 MiB (12582912 bytes)", or "26 B" when the unit is already bytes.
std::string sizeText(uint64_t Bytes) {
  std::string S = formatSize(Bytes);
  return Bytes < 1024 ? S : S + " (" + std::to_string(Bytes) + " bytes)";
}

void printRow(raw_ostream &OS, StringRef Label, const Twine &Value) {
  OS << "  " << fmt::format("{:<20}", Label.str()) << printable(Value.str())
     << "\n";
}

void printKinds(raw_ostream &OS, const Summary &S) {
  std::vector<std::pair<std::string, unsigned>> Kinds(S.Kinds.begin(),
                                                      S.Kinds.end());
  // Most common first; equal counts by name (the map's order).
  std::stable_sort(
      Kinds.begin(), Kinds.end(),
      [](const auto &A, const auto &B) { return A.second > B.second; });
  std::string Text;
  for (const auto &[Kind, Count] : Kinds)
    Text += (Text.empty() ? "" : ", ") + Kind + " " + std::to_string(Count);
  printRow(OS, "kinds", Text);
}

void printLargest(raw_ostream &OS, const Summary &S) {
  const Model &M = *S.M;
  bool Chain = M.isChain();
  OS << "\nlargest " << (Chain ? "layers by saved bytes" : "forward nodes")
     << "\n";
  size_t NameW = 5, KindW = 4;
  for (const Entry &E : S.Largest) {
    NameW = std::max(NameW, printable(E.Name).size());
    KindW = std::max(KindW, printable(kindName(E.Kind)).size());
  }
  std::string Head =
      Chain ? fmt::format("  {:<{}}  {:<{}}  {:>12}  {:>12}  {:>10}  {:>10}",
                          "layer", NameW, "kind", KindW, "saved", "output",
                          "fwd_time", "bwd_time")
            : fmt::format("  {:<{}}  {:<{}}  {:>12}  {:>10}", "node", NameW,
                          "kind", KindW, "bytes", "time");
  OS << Head << "\n";
  for (const Entry &E : S.Largest) {
    if (Chain)
      OS << fmt::format("  {:<{}}  {:<{}}  {:>12}  {:>12}  {:>10}  {:>10}\n",
                        printable(E.Name), NameW, printable(kindName(E.Kind)),
                        KindW, formatSize(E.SavedBytes),
                        formatSize(E.OutputBytes), fixed(E.FwdTime, 3),
                        fixed(E.BwdTime, 3));
    else
      OS << fmt::format("  {:<{}}  {:<{}}  {:>12}  {:>10}\n", printable(E.Name),
                        NameW, printable(kindName(E.Kind)), KindW,
                        formatSize(E.SavedBytes), fixed(E.FwdTime, 3));
  }
}

void printHuman(raw_ostream &OS, const Summary &S) {
  const Model &M = *S.M;
  OS << "model " << printable(M.Name) << "\n";
  if (!M.Description.empty())
    printRow(OS, "description", M.Description);
  printRow(OS, "file", M.Path);
  printRow(OS, "sha256", M.Sha256);
  printRow(OS, "form", formForm(M));
  printRow(OS, "time unit", M.TimeUnit);
  if (M.BatchSize)
    printRow(OS, "batch size", Twine(M.BatchSize));
  if (M.isChain())
    printRow(OS, "layers", Twine(M.AsChain->size()));
  printRow(OS, "graph nodes",
           fmt::format("{} ({} forward, {} loss, {} backward)", M.G.size(),
                       S.NodesByPhase[0], S.NodesByPhase[1],
                       S.NodesByPhase[2]));
  printKinds(OS, S);

  OS << "\nmemory\n";
  if (M.isChain())
    printRow(OS, "input", sizeText(M.AsChain->InputBytes));
  printRow(OS, M.isChain() ? "outputs (sum)" : "forward bytes (sum)",
           sizeText(S.OutputTotal));
  if (M.isChain())
    printRow(OS, "saved (sum)", sizeText(S.SavedTotal));
  printRow(OS, "static", sizeText(M.Static.total()));
  printRow(OS, "  parameters", sizeText(M.Static.Parameters));
  printRow(OS, "  gradients", sizeText(M.Static.Gradients));
  printRow(OS, "  optimizer", sizeText(M.Static.Optimizer));

  OS << "\nstore everything (no recomputation)\n";
  printRow(OS, "peak", sizeText(S.StoreAllPeak));
  printRow(OS, "peak + static", sizeText(S.StoreAllPeak + M.Static.total()));
  printRow(OS, "time", fixed(S.StoreAllTime, 3) + " " + M.TimeUnit);
  printLargest(OS, S);
}

nlohmann::ordered_json largestJson(const Summary &S) {
  nlohmann::ordered_json List = nlohmann::ordered_json::array();
  for (const Entry &E : S.Largest) {
    nlohmann::ordered_json J;
    J["name"] = E.Name;
    J["kind"] = E.Kind;
    if (S.M->isChain()) {
      J["saved_bytes"] = E.SavedBytes;
      J["output_bytes"] = E.OutputBytes;
      J["fwd_time"] = E.FwdTime;
      J["bwd_time"] = E.BwdTime;
    } else {
      J["bytes"] = E.SavedBytes;
      J["time"] = E.FwdTime;
    }
    List.push_back(std::move(J));
  }
  return List;
}

std::string toJson(const Summary &S) {
  const Model &M = *S.M;
  nlohmann::ordered_json J;
  J["name"] = M.Name;
  J["description"] = M.Description;
  J["path"] = M.Path;
  J["sha256"] = M.Sha256;
  J["form"] = M.FromGraphForm ? "graph" : "chain";
  J["recognised_as_chain"] = M.FromGraphForm && M.isChain();
  J["time_unit"] = M.TimeUnit;
  J["batch_size"] = M.BatchSize ? nlohmann::ordered_json(M.BatchSize)
                                : nlohmann::ordered_json();
  J["layers"] = M.isChain() ? nlohmann::ordered_json(M.AsChain->size())
                            : nlohmann::ordered_json();
  J["nodes"] = {{"total", M.G.size()},
                {"forward", S.NodesByPhase[0]},
                {"loss", S.NodesByPhase[1]},
                {"backward", S.NodesByPhase[2]}};
  J["kinds"] = nlohmann::ordered_json::object();
  for (const auto &[Kind, Count] : S.Kinds)
    J["kinds"][Kind] = Count;
  J["input_bytes"] = M.isChain() ? nlohmann::ordered_json(M.AsChain->InputBytes)
                                 : nlohmann::ordered_json();
  J["output_bytes_total"] = S.OutputTotal;
  J["saved_bytes_total"] = M.isChain() ? nlohmann::ordered_json(S.SavedTotal)
                                       : nlohmann::ordered_json();
  J["static_bytes"] = {{"parameters", M.Static.Parameters},
                       {"gradients", M.Static.Gradients},
                       {"optimizer", M.Static.Optimizer},
                       {"total", M.Static.total()}};
  J["store_all"] = {
      {"peak_bytes", S.StoreAllPeak},
      {"peak_with_static_bytes", S.StoreAllPeak + M.Static.total()},
      {"time", S.StoreAllTime}};
  J[M.isChain() ? "largest_layers" : "largest_nodes"] = largestJson(S);
  return J.dump(2) + "\n";
}

ArgParser makeParser() {
  ArgParser P("inspect", "inspect MODEL [--json]",
              "Summarises a model file (chain or graph form): its form, layer "
              "or node counts,\nkinds, activation and static memory, the five "
              "largest layers, and the peak\nmemory and time of the plan that "
              "stores every activation (no recomputation),\nsimulated with "
              "the same accounting as 'remat plan'. The file is validated\n"
              "strictly: a malformed model is one line naming the file and the "
              "place, and\nexit status 2.");
  P.flag("json", "print one JSON object instead of the table");
  P.epilog("Sizes print in binary units (KiB = 1024 bytes) with exact byte "
           "counts beside\nthem; times are in the model's time_unit. The file "
           "format, the error messages\nand the --json keys are described in "
           "docs/model-format.md.\n\n"
           "examples:\n  remat inspect data/models/gpt2-small.json\n"
           "  remat inspect data/models/gpt2-small.json --json | jq "
           ".store_all.peak_bytes");
  return P;
}

} // namespace

int runInspect(ArrayRef<std::string> Args, raw_ostream &Out, raw_ostream &Err) {
  ArgParser P = makeParser();
  if (std::optional<int> Done = parseArgs(P, Args, 1, 1, Out, Err))
    return *Done;
  Expected<Model> M = loadModelFile(P.positionals()[0]);
  if (!M)
    return reportError(M.takeError(), Err);
  Expected<Summary> S = summarise(*M);
  if (!S)
    return reportError(S.takeError(), Err);
  if (P.has("json"))
    Out << toJson(*S);
  else
    printHuman(Out, *S);
  return ExitOk;
}

} // namespace remat::cli

//===- fuzz/FuzzSchedule.cpp - libFuzzer target: the schedule loader ------===//
//
// Input: the bytes of a schedule file, read against two fixed models (a
// chain and a graph, from tests/data), then simulated. Seeds: schedules
// planned for those models (scripts/fuzz.sh makes them).

#include "FuzzCommon.h"

#include "graph/ModelLoader.h"
#include "planner/ScheduleIO.h"

#include <cstddef>
#include <cstdint>

using namespace remat;

static const char ChainModel[] = R"({"format": "remat-model", "version": 1,
  "name": "chain4", "input_bytes": 4,
  "loss": {"bwd_time": 1, "bwd_workspace": 2},
  "layers": [
    {"name": "embed", "fwd_time": 1, "bwd_time": 2, "output_bytes": 8, "saved_bytes": 12},
    {"name": "h.0.attn", "fwd_time": 3, "bwd_time": 6, "output_bytes": 8, "saved_bytes": 20, "fwd_workspace": 4},
    {"name": "h.0.mlp", "fwd_time": 2, "bwd_time": 4, "output_bytes": 8, "saved_bytes": 16},
    {"name": "head", "fwd_time": 1, "bwd_time": 2, "output_bytes": 2, "saved_bytes": 6}]})";

static const char GraphModel[] = R"({"format": "remat-model", "version": 1,
  "name": "diamond", "graph": {"nodes": [
    {"name": "a", "time": 1, "bytes": 8, "inputs": [], "phase": "forward"},
    {"name": "b", "time": 2, "bytes": 6, "inputs": ["a"], "phase": "forward"},
    {"name": "c", "time": 3, "bytes": 2, "inputs": ["a"], "phase": "forward", "workspace": 5},
    {"name": "d", "time": 1, "bytes": 4, "inputs": ["b", "c"], "phase": "forward"}]}})";

static const Model &model(bool Graph) {
  static const Model Models[2] = {
      cantFail(parseModelText(ChainModel, "chain4.json")),
      cantFail(parseModelText(GraphModel, "diamond.json"))};
  return Models[Graph];
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size) {
  llvm::StringRef Text(reinterpret_cast<const char *>(Data), Size);
  for (bool Graph : {false, true}) {
    const Model &M = model(Graph);
    auto S = parseScheduleText(Text, "fuzz.schedule.json", &M);
    if (!S) {
      llvm::consumeError(S.takeError());
      continue;
    }
    auto Sim = simulate(M, *S);
    if (!Sim)
      llvm::consumeError(Sim.takeError());
  }
  return 0;
}

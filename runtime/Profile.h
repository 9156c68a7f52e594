//===- runtime/Profile.h - Measuring real layers ----------------*- C++ -*-===//
//
// Closes the loop profile -> plan -> validate: times the real-mode layers
// (runtime/RealModel.h) by repeated runs and takes their bytes from what the
// layers actually keep, then writes a spec §2 model file describing them.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_RUNTIME_PROFILE_H
#define REMAT_RUNTIME_PROFILE_H

#include "graph/Graph.h"
#include "runtime/Backend.h"
#include "runtime/RealLayers.h"

#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace remat {

struct ProfileOptions {
  /// "cpu", or "cuda" (the same layers on the GPU, runtime/RealDevice.h;
  /// an error naming the reason without a GPU or without the CUDA build).
  std::string Device = "cpu";
  /// Clock of the CPU timings (cuda: CUDA events on the backend's stream).
  CpuClock Clock = CpuClock::Thread;
  /// Preset to build (see real::PresetNames) when Like is null.
  std::string Preset = "tiny-gpt";
  /// Preset size: number of blocks.
  unsigned Blocks = 2;
  /// When set, profile one real layer per stage of this chain (by kind),
  /// keeping its stage names.
  const Chain *Like = nullptr;
  /// Shapes of the real layers.
  real::RealShape Shape;
  /// Timed runs per layer and pass; the median is written (>= 1).
  unsigned Repeats = 5;
  /// The model's "name"; empty: the preset's or "<like>-real".
  std::string Name;
};

/// One profiled stage, as written to the model file.
struct StageProfile {
  Stage S;
  /// The real layer type it ran as.
  std::string LayerType;
};

struct ProfileResult {
  std::string Name;
  std::vector<StageProfile> Stages;
  uint64_t InputBytes = 0;
  uint64_t ParameterBytes = 0;
  /// Loss backward time, milliseconds.
  double LossMs = 0;
  /// The spec §2 model file (pretty JSON, trailing newline).
  std::string Json;
};

/// Builds the real net, times every layer's forward (not recording) and
/// backward \p O.Repeats times each, and renders the model file with
/// time_unit "ms". Errors: bad shapes or preset, a device other than cpu or
/// cuda, cuda without a GPU (or without the CUDA build and cuBLAS).
llvm::Expected<ProfileResult> profileRealLayers(const ProfileOptions &O);

} // namespace remat

#endif // REMAT_RUNTIME_PROFILE_H

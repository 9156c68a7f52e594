//===- models/TrainingSetup.h - Static bytes of set-ups ---------*- C++ -*-===//
//
// How a model is trained decides the memory that no schedule can change: the
// weights, their gradients, the optimizer's states and any master copy. The
// generators assume one set-up per model (Adam in mixed precision, or SGD
// with momentum for the ResNet); `remat gen --optimizer/--precision/
// --trainable-params/--zero/--devices` replaces it. Formula: docs/models.md,
// "Training set-ups".
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_MODELS_TRAININGSETUP_H
#define REMAT_MODELS_TRAININGSETUP_H

#include "graph/Graph.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>

namespace remat {

struct GeneratedModel;

/// One training set-up; every field has the meaning of its `gen` option.
struct TrainingSetup {
  /// "adamw" (fp32 first and second moments, 8 B per trainable parameter),
  /// "adamw-8bit" (2 B), "sgd-momentum" (fp32 momentum, 4 B), "sgd" (none)
  /// or "none" (frozen weights: no gradients and no optimizer at all).
  std::string Optimizer = "adamw";
  /// "mixed" (16-bit weights and gradients plus an fp32 master copy of the
  /// trainable ones), "bf16" (pure 16-bit, no master copy) or "fp32".
  std::string Precision = "mixed";
  /// Parameters that train (adapters such as LoRA, or a fine-tuned part);
  /// none: all of them. The rest are frozen weights.
  std::optional<uint64_t> TrainableParams;
  /// ZeRO stage over Devices data-parallel ranks: 1 shards the optimizer
  /// states (and master copy), 2 the gradients too, 3 the weights too.
  unsigned ZeroStage = 0;
  unsigned Devices = 1;
};

/// The set-up a generator kind assumes ("resnet": SGD with momentum in
/// fp32; every other kind: AdamW in mixed precision).
TrainingSetup defaultTrainingSetup(llvm::StringRef Kind);

/// Static bytes per device of \p Parameters under \p S. Fails, naming the
/// option, on an unknown optimizer or precision, trainable parameters above
/// the model's count, trainable parameters with optimizer "none", a ZeRO
/// stage above 3 or zero devices.
llvm::Expected<StaticBytes> trainingStaticBytes(uint64_t Parameters,
                                                const TrainingSetup &S);

/// One phrase for a model's description, e.g. "static bytes for AdamW-8bit
/// in mixed precision, 4194304 of 6738415616 params trainable, ZeRO-2 over
/// 8 devices (per device)".
std::string describeTrainingSetup(const TrainingSetup &S, uint64_t Parameters);

/// Replaces \p M's static bytes by those of \p S and the generator's static
/// phrase in its description ("static bytes for ...)") by
/// describeTrainingSetup's.
llvm::Error applyTrainingSetup(GeneratedModel &M, const TrainingSetup &S);

} // namespace remat

#endif // REMAT_MODELS_TRAININGSETUP_H

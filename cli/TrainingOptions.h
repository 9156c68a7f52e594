//===- cli/TrainingOptions.h - Training set-up options ----------*- C++ -*-===//
//
// The options that describe a training set-up (models/TrainingSetup.h):
// --optimizer, --precision, --trainable-params, --zero, --devices. `gen`
// applies them to the model it generates; `maxbatch` recomputes a model
// file's static bytes from them and --parameters.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_CLI_TRAININGOPTIONS_H
#define REMAT_CLI_TRAININGOPTIONS_H

#include "cli/Args.h"
#include "models/TrainingSetup.h"

#include "llvm/Support/Error.h"

#include <optional>

namespace remat::cli {

/// Declares the set-up options on \p P; the defaults shown are \p Defaults.
void addTrainingOptions(ArgParser &P, const TrainingSetup &Defaults);

/// The set-up the options describe, starting from \p Defaults; nullopt
/// when none of them is given. Errors name the option and the bad value.
llvm::Expected<std::optional<TrainingSetup>>
readTrainingOptions(const ArgParser &P, const TrainingSetup &Defaults);

} // namespace remat::cli

#endif // REMAT_CLI_TRAININGOPTIONS_H

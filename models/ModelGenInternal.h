//===- models/ModelGenInternal.h - Shared by the generators -----*- C++ -*-===//
//
// Exact 128-bit cost records that each generator fills and one function that
// checks and narrows them into a GeneratedModel. Private to models/ModelGen*.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_MODELS_MODELGENINTERNAL_H
#define REMAT_MODELS_MODELGENINTERNAL_H

#include "models/ModelGen.h"

#include <string>
#include <vector>

namespace remat::gen {

using U128 = unsigned __int128;

/// Bytes per parameter of the static memory (docs/models.md, "Static
/// bytes").
struct StaticRule {
  /// Bytes of each parameter as the forward reads it.
  unsigned ParamBytes = 2;
  /// Bytes of each parameter's gradient.
  unsigned GradBytes = 2;
  /// Optimizer state bytes per parameter.
  unsigned OptimizerBytes = 12;
};

/// Adam in mixed precision: 16-bit weights and gradients, fp32 master
/// weights, first and second moments (Rajbhandari et al. 2020: 16 B/param).
constexpr StaticRule AdamMixed{2, 2, 12};
/// SGD with momentum under torch.cuda.amp: fp32 weights, gradients and
/// momentum (12 B/param).
constexpr StaticRule SgdAmp{4, 4, 4};

/// Costs of one chain stage before narrowing.
struct StageCost {
  std::string Name;
  std::string Kind;
  /// FLOPs of the forward and backward pass.
  double FwdFlops = 0;
  double BwdFlops = 0;
  U128 Output = 0;
  U128 Saved = 0;
  U128 FwdWorkspace = 0;
  U128 BwdWorkspace = 0;
};

/// A whole chain model before narrowing.
struct ChainCost {
  std::string Name;
  std::string Description;
  uint64_t Batch = 0;
  U128 Parameters = 0;
  StaticRule Rule;
  double Tflops = 300;
  U128 Input = 0;
  std::vector<StageCost> Stages;
};

/// Checks every size against the format's limit and converts FLOPs to ms.
llvm::Expected<GeneratedModel> finishChain(const ChainCost &C);

/// Static bytes of \p Parameters under \p Rule, or an error when too big.
llvm::Expected<StaticBytes> staticBytes(U128 Parameters, const StaticRule &R,
                                        llvm::StringRef Model);

/// Checks a throughput option: finite and at least 1e-6 TFLOP/s.
llvm::Error checkTflops(llvm::StringRef Gen, double Tflops);

/// Checks a bytes-per-activation-element option: 2 (16-bit) or 4 (fp32).
llvm::Error checkActivationBytes(llvm::StringRef Gen, unsigned Bytes);

/// "16-bit" or "fp32", the activation precision in descriptions.
std::string activationPhrase(uint64_t BytesPerElement);

/// "\"s\" with N" style helper: formats a double with up to 6 significant
/// digits, as descriptions print throughputs.
std::string shortNumber(double V);

} // namespace remat::gen

#endif // REMAT_MODELS_MODELGENINTERNAL_H

//===- runtime/RealModel.h - Small real networks for real mode --*- C++ -*-===//
//
// A RealNet is a chain of real layers (runtime/RealLayers.h) built from a
// preset or from the `kind` fields of a chain model file. Its chain() gives
// the exact bytes the executor will allocate for it, so a schedule simulated
// on that chain predicts the real run's peak exactly. The RealWorkload runs
// the net under any chain schedule; its gradients are bit-identical across
// schedules because every forward is deterministic.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_RUNTIME_REALMODEL_H
#define REMAT_RUNTIME_REALMODEL_H

#include "graph/Graph.h"
#include "runtime/Executor.h"
#include "runtime/RealLayers.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <vector>

namespace remat::real {

/// Preset names accepted by RealNet::fromPreset, for --help texts.
constexpr const char *PresetNames = "tiny-gpt, tiny-mlp";

/// The layer type a model file's `kind` runs as in real mode:
/// attention/attn/self-attention -> Attention; mlp/ffn/feedforward -> MLP;
/// norm/layernorm/ln/rmsnorm -> LayerNorm; embedding/embed/head/lm_head/
/// linear-noact -> Linear; anything else (linear, conv, "", ...) ->
/// LinearGelu.
LayerType layerTypeForKind(llvm::StringRef Kind);

/// The cap on a real net's estimated memory (RealNet::estimateBytes),
/// bytes: 4 GiB. Real mode runs small float32 networks on the CPU; larger
/// shapes are refused before anything is allocated (docs/limits.md).
constexpr uint64_t MaxRealModelBytes = uint64_t(4) << 30;

class RealNet {
public:
  /// An upper estimate of the bytes a net of one layer per stage of \p C
  /// (typed by kind) holds when run with every stage recorded: parameters,
  /// gradients, each layer's saved tensors, and the largest workspace plus
  /// a few activations. Computed in floating point, so any shape is safe.
  static double estimateBytes(const Chain &C, const RealShape &S);

  /// Checks \p S (every size positive, Hidden divisible by Heads, dropout
  /// in [0, 1)); the error names the bad field.
  static llvm::Error checkShape(const RealShape &S);

  /// A preset. tiny-gpt: embedding, \p Blocks x (norm, attention, norm,
  /// mlp), head. tiny-mlp: \p Blocks x (linear, mlp). At most
  /// MaxChainStages stages.
  static llvm::Expected<RealNet>
  fromPreset(llvm::StringRef Name, unsigned Blocks, const RealShape &S);
  /// One layer per stage of \p C, typed by layerTypeForKind(stage kind).
  /// Fails before allocating when estimateBytes is over MaxRealModelBytes.
  static llvm::Expected<RealNet> fromChain(const Chain &C, const RealShape &S);

  unsigned size() const { return unsigned(Layers.size()); }
  RealLayer &layer(unsigned I) { return *Layers[I]; }
  const RealLayer &layer(unsigned I) const { return *Layers[I]; }
  const RealShape &shape() const { return Shape; }
  const std::vector<std::string> &names() const { return Names; }
  const std::vector<std::string> &kinds() const { return Kinds; }

  /// The chain of the bytes the executor allocates for this net (times 0):
  /// x_i = Batch*Seq*Hidden floats, x̄_{i+1} = input copy + intermediates +
  /// output, forward workspace = intermediates, backward workspace = the
  /// layer's scratch; the loss has no workspace.
  Chain chain() const;
  /// Parameter bytes (float32).
  uint64_t parameterBytes() const;
  void zeroGrads();
  /// All parameter gradients, layer by layer.
  std::vector<float> gradients() const;

private:
  RealShape Shape;
  std::vector<std::unique_ptr<RealLayer>> Layers;
  std::vector<std::string> Names, Kinds;
};

/// Runs a RealNet as a chain workload. The loss is 0.5 * |x_L - t|^2 with a
/// fixed random target t, so y_L = x_L - t.
class RealWorkload final : public ChainWorkload {
public:
  explicit RealWorkload(RealNet &Net) : Net(Net), C(Net.chain()) {}

  const Chain &chain() const override { return C; }
  void initInput(Buffer X0) override;
  void forward(unsigned I, TensorRef In, Buffer Out, bool Record,
               Buffer Ws) override;
  void loss(TensorRef XL, Buffer YL, Buffer Ws) override;
  void backward(unsigned I, Buffer Saved, Buffer DY, Buffer DX,
                Buffer Ws) override;
  void finish(Buffer Y0) override;

  /// y_0 from the last completed run.
  const std::vector<float> &inputGradient() const { return InputGrad; }

private:
  /// x_{I+1} inside x̄_{I+1} (stage I's recorded state).
  const float *outputOf(unsigned I, const Buffer &Saved) const;
  const float *activation(unsigned I, const TensorRef &Ref) const {
    return Ref.IsSaved ? outputOf(I - 1, Ref.Buf) : Ref.Buf.floats();
  }

  RealNet &Net;
  Chain C;
  std::vector<float> InputGrad;
};

/// Whether two float vectors are equal bit for bit (NaNs included).
bool bitIdentical(llvm::ArrayRef<float> A, llvm::ArrayRef<float> B);

} // namespace remat::real

#endif // REMAT_RUNTIME_REALMODEL_H

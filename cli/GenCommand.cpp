//===- cli/GenCommand.cpp - remat gen: analytic model files ---------------===//
//
// `remat gen KIND [options] [-o FILE]` writes a model file computed from a
// network's shape (models/ModelGen.h); `remat gen bundled --out DIR`
// regenerates every file of data/models/.
//
//===----------------------------------------------------------------------===//

#include "cli/Commands.h"
#include "cli/Common.h"
#include "cli/TrainingOptions.h"
#include "graph/Errors.h"
#include "models/ModelGen.h"
#include "models/TrainingSetup.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Path.h"

#include <fmt/format.h>

using namespace llvm;

namespace remat::cli {

namespace {

/// One option bound to an unsigned field of a generator's options.
struct UIntOpt {
  const char *Name;
  const char *Help;
  unsigned *Field;
};

/// A string option of a generator; its current value is the default.
struct StrOpt {
  const char *Name;
  const char *Help;
  std::string *Field;
};

} // namespace

static void printGenUsage(raw_ostream &OS) {
  OS << "usage: remat gen KIND [options] [-o FILE]\n\n"
        "Writes a model file (spec §2) computed analytically from a "
        "network's shape:\nactivation bytes from the tensors each layer "
        "saves for its backward, times\nfrom FLOPs at a stated device "
        "throughput. The derivations are in\ndocs/models.md.\n\n"
        "kinds:\n"
        "  gpt       GPT-style transformer (Korthikanti et al. 2022 "
        "activations)\n"
        "  llama     Llama-style transformer (RMSNorm, SwiGLU, GQA, flash "
        "attention)\n"
        "  vit       Vision Transformer (defaults: ViT-L/16, 224x224, batch "
        "32)\n"
        "  resnet    pre-activation bottleneck ResNet, depth 9n+2 (default "
        "1001)\n"
        "  unet      Stable Diffusion 2.1 or SDXL U-Net as a forward graph\n"
        "  bundled   regenerate every file of data/models/ into --out DIR\n\n"
        "Run 'remat gen KIND --help' for a kind's options.\n\n"
        "examples:\n"
        "  remat gen gpt --layers 24 --hidden 1024 --heads 16 --seq 2048 "
        "--batch 4 -o gpt-medium.json\n"
        "  remat gen resnet --depth 164 --batch 64 --image 224 -o "
        "resnet-164.json\n"
        "  remat gen bundled --out data/models\n";
}

static void addUInts(ArgParser &P, ArrayRef<UIntOpt> Opts) {
  for (const UIntOpt &O : Opts)
    P.option(O.Name, "N", O.Help, std::to_string(*O.Field));
}

static Error readUInts(const ArgParser &P, ArrayRef<UIntOpt> Opts) {
  for (const UIntOpt &O : Opts) {
    auto V = P.getUnsigned(O.Name);
    if (!V)
      return V.takeError();
    if (*V)
      *O.Field = **V;
  }
  return Error::success();
}

/// Parses the common --tflops and --name options into \p Tflops, \p Name.
static Error readCommon(const ArgParser &P, double &Tflops, std::string &Name) {
  auto T = P.getDouble("tflops");
  if (!T)
    return T.takeError();
  if (*T)
    Tflops = **T;
  if (auto N = P.get("name")) {
    // The loader refuses an empty name; so does gen, before writing.
    if (N->empty())
      return badInput("--name must not be empty");
    Name = *N;
  }
  return Error::success();
}

static void addCommon(ArgParser &P, double Tflops, const std::string &Name) {
  P.option("tflops", "T",
           "effective device throughput in TFLOP/s; times are FLOPs / T",
           fmt::format("{:g}", Tflops));
  P.option("name", "NAME", "the model's \"name\" field", Name);
  P.option("output", "FILE",
           "write the model here (atomically) instead of "
           "stdout; -o is short for it");
}

/// Applies the training options to \p M when any is given; a model
/// generated without them keeps its kind's own set-up and description.
static Error readTraining(const ArgParser &P, StringRef Kind,
                          GeneratedModel &M) {
  auto S = readTrainingOptions(P, defaultTrainingSetup(Kind));
  if (!S)
    return S.takeError();
  if (!*S)
    return Error::success();
  return applyTrainingSetup(M, **S);
}

/// Maps --activation-precision to bytes per element into \p Bytes.
static Error readActivationPrecision(StringRef Kind, StringRef Value,
                                     unsigned &Bytes) {
  if (Value == "16-bit" || Value == "bf16" || Value == "fp16") {
    Bytes = 2;
    return Error::success();
  }
  if (Value == "fp32") {
    Bytes = 4;
    return Error::success();
  }
  return badInput("gen {}: --activation-precision: unknown value "
                  "'{}'; expected 16-bit, bf16, fp16 or fp32",
                  Kind.str(), Value.str());
}

/// The transformer generators' --activation-precision option, bound to
/// \p Value.
static StrOpt activationOption(std::string &Value) {
  return {"activation-precision",
          "activations in 16-bit (bf16 or fp16 autocast) or fp32; dropout "
          "masks stay 1 byte and logits fp32",
          &Value};
}

/// Wraps \p Gen so that it first applies --activation-precision.
template <typename Options, typename GenFn>
static auto withActivations(StringRef Kind, const std::string &Value,
                            GenFn Gen) {
  return [Kind, &Value, Gen](Options &O) -> Expected<GeneratedModel> {
    if (Error E = readActivationPrecision(Kind, Value, O.ActivationBytes))
      return E;
    return Gen(O);
  };
}

/// Runs one generator kind: declares its options, parses, generates and
/// writes. \p Gen maps the filled options to a model.
template <typename Options, typename GenFn>
static int runKind(StringRef Kind, StringRef About, StringRef Example,
                   Options &O, ArrayRef<UIntOpt> UInts, GenFn Gen,
                   ArrayRef<std::string> Args, raw_ostream &Out,
                   raw_ostream &Err, ArrayRef<StrOpt> Strs = {}) {
  ArgParser P(("gen " + Kind).str(),
              ("gen " + Kind + " [options] [-o FILE]").str(), About.str());
  for (const StrOpt &S : Strs)
    P.option(S.Name, "NAME", S.Help, *S.Field);
  addUInts(P, UInts);
  addCommon(P, O.Tflops, O.Name);
  addTrainingOptions(P, defaultTrainingSetup(Kind));
  P.epilog(("example:\n  " + Example).str());
  if (std::optional<int> Done = parseArgs(P, Args, 0, 0, Out, Err))
    return *Done;
  if (Error E = readUInts(P, UInts))
    return reportError(std::move(E), Err);
  for (const StrOpt &S : Strs)
    if (auto V = P.get(S.Name))
      *S.Field = *V;
  if (Error E = readCommon(P, O.Tflops, O.Name))
    return reportError(std::move(E), Err);
  Expected<GeneratedModel> M = Gen(O);
  if (!M)
    return reportError(M.takeError(), Err);
  if (Error E = readTraining(P, Kind, *M))
    return reportError(std::move(E), Err);
  if (Error E =
          writeOutput(P.get("output").value_or("-"), renderModel(*M), Out))
    return reportError(std::move(E), Err);
  return ExitOk;
}

static int runBundled(ArrayRef<std::string> Args, raw_ostream &Out,
                      raw_ostream &Err) {
  ArgParser P("gen bundled", "gen bundled --out DIR",
              "Regenerates every model file shipped in data/models/ with the "
              "options listed in\ndocs/models.md, writing DIR/<name>.json "
              "atomically. scripts/gen-models.sh runs\nit on data/models.");
  P.option("out", "DIR", "directory to write the files into (must exist)");
  P.epilog("example:\n  remat gen bundled --out data/models");
  if (std::optional<int> Done = parseArgs(P, Args, 0, 0, Out, Err))
    return *Done;
  auto Dir = P.get("out");
  if (!Dir || Dir->empty())
    return reportError(badInput("gen bundled: --out DIR is required"), Err);
  auto Models = bundledModels();
  if (!Models)
    return reportError(Models.takeError(), Err);
  for (const BundledModel &B : *Models) {
    SmallString<256> Path(*Dir);
    sys::path::append(Path, B.FileName);
    // The error names the path.
    if (Error E = writeOutput(Path, renderModel(B.Model), Out))
      return reportError(std::move(E), Err);
    Out << "wrote " << Path << "\n";
  }
  return ExitOk;
}

static int runGpt(ArrayRef<std::string> Args, raw_ostream &Out,
                  raw_ostream &Err) {
  GptOptions O;
  std::string Act = "16-bit";
  UIntOpt U[] = {{"layers", "transformer layers", &O.Layers},
                 {"hidden", "hidden size h", &O.Hidden},
                 {"heads", "attention heads a (must divide h)", &O.Heads},
                 {"seq", "sequence length s, tokens", &O.Seq},
                 {"batch", "micro-batch b, sequences", &O.Batch},
                 {"vocab", "vocabulary size V", &O.Vocab}};
  return runKind(
      "gpt",
      "GPT-style transformer: an embedding stage, an attention and an MLP "
      "stage per layer,\nand an LM head + loss stage. 16-bit activations per "
      "Korthikanti et al. 2022:\nsbh(34 + 5as/h) bytes per layer; fp32 "
      "logits. Defaults are GPT-2 small.",
      "remat gen gpt --layers 24 --hidden 1024 --heads 16 --seq 2048 "
      "--batch 4 -o gpt-medium.json",
      O, U, withActivations<GptOptions>("gpt", Act, generateGpt), Args, Out,
      Err, activationOption(Act));
}

static int runLlama(ArrayRef<std::string> Args, raw_ostream &Out,
                    raw_ostream &Err) {
  LlamaOptions O;
  std::string Act = "16-bit";
  UIntOpt U[] = {{"layers", "transformer layers", &O.Layers},
                 {"hidden", "hidden size h", &O.Hidden},
                 {"heads", "query heads a (must divide h)", &O.Heads},
                 {"kv-heads", "key/value heads (must divide a)", &O.KvHeads},
                 {"ffn", "SwiGLU intermediate size", &O.Ffn},
                 {"seq", "sequence length s, tokens", &O.Seq},
                 {"batch", "micro-batch b, sequences", &O.Batch},
                 {"vocab", "vocabulary size V", &O.Vocab}};
  return runKind(
      "llama",
      "Llama-style transformer: RMSNorm, SwiGLU MLP, grouped-query flash "
      "attention (no s^2\nactivations), untied LM head. Defaults are Llama 2 "
      "7B at seq 4096.",
      "remat gen llama --layers 80 --hidden 8192 --heads 64 --kv-heads 8 "
      "--ffn 28672 -o llama2-70b.json",
      O, U, withActivations<LlamaOptions>("llama", Act, generateLlama), Args,
      Out, Err,
      {activationOption(Act),
       {"rmsnorm",
        "RMSNorm kernel: fused (saves 1/rms; default) or eager "
        "(transformers' LlamaRMSNorm,\nwhich also saves the fp32 upcast "
        "of its input and the normalised tensor)",
        &O.RmsNorm}});
}

static int runVit(ArrayRef<std::string> Args, raw_ostream &Out,
                  raw_ostream &Err) {
  VitOptions O;
  std::string Act = "16-bit";
  UIntOpt U[] = {
      {"layers", "encoder layers", &O.Layers},
      {"hidden", "hidden size h", &O.Hidden},
      {"heads", "attention heads (must divide h)", &O.Heads},
      {"mlp", "MLP width", &O.Mlp},
      {"image", "image side, pixels (multiple of --patch)", &O.Image},
      {"patch", "patch side, pixels", &O.Patch},
      {"batch", "batch, images", &O.Batch},
      {"classes", "classifier classes", &O.Classes}};
  return runKind(
      "vit",
      "Vision Transformer: patch embedding, attention and MLP stages as for "
      "gpt (no causal\nmask), a classifier head. Defaults are ViT-L/16 at "
      "224x224, batch 32.",
      "remat gen vit --layers 12 --hidden 768 --heads 12 --mlp 3072 "
      "-o vit-b16.json",
      O, U, withActivations<VitOptions>("vit", Act, generateVit), Args, Out,
      Err, activationOption(Act));
}

static int runResNet(ArrayRef<std::string> Args, raw_ostream &Out,
                     raw_ostream &Err) {
  ResNetOptions O;
  UIntOpt U[] = {
      {"depth", "depth 9n+2: n bottleneck blocks per stage", &O.Depth},
      {"batch", "batch, images", &O.Batch},
      {"image", "image side, pixels (multiple of 16)", &O.Image},
      {"classes", "classifier classes", &O.Classes}};
  return runKind(
      "resnet",
      "Pre-activation bottleneck ResNet (He et al. 2016): ImageNet stem, "
      "three stages of\nn blocks (depth = 9n + 2), one chain stage per "
      "block. Defaults are ResNet-1001\nat 224x224, batch 32.",
      "remat gen resnet --depth 164 --batch 64 -o resnet-164.json", O, U,
      generateResNet, Args, Out, Err);
}

static int runUNet(ArrayRef<std::string> Args, raw_ostream &Out,
                   raw_ostream &Err) {
  UNetOptions O;
  UIntOpt U[] = {{"batch", "batch, latents", &O.Batch},
                 {"latent",
                  "latent side; 0 takes the preset's (64 for sd21, 128 for "
                  "sdxl)",
                  &O.Latent}};
  StrOpt S[] = {{"preset",
                 "sd21 (Stable Diffusion 2.1) or sdxl (SDXL base 1.0)",
                 &O.Preset}};
  return runKind(
      "unet",
      "A Stable Diffusion U-Net as a forward-only graph (graph form): one "
      "node per\nResNet block, transformer, resampler and conv, long skip "
      "connections into the\nup path, and an MSE loss node. Presets: sd21 "
      "(64x64 latents by default) and\nsdxl (128x128). Batch 4 unless "
      "--batch says otherwise.",
      "remat gen unet --preset sdxl --batch 1 -o sdxl-unet.json", O, U,
      generateUNet, Args, Out, Err, S);
}

int runGen(ArrayRef<std::string> Args, raw_ostream &Out, raw_ostream &Err) {
  if (Args.empty()) {
    printGenUsage(Err);
    return ExitBadInput;
  }
  StringRef Kind = Args.front();
  if (Kind == "--help" || Kind == "-h") {
    printGenUsage(Out);
    return ExitOk;
  }
  ArrayRef<std::string> Rest = Args.drop_front();
  if (Kind == "gpt")
    return runGpt(Rest, Out, Err);
  if (Kind == "llama")
    return runLlama(Rest, Out, Err);
  if (Kind == "vit")
    return runVit(Rest, Out, Err);
  if (Kind == "resnet")
    return runResNet(Rest, Out, Err);
  if (Kind == "unet")
    return runUNet(Rest, Out, Err);
  if (Kind == "bundled")
    return runBundled(Rest, Out, Err);
  Err << "remat: error: gen: unknown kind '" << Kind
      << "' (expected gpt, llama, vit, resnet, unet or bundled; see 'remat "
         "gen --help')\n";
  return ExitBadInput;
}

} // namespace remat::cli

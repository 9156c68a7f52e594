//===- models/ModelGen.cpp - Rendering and the bundled models -------------===//

#include "models/ModelGen.h"
#include "graph/Errors.h"

#include "graph/ModelLoader.h"
#include "graph/Size.h"
#include "models/ModelGenInternal.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>

using namespace llvm;

namespace remat {

namespace gen {

double flopsToMs(double Flops, double Tflops) {
  // ms = Flops / (Tflops * 1e12) * 1e3; keep six decimals (1 ns).
  return std::round(Flops / (Tflops * 1e3)) / 1e6;
}

Error checkRange(StringRef Gen, StringRef Option, unsigned Value) {
  if (Value >= 1 && Value <= MaxGenParameter)
    return Error::success();
  return badInput("gen {}: --{} must be between 1 and {}, got {}", Gen.str(),
                  Option.str(), MaxGenParameter, Value);
}

Error checkStages(StringRef Gen, StringRef Option, unsigned Value,
                  uint64_t Stages) {
  if (Stages <= MaxChainStages)
    return Error::success();
  return badInput(
      "gen {}: --{} {} gives {} stages; a model file holds at most {}",
      Gen.str(), Option.str(), Value, Stages, MaxChainStages);
}

Error checkTflops(StringRef Gen, double Tflops) {
  // Below 1 MFLOP/s the times of large models would overflow to infinity.
  if (std::isfinite(Tflops) && Tflops >= 1e-6)
    return Error::success();
  return badInput("gen {}: --tflops must be at least 1e-06, got {}", Gen.str(),
                  shortNumber(Tflops));
}

Expected<uint64_t> narrowBytes(U128 Value, StringRef What) {
  if (Value <= MaxSizeBytes)
    return static_cast<uint64_t>(Value);
  return badInput("{}: the size exceeds the format's limit of 2^62 "
                  "bytes; choose smaller parameters",
                  What.str());
}

std::string shortNumber(double V) { return fmt::format("{:g}", V); }

Error checkActivationBytes(StringRef Gen, unsigned Bytes) {
  if (Bytes == 2 || Bytes == 4)
    return Error::success();
  return badInput("gen {}: activations of {} bytes per element are "
                  "not modelled; --activation-precision takes "
                  "16-bit or fp32",
                  Gen.str(), Bytes);
}

std::string activationPhrase(uint64_t BytesPerElement) {
  return BytesPerElement == 4 ? "fp32" : "16-bit";
}

Expected<StaticBytes> staticBytes(U128 Parameters, const StaticRule &R,
                                  StringRef Model) {
  StaticBytes S;
  std::string What = (Model + ": static_bytes").str();
  auto P = narrowBytes(Parameters * R.ParamBytes, What);
  if (!P)
    return P.takeError();
  auto G = narrowBytes(Parameters * R.GradBytes, What);
  if (!G)
    return G.takeError();
  auto O = narrowBytes(Parameters * R.OptimizerBytes, What);
  if (!O)
    return O.takeError();
  S.Parameters = *P;
  S.Gradients = *G;
  S.Optimizer = *O;
  return S;
}

static Expected<Stage> finishStage(const StageCost &S, double Tflops,
                                   StringRef Model) {
  std::string Where = (Model + ": layer " + S.Name).str();
  Stage Out;
  Out.Name = S.Name;
  Out.Kind = S.Kind;
  Out.FwdTime = flopsToMs(S.FwdFlops, Tflops);
  Out.BwdTime = flopsToMs(S.BwdFlops, Tflops);
  for (auto [Field, Value] : {std::pair{&Out.OutputBytes, S.Output},
                              {&Out.SavedBytes, S.Saved},
                              {&Out.FwdWorkspace, S.FwdWorkspace},
                              {&Out.BwdWorkspace, S.BwdWorkspace}}) {
    auto V = narrowBytes(Value, Where);
    if (!V)
      return V.takeError();
    *Field = *V;
  }
  return Out;
}

Expected<GeneratedModel> finishChain(const ChainCost &C) {
  GeneratedModel M;
  M.Name = C.Name;
  M.Description = C.Description;
  M.BatchSize = C.Batch;
  auto Params = narrowBytes(C.Parameters, C.Name + ": parameter count");
  if (!Params)
    return Params.takeError();
  M.Parameters = *Params;
  auto Static = staticBytes(C.Parameters, C.Rule, C.Name);
  if (!Static)
    return Static.takeError();
  M.Static = *Static;
  Chain Ch;
  auto Input = narrowBytes(C.Input, C.Name + ": input_bytes");
  if (!Input)
    return Input.takeError();
  Ch.InputBytes = *Input;
  for (const StageCost &S : C.Stages) {
    auto St = finishStage(S, C.Tflops, C.Name);
    if (!St)
      return St.takeError();
    Ch.Stages.push_back(std::move(*St));
    M.FwdFlops.push_back(S.FwdFlops);
  }
  M.AsChain = std::move(Ch);
  return M;
}

} // namespace gen

using nlohmann::ordered_json;

static ordered_json renderLayers(const Chain &C) {
  ordered_json Layers = ordered_json::array();
  for (const Stage &S : C.Stages) {
    ordered_json L;
    L["name"] = S.Name;
    L["kind"] = S.Kind;
    L["fwd_time"] = S.FwdTime;
    L["bwd_time"] = S.BwdTime;
    L["output_bytes"] = S.OutputBytes;
    L["saved_bytes"] = S.SavedBytes;
    L["fwd_workspace"] = S.FwdWorkspace;
    L["bwd_workspace"] = S.BwdWorkspace;
    Layers.push_back(std::move(L));
  }
  return Layers;
}

static ordered_json renderGraph(const Graph &G) {
  ordered_json Nodes = ordered_json::array();
  for (const Node &N : G.Nodes) {
    ordered_json J;
    J["name"] = N.Name;
    J["kind"] = N.Kind;
    J["time"] = N.Time;
    J["bytes"] = N.Bytes;
    if (N.Workspace)
      J["workspace"] = N.Workspace;
    ordered_json Inputs = ordered_json::array();
    for (unsigned I : N.Inputs)
      Inputs.push_back(G.Nodes[I].Name);
    J["inputs"] = std::move(Inputs);
    J["phase"] = phaseName(N.NodePhase).str();
    Nodes.push_back(std::move(J));
  }
  ordered_json Out;
  Out["nodes"] = std::move(Nodes);
  return Out;
}

std::string renderModel(const GeneratedModel &M) {
  ordered_json J;
  J["format"] = "remat-model";
  J["version"] = 1;
  J["name"] = M.Name;
  J["description"] = M.Description;
  J["time_unit"] = "ms";
  J["batch_size"] = M.BatchSize;
  J["static_bytes"] = {{"parameters", M.Static.Parameters},
                       {"gradients", M.Static.Gradients},
                       {"optimizer", M.Static.Optimizer}};
  if (M.AsChain) {
    J["input_bytes"] = M.AsChain->InputBytes;
    J["loss"] = {{"bwd_time", M.AsChain->Loss.BwdTime},
                 {"bwd_workspace", M.AsChain->Loss.BwdWorkspace}};
    if (M.AsChain->Loss.FreesInput)
      J["loss"]["frees_input"] = true;
    J["layers"] = renderLayers(*M.AsChain);
  } else {
    J["graph"] = renderGraph(M.Forward);
  }
  return J.dump(2) + "\n";
}

template <typename T>
static Error addBundled(std::vector<BundledModel> &Out, StringRef File,
                        Expected<T> M) {
  if (!M)
    return M.takeError();
  Out.push_back({File.str(), std::move(*M)});
  return Error::success();
}

Expected<std::vector<BundledModel>> bundledModels() {
  std::vector<BundledModel> Out;
  GptOptions Gpt2; // Defaults are GPT-2 small at seq 1024, micro-batch 8.
  Gpt2.Name = "gpt2-small";
  LlamaOptions Llama; // Defaults are Llama 2 7B at seq 4096, micro-batch 1.
  Llama.Name = "llama2-7b";
  VitOptions Vit; // Defaults are ViT-L/16 at 224x224, batch 32.
  Vit.Name = "vit-l16";
  ResNetOptions Res; // Defaults are ResNet-1001 at 224x224, batch 32.
  Res.Name = "resnet-1001";
  GptOptions T50;
  T50.Layers = 50;
  T50.Hidden = 1024;
  T50.Heads = 16;
  T50.Seq = 1024;
  T50.Batch = 8;
  T50.Name = "transformer-50";
  UNetOptions UNet; // Defaults are SD 2.1 at 64x64 latents, batch 4.
  UNet.Name = "sd21-unet";
  UNetOptions Xl; // SDXL base at 128x128 latents (1024 px), batch 1.
  Xl.Preset = "sdxl";
  Xl.Batch = 1;
  Xl.Name = "sdxl-unet";
  if (Error E = addBundled(Out, "gpt2-small.json", generateGpt(Gpt2)))
    return E;
  if (Error E = addBundled(Out, "llama2-7b.json", generateLlama(Llama)))
    return E;
  if (Error E = addBundled(Out, "vit-l16.json", generateVit(Vit)))
    return E;
  if (Error E = addBundled(Out, "resnet-1001.json", generateResNet(Res)))
    return E;
  if (Error E = addBundled(Out, "transformer-50.json", generateGpt(T50)))
    return E;
  if (Error E = addBundled(Out, "sd21-unet.json", generateUNet(UNet)))
    return E;
  if (Error E = addBundled(Out, "sdxl-unet.json", generateUNet(Xl)))
    return E;
  return Out;
}

} // namespace remat

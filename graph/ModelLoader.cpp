//===- graph/ModelLoader.cpp - Reading model files ------------------------===//
//
// The top level of a model file (spec §2): format, version, names, static
// bytes, and the dispatch to the chain form (graph/ModelLoaderChain.cpp) or
// the graph form (graph/ModelLoaderGraph.cpp). Every message starts with the
// file path as given; docs/model-format.md lists the conventions.
//
//===----------------------------------------------------------------------===//

#include "graph/ModelLoader.h"

#include "graph/JsonReader.h"
#include "graph/Lowering.h"
#include "graph/ModelLoaderImpl.h"
#include "graph/Size.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/SHA256.h"

using namespace llvm;

namespace remat {

namespace {

/// Largest accepted batch_size.
constexpr uint64_t MaxBatchSize = uint64_t(1) << 31;

Error checkHeader(const ObjectReader &R) {
  if (Error E = R.require("format"))
    return E;
  const InJson &Format = *R.get("format");
  if (!Format.is_string() || Format.get<std::string>() != "remat-model")
    return R.fieldError("format", "expected \"remat-model\", got " +
                                      describeJson(Format));
  if (Error E = R.require("version"))
    return E;
  const InJson &Version = *R.get("version");
  if (!Version.is_number_unsigned() || Version.get<uint64_t>() != 1)
    return R.fieldError("version", "unsupported version " +
                                       describeJson(Version) +
                                       " (this remat reads version 1)");
  return Error::success();
}

Expected<StaticBytes> readStatic(const ObjectReader &Top) {
  const InJson *V = Top.get("static_bytes");
  if (!V)
    return StaticBytes();
  if (!V->is_object())
    return Top.fieldError("static_bytes",
                          "must be an object, got " + describeJson(*V));
  ObjectReader R(*V, "static_bytes");
  if (Error E = R.checkKnown({"parameters", "gradients", "optimizer"}))
    return E;
  StaticBytes S;
  for (auto [Key, Field] : {std::pair{"parameters", &S.Parameters},
                            std::pair{"gradients", &S.Gradients},
                            std::pair{"optimizer", &S.Optimizer}}) {
    Expected<uint64_t> B = R.size(Key, 0);
    if (!B)
      return B.takeError();
    *Field = *B;
  }
  return S;
}

Error readDescriptive(const ObjectReader &R, Model &M) {
  Expected<std::string> Name = R.string("name");
  if (!Name)
    return Name.takeError();
  if (Name->empty())
    return R.fieldError("name", "must not be empty");
  Expected<std::string> Desc = R.string("description", std::string());
  if (!Desc)
    return Desc.takeError();
  Expected<std::string> Unit = R.string("time_unit", std::string("ms"));
  if (!Unit)
    return Unit.takeError();
  if (StringRef(*Unit).trim().empty())
    return R.fieldError("time_unit", "must not be empty");
  Expected<uint64_t> Batch = R.positiveInt("batch_size", MaxBatchSize, 0);
  if (!Batch)
    return Batch.takeError();
  M.Name = *Name;
  M.Description = *Desc;
  M.TimeUnit = *Unit;
  M.BatchSize = *Batch;
  return Error::success();
}

Error readGraphModel(const ObjectReader &Top, Model &M) {
  // The graph form has its own loss node and does not count its external
  // input (spec §3b), so these chain-form fields would be silently ignored.
  if (Top.has("input_bytes"))
    return Top.fieldError("input_bytes",
                          "only allowed in the chain form (a graph does not "
                          "count its external input)");
  if (Top.has("loss"))
    return Top.fieldError("loss", "only allowed in the chain form (a graph "
                                  "has its own loss node)");
  Expected<Graph> G = readGraphForm(*Top.get("graph"));
  if (!G)
    return G.takeError();
  bool HasBackward = false;
  for (const Node &N : G->Nodes)
    HasBackward |= N.NodePhase == Phase::Backward;
  if (!HasBackward)
    if (Error E = deriveBackward(*G))
      return jsonError("graph: " + toString(std::move(E)));
  M.G = std::move(*G);
  M.AsChain = recogniseChain(M.G);
  M.FromGraphForm = true;
  return Error::success();
}

Expected<Model> readModel(const InJson &J) {
  if (!J.is_object())
    return jsonError("the top level must be a JSON object, got " +
                     describeJson(J));
  ObjectReader Top(J, "");
  if (Error E = Top.checkKnown({"format", "version", "name", "description",
                                "time_unit", "static_bytes", "input_bytes",
                                "loss", "layers", "graph", "batch_size"}))
    return E;
  if (Error E = checkHeader(Top))
    return E;
  Model M;
  if (Error E = readDescriptive(Top, M))
    return E;
  Expected<StaticBytes> S = readStatic(Top);
  if (!S)
    return S.takeError();
  M.Static = *S;
  bool HasLayers = Top.has("layers"), HasGraph = Top.has("graph");
  if (HasLayers && HasGraph)
    return jsonError("both \"layers\" and \"graph\" are present; a model has "
                     "exactly one of them");
  if (!HasLayers && !HasGraph)
    return jsonError("missing \"layers\" (chain form) or \"graph\" (graph "
                     "form)");
  if (HasGraph) {
    if (Error E = readGraphModel(Top, M))
      return E;
    return M;
  }
  Expected<Chain> C = readChainForm(Top);
  if (!C)
    return C.takeError();
  M.G = lowerChain(*C);
  M.AsChain = std::move(*C);
  return M;
}

/// Bounds every sum a planner or simulator forms: each tensor is resident at
/// most once (a chain's y_i at most doubles its activations), plus the static
/// bytes, so a model whose sizes add up to at most 2^62 cannot overflow
/// 64-bit arithmetic. Times likewise: a schedule runs each node at most as
/// many times as it has ops, so with node times adding up to at most
/// MaxTotalTime (10^200) no schedule of up to 10^100 ops sums to infinity
/// (doubles reach 1.8e308); 1e308 per layer gave "time": null and
/// "overhead -nan%".
Error checkTotalSize(const Model &M) {
  uint64_t Total = M.Static.total();
  double Time = 0;
  for (const Node &N : M.G.Nodes) {
    Total += N.Bytes + N.Workspace;
    if (Total > MaxSizeBytes)
      return jsonError("the sizes in the model add up to more than 2^62 "
                       "bytes");
    Time += N.Time;
    if (!(Time <= MaxTotalTime))
      return jsonError("the times in the model add up to more than 1e200 "
                       "(in its time unit)");
  }
  return Error::success();
}

} // namespace

Expected<Model> parseModelText(StringRef Text, StringRef Path) {
  Expected<InJson> J = parseJsonText(Text, Path);
  if (!J)
    return J.takeError();
  Expected<Model> M = readModel(*J);
  if (M)
    if (Error E = checkTotalSize(*M))
      M = std::move(E);
  if (!M)
    return jsonError(Path + ": " + toString(M.takeError()));
  M->Path = Path.str();
  M->Sha256 = toHex(SHA256::hash(arrayRefFromStringRef(Text)),
                    /*LowerCase=*/true);
  return M;
}

/// The largest input file read: 1 GiB. A chain at the 1,000,000-stage limit
/// is a few hundred MB of JSON.
constexpr size_t MaxInputFileBytes = size_t(1) << 30;

// Reading in chunks with a cap: reading a device such as /dev/zero whole
// exhausted memory (LLVM ERROR: out of memory). Pipes still work.
Expected<std::string> readInputFile(StringRef Path) {
  Expected<sys::fs::file_t> F = sys::fs::openNativeFileForRead(Path);
  if (!F)
    return jsonError(Path + ": cannot read file: " + toString(F.takeError()));
  std::string Text;
  std::vector<char> Chunk(1 << 20);
  Error Err = Error::success();
  while (true) {
    Expected<size_t> N = sys::fs::readNativeFile(*F, Chunk);
    if (!N) {
      Err = jsonError(Path + ": cannot read file: " + toString(N.takeError()));
      break;
    }
    if (*N == 0)
      break;
    if (Text.size() + *N > MaxInputFileBytes) {
      Err = jsonError(Path + ": cannot read file: larger than 1 GiB");
      break;
    }
    Text.append(Chunk.data(), *N);
  }
  sys::fs::closeFile(*F);
  if (Err)
    return Err;
  return Text;
}

Expected<Model> loadModelFile(StringRef Path) {
  Expected<std::string> Text = readInputFile(Path);
  if (!Text)
    return Text.takeError();
  return parseModelText(*Text, Path);
}

} // namespace remat

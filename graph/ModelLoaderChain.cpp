//===- graph/ModelLoaderChain.cpp - The chain form of model files ---------===//
//
// Expands `repeat` entries and reads each layer of the chain form (spec §2).
//
// Naming inside repeats: a repeat entry may carry a `name`; each copy c
// prefixes its layers' names with that name (with "{i}" replaced by c) and a
// dot. A layer's own name has "{i}" replaced by the index of the innermost
// repeat copy around it. So {"repeat": 2, "name": "h.{i}", "layers":
// [{"name": "attn"}]} gives "h.0.attn" and "h.1.attn".
//
// Error places: a layer at index k of a list reached through repeat entries
// is written `layers[2].layers[k] ("<expanded name>")`; the expanded name
// tells the copies apart.
//
//===----------------------------------------------------------------------===//

#include "graph/ModelLoader.h"
#include "graph/ModelLoaderImpl.h"

#include "llvm/ADT/StringMap.h"

#include <vector>

using namespace llvm;

namespace remat {

namespace {

/// The deepest nesting of repeat entries; bounds the recursion.
constexpr size_t MaxRepeatDepth = 32;

/// One layer object after expansion, with its place and expanded name.
struct ExpandedLayer {
  const InJson *Obj = nullptr;
  std::string Path;
  std::string Name;
};

/// Replaces every "{i}" in \p Name by \p Index.
std::string substituteIndex(StringRef Name, uint64_t Index) {
  std::string Out;
  std::string Idx = std::to_string(Index);
  while (!Name.empty()) {
    size_t Pos = Name.find("{i}");
    Out += Name.take_front(Pos).str();
    if (Pos == StringRef::npos)
      break;
    Out += Idx;
    Name = Name.drop_front(Pos + 3);
  }
  return Out;
}

std::string joinName(StringRef Prefix, StringRef Name) {
  return Prefix.empty() ? Name.str() : (Prefix + "." + Name).str();
}

class LayerExpander {
public:
  Error expandList(const InJson &List, const std::string &ListPath,
                   const std::string &Prefix, std::optional<uint64_t> Copy);
  std::vector<ExpandedLayer> take() { return std::move(Layers); }

private:
  Error expandRepeat(const ObjectReader &R, const std::string &Path,
                     const std::string &Prefix);
  Error addLayer(const InJson &Obj, const std::string &Path,
                 const std::string &Prefix, std::optional<uint64_t> Copy);

  std::vector<ExpandedLayer> Layers;
};

Error LayerExpander::expandList(const InJson &List, const std::string &ListPath,
                                const std::string &Prefix,
                                std::optional<uint64_t> Copy) {
  if (!List.is_array())
    return jsonError(ListPath + ": must be a list, got " + describeJson(List));
  if (List.empty())
    return jsonError(ListPath + ": must not be empty");
  for (size_t K = 0, E = List.size(); K != E; ++K) {
    std::string Path = ListPath + "[" + std::to_string(K) + "]";
    if (!List[K].is_object())
      return jsonError(Path + ": must be an object, got " +
                       describeJson(List[K]));
    ObjectReader R(List[K], Path);
    Error Err = R.has("repeat") ? expandRepeat(R, Path, Prefix)
                                : addLayer(List[K], Path, Prefix, Copy);
    if (Err)
      return Err;
  }
  return Error::success();
}

Error LayerExpander::expandRepeat(const ObjectReader &R,
                                  const std::string &Path,
                                  const std::string &Prefix) {
  if (Error E = R.checkKnown({"repeat", "name", "layers"}))
    return E;
  if (StringRef(Path).count(".layers") >= MaxRepeatDepth)
    return R.error("repeat entries are nested more than " +
                   Twine(MaxRepeatDepth) + " deep");
  Expected<uint64_t> Count = R.positiveInt("repeat", MaxChainStages);
  if (!Count)
    return Count.takeError();
  Expected<std::string> Name = R.string("name", std::string());
  if (!Name)
    return Name.takeError();
  if (Error E = R.require("layers"))
    return E;
  for (uint64_t C = 0; C != *Count; ++C) {
    std::string CopyPrefix =
        Name->empty() ? Prefix : joinName(Prefix, substituteIndex(*Name, C));
    if (Error E = expandList(*R.get("layers"), Path + ".layers", CopyPrefix, C))
      return E;
    if (Layers.size() > MaxChainStages)
      return R.error("more than " + Twine(MaxChainStages) +
                     " layers after expanding repeats");
  }
  return Error::success();
}

Error LayerExpander::addLayer(const InJson &Obj, const std::string &Path,
                              const std::string &Prefix,
                              std::optional<uint64_t> Copy) {
  // The repeat entries check after each copy; this catches the layers that
  // follow them.
  if (Layers.size() >= MaxChainStages)
    return jsonError(Path + ": more than " + Twine(MaxChainStages) +
                     " layers after expanding repeats");
  ObjectReader R(Obj, Path);
  Expected<std::string> Name = R.string("name");
  if (!Name)
    return Name.takeError();
  if (Name->empty())
    return R.fieldError("name", "must not be empty");
  if (!Copy && StringRef(*Name).contains("{i}"))
    return R.fieldError("name",
                        "\"" + *Name + "\" uses {i} outside a repeat entry");
  std::string Full =
      joinName(Prefix, Copy ? substituteIndex(*Name, *Copy) : *Name);
  Layers.push_back({&Obj, Path, Full});
  return Error::success();
}

/// Reads the costs of one expanded layer.
Expected<Stage> readStage(const ExpandedLayer &L) {
  ObjectReader R(*L.Obj, L.Path + " (\"" + L.Name + "\")", /*Named=*/true);
  if (Error E =
          R.checkKnown({"name", "kind", "fwd_time", "bwd_time", "output_bytes",
                        "saved_bytes", "fwd_workspace", "bwd_workspace"}))
    return E;
  Stage S;
  S.Name = L.Name;
  Expected<std::string> Kind = R.string("kind", std::string());
  if (!Kind)
    return Kind.takeError();
  Expected<double> Fwd = R.time("fwd_time");
  if (!Fwd)
    return Fwd.takeError();
  Expected<double> Bwd = R.time("bwd_time");
  if (!Bwd)
    return Bwd.takeError();
  Expected<uint64_t> Out = R.size("output_bytes");
  if (!Out)
    return Out.takeError();
  Expected<uint64_t> Saved = R.size("saved_bytes");
  if (!Saved)
    return Saved.takeError();
  Expected<uint64_t> FwdWs = R.size("fwd_workspace", 0);
  if (!FwdWs)
    return FwdWs.takeError();
  Expected<uint64_t> BwdWs = R.size("bwd_workspace", 0);
  if (!BwdWs)
    return BwdWs.takeError();
  if (*Saved < *Out)
    return R.error("saved_bytes (" + Twine(*Saved) +
                   ") is smaller than output_bytes (" + Twine(*Out) + ")");
  S.Kind = *Kind;
  S.FwdTime = *Fwd;
  S.BwdTime = *Bwd;
  S.OutputBytes = *Out;
  S.SavedBytes = *Saved;
  S.FwdWorkspace = *FwdWs;
  S.BwdWorkspace = *BwdWs;
  return S;
}

Expected<LossCost> readLoss(const ObjectReader &Top) {
  const InJson *V = Top.get("loss");
  if (!V)
    return LossCost();
  if (!V->is_object())
    return Top.fieldError("loss", "must be an object, got " + describeJson(*V));
  ObjectReader R(*V, "loss");
  if (Error E = R.checkKnown({"bwd_time", "bwd_workspace", "frees_input"}))
    return E;
  LossCost L;
  Expected<double> T = R.time("bwd_time", 0.0);
  if (!T)
    return T.takeError();
  Expected<uint64_t> Ws = R.size("bwd_workspace", 0);
  if (!Ws)
    return Ws.takeError();
  Expected<bool> Frees = R.boolean("frees_input", false);
  if (!Frees)
    return Frees.takeError();
  L.BwdTime = *T;
  L.BwdWorkspace = *Ws;
  L.FreesInput = *Frees;
  return L;
}

Error duplicateName(const ExpandedLayer &L, const ExpandedLayer &First) {
  std::string Msg =
      L.Path + " (\"" + L.Name + "\"): duplicate name \"" + L.Name + "\" ";
  // Copies of one repeat share their path; the fix is then {i} in the name.
  if (L.Path == First.Path)
    return jsonError(Msg + "(every copy of the repeat gets the same name; "
                           "use {i} in the layer's or the repeat's name)");
  return jsonError(Msg + "(first used at " + First.Path + ")");
}

/// The chain is also lowered to a graph (graph/Lowering.h) whose extra nodes
/// are named x0, loss, g.<layer> and <layer>.saved; a layer with one of those
/// names would make two nodes share a name.
Error checkLoweredNames(const Chain &C, ArrayRef<ExpandedLayer> Layers) {
  StringMap<unsigned> Generated;
  Generated.try_emplace("x0", 0);
  Generated.try_emplace("loss", 0);
  for (unsigned I = 0, E = C.size(); I != E; ++I) {
    const Stage &S = C.Stages[I];
    Generated.try_emplace("g." + S.Name, 0);
    if (S.SavedBytes > S.OutputBytes)
      Generated.try_emplace(S.Name + ".saved", 0);
  }
  for (unsigned I = 0, E = C.size(); I != E; ++I)
    if (Generated.contains(C.Stages[I].Name))
      return jsonError(Layers[I].Path + " (\"" + Layers[I].Name +
                       "\"): name \"" + Layers[I].Name +
                       "\" is taken by the graph that the chain lowers to "
                       "(it names nodes x0, loss, g.<layer> and "
                       "<layer>.saved)");
  return Error::success();
}

} // namespace

Expected<Chain> readChainForm(const ObjectReader &Top) {
  Chain C;
  Expected<uint64_t> In = Top.size("input_bytes");
  if (!In)
    return In.takeError();
  C.InputBytes = *In;
  Expected<LossCost> Loss = readLoss(Top);
  if (!Loss)
    return Loss.takeError();
  C.Loss = *Loss;

  LayerExpander X;
  if (Error E = X.expandList(*Top.get("layers"), "layers", "", std::nullopt))
    return E;
  std::vector<ExpandedLayer> Layers = X.take();
  StringMap<size_t> FirstUse;
  for (size_t I = 0, E = Layers.size(); I != E; ++I) {
    Expected<Stage> S = readStage(Layers[I]);
    if (!S)
      return S.takeError();
    auto [It, New] = FirstUse.try_emplace(Layers[I].Name, I);
    if (!New)
      return duplicateName(Layers[I], Layers[It->second]);
    C.Stages.push_back(std::move(*S));
  }
  if (Error E = checkLoweredNames(C, Layers))
    return E;
  return C;
}

} // namespace remat

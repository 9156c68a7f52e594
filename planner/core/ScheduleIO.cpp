//===- planner/core/ScheduleIO.cpp - Schedule files -----------------------===//
//
// Writes and strictly reads spec §3 schedule files. Number rules (also in
// docs/simulator.md): bytes are JSON integers; times are written as integers
// when they are whole, else as the shortest decimal that reads back to the
// same double; `overhead` is rounded to 4 decimals, as in the spec's example.
//
//===----------------------------------------------------------------------===//

#include "planner/ScheduleIO.h"

#include "graph/ModelLoader.h"

#include "graph/JsonReader.h"
#include "planner/Overloaded.h"

#include "llvm/Support/MemoryBuffer.h"

#include <cmath>
#include <nlohmann/json.hpp>

using namespace llvm;

namespace remat {

using OutJson = nlohmann::ordered_json;

StringRef chainOpName(ChainOpKind K) {
  switch (K) {
  case ChainOpKind::FCk:
    return "F_ck";
  case ChainOpKind::FN:
    return "F_n";
  case ChainOpKind::FAll:
    return "F_all";
  case ChainOpKind::Loss:
    return "loss";
  case ChainOpKind::B:
    return "B";
  }
  return "?";
}

/// Whole numbers as integers (so 125 prints as 125, not 125.0); others as
/// nlohmann's shortest round-trip form.
static OutJson number(double V) {
  if (std::nearbyint(V) == V && std::fabs(V) < 9.0e15)
    return static_cast<int64_t>(V);
  return V;
}

/// The overhead as written: 4 decimals, never "-0".
static double roundOverhead(double V) {
  double R = std::round(V * 1e4) / 1e4;
  return R == 0 ? 0.0 : R;
}

static std::string nameOf(const Schedule &S, const Model &M, unsigned Id) {
  if (Id < S.Names.size() && !S.Names[Id].empty())
    return S.Names[Id];
  if (S.dialect() == Dialect::Graph)
    return Id < M.G.size() ? M.G.Nodes[Id].Name : "";
  if (M.isChain() && Id < M.AsChain->size())
    return M.AsChain->Stages[Id].Name;
  return "";
}

static std::string quoted(const std::string &S) { return OutJson(S).dump(); }

/// One op per line, spaced as in the spec's example:
/// {"op": "F_ck", "layer": 0, "name": "s0"}.
static std::vector<std::string> opLines(const Schedule &S, const Model &M) {
  std::vector<std::string> Lines;
  Lines.reserve(S.numOps());
  auto Line = Overloaded{
      [&](const GraphOp &Op) {
        return std::string("{\"op\": \"") +
               (Op.Kind == GraphOpKind::Compute ? "compute" : "free") +
               "\", \"node\": " + quoted(nameOf(S, M, Op.Node)) + "}";
      },
      [&](const ChainOp &Op) {
        if (Op.Kind == ChainOpKind::Loss)
          return std::string("{\"op\": \"loss\"}");
        return "{\"op\": \"" + chainOpName(Op.Kind).str() +
               "\", \"layer\": " + std::to_string(Op.Layer) +
               ", \"name\": " + quoted(nameOf(S, M, Op.Layer)) + "}";
      }};
  std::visit(
      [&](const auto &Ops) {
        for (const auto &Op : Ops)
          Lines.push_back(Line(Op));
      },
      S.Ops);
  return Lines;
}

std::string scheduleToJson(const Schedule &S, const Model &M) {
  OutJson J;
  J["format"] = "remat-schedule";
  J["version"] = 1;
  J["model"] = S.ModelName;
  J["model_sha256"] = S.ModelSha256;
  J["strategy"] = S.Strategy;
  J["budget_bytes"] = S.BudgetBytes ? OutJson(*S.BudgetBytes) : OutJson();
  const Prediction &P = S.Predicted;
  J["predicted"] = OutJson{{"peak_bytes", P.PeakBytes},
                           {"time", number(P.Time)},
                           {"baseline_time", number(P.BaselineTime)},
                           {"baseline_peak_bytes", P.BaselinePeakBytes},
                           {"overhead", number(roundOverhead(P.Overhead))},
                           {"forward_recomputations", P.ForwardRecomputations}};
  // One op per line keeps long schedules readable and diffable.
  std::string Out = J.dump(2);
  Out.erase(Out.size() - 2); // "\n}"
  Out += ",\n  \"ops\": [";
  std::vector<std::string> Ops = opLines(S, M);
  for (size_t I = 0; I < Ops.size(); ++I)
    Out += (I ? ",\n    " : "\n    ") + Ops[I];
  Out += Ops.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return Out;
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

namespace {
/// Parses one file; messages are prefixed with the file's path by the
/// caller.
class Reader {
public:
  Reader(const Model *M) : M(M) {}
  Error read(const InJson &Doc, Schedule &S);

private:
  Error readHeader(const ObjectReader &Top, Schedule &S);
  Error readPredicted(const InJson &V, Prediction &P);
  Error readOps(const InJson &V, Schedule &S);
  Error readChainOp(const ObjectReader &R, StringRef Op, Schedule &S);
  Error readGraphOp(const ObjectReader &R, StringRef Op, Schedule &S);

  const Model *M;
  std::optional<Dialect> Seen;
};
} // namespace

static Expected<uint64_t> unsignedField(const ObjectReader &R, StringRef Key) {
  const InJson *V = R.get(Key);
  if (!V)
    return R.error("missing required field \"" + Key + "\"");
  if (!V->is_number_unsigned())
    return R.fieldError(Key, "must be a non-negative integer, got " +
                                 describeJson(*V));
  return V->get<uint64_t>();
}

Error Reader::readHeader(const ObjectReader &Top, Schedule &S) {
  auto Format = Top.string("format");
  if (!Format)
    return Format.takeError();
  if (*Format != "remat-schedule")
    return Top.fieldError("format", "expected \"remat-schedule\", got \"" +
                                        *Format + "\"");
  auto Version = unsignedField(Top, "version");
  if (!Version)
    return Version.takeError();
  if (*Version != 1)
    return Top.fieldError("version", "unsupported version " + Twine(*Version) +
                                         " (this is 1)");
  auto Name = Top.string("model");
  auto Sha = Top.string("model_sha256");
  auto Strategy = Top.string("strategy");
  if (!Name)
    return Name.takeError();
  if (!Sha)
    return Sha.takeError();
  if (!Strategy)
    return Strategy.takeError();
  S.ModelName = *Name;
  S.ModelSha256 = *Sha;
  S.Strategy = *Strategy;
  const InJson *Budget = Top.get("budget_bytes");
  if (!Budget)
    return Top.error("missing required field \"budget_bytes\" (null when "
                     "the strategy takes no budget)");
  if (!Budget->is_null()) {
    auto B = unsignedField(Top, "budget_bytes");
    if (!B)
      return B.takeError();
    S.BudgetBytes = *B;
  }
  return Error::success();
}

Error Reader::readPredicted(const InJson &V, Prediction &P) {
  if (!V.is_object())
    return jsonError("predicted: must be an object, got " + describeJson(V));
  ObjectReader R(V, "predicted");
  if (Error E = R.checkKnown({"peak_bytes", "time", "baseline_time",
                              "baseline_peak_bytes", "overhead",
                              "forward_recomputations"}))
    return E;
  auto Peak = unsignedField(R, "peak_bytes");
  if (!Peak)
    return Peak.takeError();
  auto Time = R.time("time");
  if (!Time)
    return Time.takeError();
  auto BaseTime = R.time("baseline_time");
  if (!BaseTime)
    return BaseTime.takeError();
  auto BasePeak = unsignedField(R, "baseline_peak_bytes");
  if (!BasePeak)
    return BasePeak.takeError();
  auto Overhead = R.time("overhead");
  if (!Overhead)
    return Overhead.takeError();
  auto Recomp = unsignedField(R, "forward_recomputations");
  if (!Recomp)
    return Recomp.takeError();
  P = {*Peak, *Time, *BaseTime, *BasePeak, *Overhead, *Recomp};
  return Error::success();
}

/// An empty op list of dialect \p D.
static decltype(Schedule::Ops) opsOf(Dialect D) {
  if (D == Dialect::Graph)
    return std::vector<GraphOp>();
  return std::vector<ChainOp>();
}

static std::optional<ChainOpKind> chainKind(StringRef Op) {
  for (ChainOpKind K : {ChainOpKind::FCk, ChainOpKind::FN, ChainOpKind::FAll,
                        ChainOpKind::Loss, ChainOpKind::B})
    if (Op == chainOpName(K))
      return K;
  return std::nullopt;
}

Error Reader::readChainOp(const ObjectReader &R, StringRef Op, Schedule &S) {
  ChainOpKind K = *chainKind(Op);
  if (K == ChainOpKind::Loss) {
    S.chainOps().push_back({K, 0});
    return R.checkKnown({"op"});
  }
  if (Error E = R.checkKnown({"op", "layer", "name"}))
    return E;
  auto Layer = unsignedField(R, "layer");
  if (!Layer)
    return Layer.takeError();
  const Chain *C = M && M->isChain() ? &*M->AsChain : nullptr;
  if (C && *Layer >= C->size())
    return R.fieldError("layer", Twine(*Layer) +
                                     " is out of range (the chain has " +
                                     Twine(C->size()) + " stages)");
  if (*Layer > UINT32_MAX)
    return R.fieldError("layer", Twine(*Layer) + " is out of range");
  auto Name = R.string("name", std::string());
  if (!Name)
    return Name.takeError();
  auto L = static_cast<unsigned>(*Layer);
  if (C && !Name->empty() && *Name != C->Stages[L].Name)
    return R.fieldError("name", "\"" + *Name + "\" is not the name of layer " +
                                    Twine(L) + " (\"" + C->Stages[L].Name +
                                    "\" in " + M->Path + ")");
  // Names only label output; an absurd index must not allocate gigabytes.
  if (!C && !Name->empty() && L < (1u << 20)) {
    if (S.Names.size() <= L)
      S.Names.resize(L + 1);
    S.Names[L] = *Name;
  }
  S.chainOps().push_back({K, L});
  return Error::success();
}

Error Reader::readGraphOp(const ObjectReader &R, StringRef Op, Schedule &S) {
  if (Error E = R.checkKnown({"op", "node"}))
    return E;
  auto Name = R.string("node");
  if (!Name)
    return Name.takeError();
  if (!M)
    return R.error("a graph-dialect schedule needs its model to resolve "
                   "node names");
  std::optional<unsigned> Id = M->G.find(*Name);
  if (!Id)
    return R.fieldError("node",
                        "no node named \"" + *Name + "\" in " + M->Path);
  S.graphOps().push_back(
      {Op == "compute" ? GraphOpKind::Compute : GraphOpKind::Free, *Id});
  return Error::success();
}

Error Reader::readOps(const InJson &V, Schedule &S) {
  if (!V.is_array())
    return jsonError("ops: must be an array, got " + describeJson(V));
  for (size_t I = 0; I < V.size(); ++I) {
    std::string Place = "ops[" + std::to_string(I) + "]";
    if (!V[I].is_object())
      return jsonError(Place + ": must be an object, got " +
                       describeJson(V[I]));
    ObjectReader R(V[I], Place);
    auto Op = R.string("op");
    if (!Op)
      return Op.takeError();
    bool IsGraph = *Op == "compute" || *Op == "free";
    if (!IsGraph && !chainKind(*Op))
      return R.error("unknown op \"" + *Op +
                     "\" (chain ops: F_ck, F_n, F_all, loss, B; graph ops: "
                     "compute, free)");
    Dialect D = IsGraph ? Dialect::Graph : Dialect::Chain;
    if (Seen && *Seen != D)
      return R.error("op \"" + *Op + "\" mixes the graph and chain dialects");
    if (!Seen)
      S.Ops = opsOf(D);
    Seen = D;
    if (Error E = IsGraph ? readGraphOp(R, *Op, S) : readChainOp(R, *Op, S))
      return E;
  }
  return Error::success();
}

Error Reader::read(const InJson &Doc, Schedule &S) {
  if (!Doc.is_object())
    return jsonError("the top level must be an object, got " +
                     describeJson(Doc));
  ObjectReader Top(Doc, "");
  if (Error E =
          Top.checkKnown({"format", "version", "model", "model_sha256",
                          "strategy", "budget_bytes", "predicted", "ops"}))
    return E;
  if (Error E = readHeader(Top, S))
    return E;
  if (Error E = Top.require("predicted"))
    return E;
  if (Error E = readPredicted(*Top.get("predicted"), S.Predicted))
    return E;
  if (Error E = Top.require("ops"))
    return E;
  if (Error E = readOps(*Top.get("ops"), S))
    return E;
  // A schedule without ops takes the model's natural dialect.
  if (!Seen)
    S.Ops = opsOf(M && !M->isChain() ? Dialect::Graph : Dialect::Chain);
  if (S.dialect() == Dialect::Graph && M)
    for (const Node &N : M->G.Nodes)
      S.Names.push_back(N.Name);
  else if (M && M->isChain())
    for (const Stage &St : M->AsChain->Stages)
      S.Names.push_back(St.Name);
  return Error::success();
}

Expected<Schedule> parseScheduleText(StringRef Text, StringRef Path,
                                     const Model *M) {
  auto Doc = parseJsonText(Text, Path);
  if (!Doc)
    return Doc.takeError();
  Schedule S;
  S.Path = Path.str();
  Reader R(M);
  if (Error E = R.read(*Doc, S))
    return jsonError(Path + ": " + toString(std::move(E)));
  return S;
}

Expected<Schedule> loadScheduleFile(StringRef Path, const Model *M) {
  Expected<std::string> Text = readInputFile(Path);
  if (!Text)
    return Text.takeError();
  return parseScheduleText(*Text, Path, M);
}

Error checkScheduleModel(const Schedule &S, const Model &M, bool Force) {
  if (Force || S.ModelSha256 == M.Sha256)
    return Error::success();
  std::string Which = S.Path.empty() ? "schedule" : "schedule " + S.Path;
  return jsonError(Which + " was made for model sha256 " + S.ModelSha256 +
                   " but " + M.Path + " has sha256 " + M.Sha256 +
                   "; pass --force to use it anyway");
}

} // namespace remat

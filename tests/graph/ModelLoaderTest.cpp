//===- tests/graph/ModelLoaderTest.cpp - Model file loading ---------------===//
//
// Malformed inputs are checked against their exact one-line message (the
// conventions are in docs/model-format.md); well-formed inputs against
// values worked out by hand from the file text.
//
//===----------------------------------------------------------------------===//

#include "graph/ModelLoader.h"

#include "TestUtil.h"

#include "llvm/Support/MemoryBuffer.h"

#include <doctest/doctest.h>

#include <random>

using namespace remat;

namespace {

/// One stage "a": fwd 1, bwd 2, output 8 bytes, saved 8 bytes.
const std::string LayerA = R"({"name": "a", "fwd_time": 1, "bwd_time": 2,
  "output_bytes": 8, "saved_bytes": 8})";

/// A chain model with \p Layers as its layer list and \p Extra (fields with a
/// trailing comma) at the top level.
std::string chainDoc(const std::string &Layers, const std::string &Extra = "") {
  return R"({"format": "remat-model", "version": 1, "name": "t",
  "input_bytes": 4, )" +
         Extra + R"("layers": )" + Layers + "}";
}

/// A chain model with one layer "a" made of \p LayerFields.
std::string layerDoc(const std::string &LayerFields) {
  return chainDoc(R"([{"name": "a", )" + LayerFields + "}]");
}

std::string graphDoc(const std::string &Nodes, const std::string &Extra = "") {
  return R"({"format": "remat-model", "version": 1, "name": "g", )" + Extra +
         R"("graph": {"nodes": )" + Nodes + "}}";
}

std::string err(const std::string &Text) {
  llvm::Expected<Model> M = parseModelText(Text, "m.json");
  REQUIRE_FALSE(bool(M));
  return llvm::toString(M.takeError());
}

Model ok(const std::string &Text) {
  llvm::Expected<Model> M = parseModelText(Text, "m.json");
  if (!M)
    FAIL(llvm::toString(M.takeError()));
  return std::move(*M);
}

const std::string Costs = R"("fwd_time": 1, "bwd_time": 2)";

} // namespace

TEST_CASE("loader: top-level fields") {
  CHECK(err(R"({"format": "remat-model", "version": 1, "input_bytes": 4,
    "layers": [)" +
            LayerA + "]}") == "m.json: missing required field \"name\"");
  CHECK(err(R"({"format": "remat-model", "version": 1, "name": "t",
    "layers": [)" +
            LayerA + "]}") == "m.json: missing required field \"input_bytes\"");
  CHECK(err(R"({"version": 1, "name": "t"})") ==
        "m.json: missing required field \"format\"");
  CHECK(err(R"({"format": "remat-schedule", "version": 1})") ==
        "m.json: format: expected \"remat-model\", got \"remat-schedule\"");
  CHECK(err(R"({"format": "remat-model", "version": 2})") ==
        "m.json: version: unsupported version 2 (this remat reads version 1)");
  CHECK(err(chainDoc("[" + LayerA + "]", R"("nmae": "x", )")) ==
        "m.json: unknown field \"nmae\"");
  CHECK(err("[1, 2]") ==
        "m.json: the top level must be a JSON object, got [1,2]");
  CHECK(err(chainDoc("[" + LayerA + "]", R"("batch_size": 0, )")) ==
        "m.json: batch_size: must be an integer from 1 to 2147483648, got 0");
  CHECK(err(chainDoc("[" + LayerA + "]", R"("time_unit": "", )")) ==
        "m.json: time_unit: must not be empty");
}

TEST_CASE("loader: layers or graph, exactly one") {
  CHECK(err(chainDoc("[]")) == "m.json: layers: must not be empty");
  CHECK(err(chainDoc("{}")) == "m.json: layers: must be a list, got {}");
  CHECK(err(chainDoc("[" + LayerA + "]", R"("graph": {"nodes": []}, )")) ==
        "m.json: both \"layers\" and \"graph\" are present; a model has "
        "exactly one of them");
  CHECK(err(R"({"format": "remat-model", "version": 1, "name": "t"})") ==
        "m.json: missing \"layers\" (chain form) or \"graph\" (graph form)");
}

TEST_CASE("loader: sizes") {
  CHECK(err(layerDoc(Costs + R"(, "output_bytes": -8, "saved_bytes": 8)")) ==
        "m.json: layers[0] (\"a\"): output_bytes: size must not be negative, "
        "got -8");
  // 2^62 + 1 = 4611686018427387905.
  CHECK(err(layerDoc(Costs + R"(, "output_bytes": 4611686018427387905,
    "saved_bytes": 8)")) ==
        "m.json: layers[0] (\"a\"): output_bytes: size 4611686018427387905 is "
        "too large (the limit is 2^62 bytes)");
  // 8388608 TiB = 2^23 * 2^40 = 2^63.
  CHECK(err(layerDoc(Costs + R"(, "output_bytes": "8388608 TiB",
    "saved_bytes": 8)")) ==
        "m.json: layers[0] (\"a\"): output_bytes: invalid size \"8388608 "
        "TiB\": too large (the limit is 2^62 bytes)");
  CHECK(err(layerDoc(Costs + R"(, "output_bytes": 8.5, "saved_bytes": 9)")) ==
        "m.json: layers[0] (\"a\"): output_bytes: size must be a whole number "
        "of bytes or a string with a unit such as \"1.5 GiB\", got 8.5");
  CHECK(err(layerDoc(Costs + R"(, "output_bytes": 8, "saved_bytes": true)")) ==
        "m.json: layers[0] (\"a\"): saved_bytes: size must be a number of "
        "bytes or a string such as \"12 MiB\", got true");
  CHECK(err(R"({"format": "remat-model", "version": 1, "name": "t",
    "input_bytes": "12 XB", "layers": [)" +
            LayerA + "]}") ==
        "m.json: input_bytes: invalid size \"12 XB\": unknown unit \"XB\" (use "
        "B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)");
  CHECK(err(chainDoc("[" + LayerA + "]",
                     R"("static_bytes": {"parameters": -1}, )")) ==
        "m.json: static_bytes.parameters: size must not be negative, got -1");
  CHECK(err(layerDoc(Costs + R"(, "output_bytes": 16, "saved_bytes": 12)")) ==
        "m.json: layers[0] (\"a\"): saved_bytes (12) is smaller than "
        "output_bytes (16)");
}

TEST_CASE("loader: times") {
  CHECK(err(layerDoc(R"("fwd_time": -1, "bwd_time": 2, "output_bytes": 8,
    "saved_bytes": 8)")) == "m.json: layers[0] (\"a\"): fwd_time: time must "
                            "be a non-negative number, got -1");
  CHECK(err(layerDoc(R"("fwd_time": "1 ms", "bwd_time": 2, "output_bytes": 8,
    "saved_bytes": 8)")) ==
        "m.json: layers[0] (\"a\"): fwd_time: time must be a number, got "
        "\"1 ms\"");
  CHECK(
      err(layerDoc(R"("bwd_time": 2, "output_bytes": 8, "saved_bytes": 8)")) ==
      "m.json: layers[0] (\"a\"): missing required field \"fwd_time\"");
  CHECK(err(chainDoc("[" + LayerA + "]", R"("loss": {"bwd_time": "x"}, )")) ==
        "m.json: loss.bwd_time: time must be a number, got \"x\"");
}

TEST_CASE("loader: unknown fields everywhere") {
  CHECK(err(layerDoc(R"("fwd_tme": 1, "bwd_time": 2, "output_bytes": 8,
    "saved_bytes": 8)")) == "m.json: layers[0] (\"a\"): unknown field "
                            "\"fwd_tme\"");
  CHECK(
      err(chainDoc("[" + LayerA + "]", R"("static_bytes": {"params": 1}, )")) ==
      "m.json: static_bytes: unknown field \"params\"");
  CHECK(err(chainDoc("[" + LayerA + "]", R"("loss": {"time": 1}, )")) ==
        "m.json: loss: unknown field \"time\"");
  CHECK(err(graphDoc(R"([{"name": "a", "time": 1, "bytes": 4, "inputs": [],
    "phase": "forward", "flops": 3}])")) ==
        "m.json: graph.nodes[0] (\"a\"): unknown field \"flops\"");
  CHECK(err(graphDoc("[]")) == "m.json: graph.nodes: must not be empty");
  CHECK(err(chainDoc(R"([{"repeat": 2, "layers": [)" + LayerA +
                     R"(], "count": 3}])")) ==
        "m.json: layers[0]: unknown field \"count\"");
}

TEST_CASE("loader: names and repeats") {
  CHECK(err(chainDoc("[" + LayerA + ", " + LayerA + "]")) ==
        "m.json: layers[1] (\"a\"): duplicate name \"a\" (first used at "
        "layers[0])");
  CHECK(err(chainDoc(R"([{"repeat": 2, "name": "h", "layers": [)" + LayerA +
                     "]}]")) ==
        "m.json: layers[0].layers[0] (\"h.a\"): duplicate name \"h.a\" (every "
        "copy of the repeat gets the same name; use {i} in the layer's or the "
        "repeat's name)");
  // The repeat's second copy makes "h.1.a", which layers[1] already has.
  CHECK(err(chainDoc(R"([{"repeat": 2, "name": "h.{i}", "layers": [)" + LayerA +
                     R"(]}, {"name": "h.1.a", )" + Costs +
                     R"(, "output_bytes": 8, "saved_bytes": 8}])")) ==
        "m.json: layers[1] (\"h.1.a\"): duplicate name \"h.1.a\" (first used "
        "at layers[0].layers[0])");
  CHECK(err(layerDoc(Costs + R"(, "saved_bytes": 8)")) ==
        "m.json: layers[0] (\"a\"): missing required field \"output_bytes\"");
  CHECK(err(chainDoc(R"([{"name": "h.{i}", )" + Costs +
                     R"(, "output_bytes": 8, "saved_bytes": 8}])")) ==
        "m.json: layers[0].name: \"h.{i}\" uses {i} outside a repeat entry");
  CHECK(err(chainDoc(R"([{"repeat": 0, "layers": [)" + LayerA + "]}]")) ==
        "m.json: layers[0].repeat: must be an integer from 1 to 1000000, got "
        "0");
  CHECK(err(chainDoc(R"([{"name": "", )" + Costs + "}]")) ==
        "m.json: layers[0].name: must not be empty");
  CHECK(err(chainDoc("[3]")) == "m.json: layers[0]: must be an object, got 3");
  // A bad value inside a nested repeat names the path and the expanded name.
  CHECK(err(chainDoc(R"([)" + LayerA + R"(, {"repeat": 2, "name": "b{i}",
    "layers": [{"repeat": 1, "name": "l{i}", "layers": [{"name": "conv",
    "fwd_time": 1, "bwd_time": -2, "output_bytes": 8, "saved_bytes": 8}]}]}])")) ==
        "m.json: layers[1].layers[0].layers[0] (\"b0.l0.conv\"): bwd_time: "
        "time must be a non-negative number, got -2");
}

namespace {
/// A forward node with no inputs.
std::string node(const std::string &Name, const std::string &Inputs,
                 const std::string &Phase = "forward") {
  return R"({"name": ")" + Name + R"(", "time": 1, "bytes": 4, "inputs": )" +
         Inputs + R"(, "phase": ")" + Phase + R"("})";
}
} // namespace

TEST_CASE("loader: graph form errors") {
  CHECK(err(graphDoc("[" + node("a", "[]") + ", " + node("b", R"(["pool9"])") +
                     "]")) ==
        "m.json: graph.nodes[1] (\"b\"): input \"pool9\" is not a node");
  CHECK(err(graphDoc("[" + node("a", R"(["a"])") + "]")) ==
        "m.json: graph.nodes[0] (\"a\"): input \"a\" is the node itself");
  CHECK(err(graphDoc("[" + node("a", "[]") + ", " + node("b", R"(["a", "a"])") +
                     "]")) ==
        "m.json: graph.nodes[1] (\"b\"): input \"a\" is listed twice");
  CHECK(err(graphDoc("[" + node("a", "[]") + ", " + node("a", "[]") + "]")) ==
        "m.json: graph.nodes[1] (\"a\"): duplicate name \"a\" (first used at "
        "graph.nodes[0])");
  CHECK(err(graphDoc("[" + node("a", "[]", "backwards") + "]")) ==
        "m.json: graph.nodes[0] (\"a\"): phase: must be \"forward\", \"loss\" "
        "or \"backward\", got \"backwards\"");
  CHECK(err(graphDoc("[" + node("a", R"(["g"])") + ", " +
                     node("g", "[]", "backward") + "]")) ==
        "m.json: graph.nodes[0] (\"a\"): forward node reads \"g\", a backward "
        "node");
  CHECK(err(graphDoc("[" + node("a", "[]") + "]", R"("input_bytes": 4, )")) ==
        "m.json: input_bytes: only allowed in the chain form (a graph does "
        "not count its external input)");
  CHECK(err(graphDoc(R"([{"name": "a", "time": 1, "bytes": 4,
    "phase": "forward"}])")) ==
        "m.json: graph.nodes[0] (\"a\"): missing required field \"inputs\"");
  // x feeds a; a -> b -> c -> a is a cycle (reported in data-flow order,
  // starting at the cycle node first in the file).
  CHECK(err(graphDoc("[" + node("x", "[]") + ", " + node("c", R"(["b"])") +
                     ", " + node("a", R"(["x", "c"])") + ", " +
                     node("b", R"(["a"])") + "]")) ==
        "m.json: graph.nodes: cycle: c -> a -> b -> c");
  // A cycle of 7 nodes names all of them; n0 <- n1 <- ... <- n99999 <- n0
  // (each n_i reads n_{i+1}) is a cycle of 100000: data flows n0 -> n99999
  // -> n99998 -> ...; the first 4 and last 2 are named, and the count.
  auto Ring = [&](unsigned N) {
    std::string Nodes = "[";
    for (unsigned I = 0; I < N; ++I)
      Nodes +=
          (I ? ", " : "") + node("n" + std::to_string(I),
                                 "[\"n" + std::to_string((I + 1) % N) + "\"]");
    return graphDoc(Nodes + "]");
  };
  CHECK(err(Ring(7)) == "m.json: graph.nodes: cycle: n0 -> n6 -> n5 -> n4 -> "
                        "n3 -> n2 -> n1 -> n0");
  CHECK(err(Ring(8)) == "m.json: graph.nodes: cycle: n0 -> n7 -> n6 -> n5 -> "
                        "... -> n2 -> n1 -> n0 (8 nodes)");
  CHECK(err(Ring(100000)) ==
        "m.json: graph.nodes: cycle: n0 -> n99999 -> n99998 -> n99997 -> ... "
        "-> n2 -> n1 -> n0 (100000 nodes)");
  // A derived name that collides with a forward node.
  CHECK(err(graphDoc("[" + node("a", "[]") + ", " + node("g.a", R"(["a"])") +
                     "]")) == "m.json: graph: cannot derive the backward: "
                              "node name \"g.a\" is already used");
}

TEST_CASE("loader: JSON syntax and files") {
  // Line 3 is `  "name": [1, ` (14 characters): the input ends at column 15.
  CHECK(err("{\n  \"format\": \"remat-model\",\n  \"name\": [1, ") ==
        "m.json:3:15: invalid JSON: syntax error while parsing value - "
        "unexpected end of input; expected '[', '{', or a literal");
  // nlohmann reads "na" hoping for "null"; the position is the last
  // character read.
  CHECK(err("name: x") == "m.json:1:2: invalid JSON: syntax error while "
                          "parsing value - invalid literal; last read: 'na'");
  CHECK(err("") == "m.json:1:1: invalid JSON: syntax error while parsing "
                   "value - unexpected end of input; expected '[', '{', or a "
                   "literal");
  // Text after a NUL byte is not ignored: line 2, column 9 (after
  // `{"a": 1}`).
  CHECK(err(std::string("\n{\"a\": 1}\0garbage", 17)) ==
        "m.json:2:9: invalid JSON: NUL byte");
  // A name with a newline stays on one line in the message.
  CHECK(err(chainDoc(R"([{"name": "a\nb"}])")) ==
        "m.json: layers[0] (\"a\\nb\"): missing required field \"fwd_time\"");
  CHECK(err(R"({"name": "a", "name": "b"})") ==
        "m.json: duplicate field \"name\"");
  CHECK(err(chainDoc(R"([{"name": "a", "name": "b"}])")) ==
        "m.json: layers[0]: duplicate field \"name\"");

  llvm::Expected<Model> M = loadModelFile("no/such/model.json");
  REQUIRE_FALSE(bool(M));
  CHECK(llvm::toString(M.takeError()) ==
        "no/such/model.json: cannot read file: No such file or directory");

  test::TempFile Bad("bad.json", chainDoc("[" + LayerA + "]", R"("x": 1, )"));
  M = loadModelFile(Bad.path());
  REQUIRE_FALSE(bool(M));
  CHECK(llvm::toString(M.takeError()) == Bad.path() + ": unknown field \"x\"");
}

TEST_CASE("loader: defaults and sha256") {
  llvm::Expected<Model> Loaded =
      loadModelFile(test::sourcePath("tests/data/tiny.json"));
  REQUIRE(bool(Loaded));
  const Model &M = *Loaded;
  // `sha256sum tests/data/tiny.json` gives this value.
  CHECK(M.Sha256 ==
        "9f38effd752872ad2981e0b695b063d6b6cdd25e34e057b31a25d4173562466c");
  CHECK(M.Path == test::sourcePath("tests/data/tiny.json"));
  CHECK(M.Name == "tiny");
  CHECK(M.Description == "");
  CHECK(M.TimeUnit == "ms");
  CHECK(M.BatchSize == 0);
  CHECK(M.Static.total() == 0);
  CHECK_FALSE(M.FromGraphForm);
  REQUIRE(M.isChain());
  const Chain &C = *M.AsChain;
  CHECK(C.InputBytes == 4);
  CHECK(C.Loss.BwdTime == 0);
  CHECK(C.Loss.BwdWorkspace == 0);
  REQUIRE(C.size() == 1);
  CHECK(C.Stages[0].Kind == "");
  CHECK(C.Stages[0].FwdWorkspace == 0);
  CHECK(C.Stages[0].BwdWorkspace == 0);
  // x0, a, loss, g.a: the chain is lowered too.
  CHECK(M.G.size() == 4);
}

TEST_CASE("loader: nested repeats and units") {
  llvm::Expected<Model> Loaded =
      loadModelFile(test::sourcePath("tests/data/nested.json"));
  REQUIRE(bool(Loaded));
  REQUIRE(Loaded->isChain());
  const Chain &C = *Loaded->AsChain;
  CHECK(Loaded->BatchSize == 8);
  CHECK(C.InputBytes == 1536); // 1.5 KiB
  std::vector<std::string> Names;
  for (const Stage &S : C.Stages)
    Names.push_back(S.Name);
  // Outer copies b0, b1 each hold pre{outer} and two inner copies l0, l1 of
  // conv{inner}; then an unnamed repeat puts its index in the layer name.
  CHECK(Names == std::vector<std::string>{
                     "b0.pre0", "b0.l0.conv0", "b0.l1.conv1", "b1.pre1",
                     "b1.l0.conv0", "b1.l1.conv1", "h.0.mlp", "h.1.mlp"});
  CHECK(C.Stages[0].OutputBytes == 2000); // 2KB
  CHECK(C.Stages[0].SavedBytes == 2048);  // 2 KiB
  CHECK(C.Stages[0].FwdTime == 0.5);
  CHECK(C.Stages[1].FwdWorkspace == 1'000'000); // 1 MB
  CHECK(C.Stages[1].Kind == "conv");
  CHECK(C.Stages[5].SavedBytes == 300);
}

TEST_CASE("loader: static bytes, loss and description") {
  Model M = ok(chainDoc("[" + LayerA + "]", R"("description": "d",
    "time_unit": "s", "static_bytes": {"parameters": "1 KiB",
    "optimizer": "1.5 KB"}, "loss": {"bwd_time": 0.25, "bwd_workspace": 3}, )"));
  CHECK(M.Description == "d");
  CHECK(M.TimeUnit == "s");
  CHECK(M.Static.Parameters == 1024);
  CHECK(M.Static.Gradients == 0);
  CHECK(M.Static.Optimizer == 1500);
  CHECK(M.AsChain->Loss.BwdTime == 0.25);
  CHECK(M.AsChain->Loss.BwdWorkspace == 3);
  CHECK_FALSE(M.AsChain->Loss.FreesInput);
  CHECK(M.Path == "m.json");
}

TEST_CASE("loader: loss.frees_input") {
  Model M = ok(chainDoc("[" + LayerA + "]",
                        R"("loss": {"bwd_time": 1, "frees_input": true}, )"));
  CHECK(M.AsChain->Loss.FreesInput);
  CHECK(err(chainDoc("[" + LayerA + "]", R"("loss": {"frees_input": 1}, )")) ==
        "m.json: loss.frees_input: must be true or false, got 1");
}

TEST_CASE("loader: graph form order and derived backward") {
  llvm::Expected<Model> Loaded =
      loadModelFile(test::sourcePath("tests/data/diamond.json"));
  REQUIRE(bool(Loaded));
  const Model &M = *Loaded;
  CHECK(M.FromGraphForm);
  CHECK_FALSE(M.isChain());
  // File order d, a, c, b. Kahn: only a is ready; then c and b become ready
  // and c is first in the file; then b; then d.
  std::vector<std::string> Names;
  for (const Node &N : M.G.Nodes)
    Names.push_back(N.Name);
  CHECK(Names == std::vector<std::string>{"a", "c", "b", "d", "loss", "g.d",
                                          "g.b", "g.c", "g.a"});
  CHECK(M.G.Nodes[1].Workspace == 5);
  CHECK(M.G.Nodes[2].Kind == "conv");
  // d's inputs keep the file's order: b (id 2), then c (id 1).
  CHECK(M.G.Nodes[3].Inputs == llvm::SmallVector<unsigned, 4>{2, 1});
  // a is read by c, b, and the backward nodes of b, c and a itself.
  CHECK(M.G.Users[0] == llvm::SmallVector<unsigned, 4>{1, 2, 6, 7, 8});
}

TEST_CASE("loader: explicit backward is kept as written") {
  Model M = ok(graphDoc("[" + node("g.a", R"(["loss", "a"])", "backward") +
                        ", " + node("loss", R"(["a"])", "loss") + ", " +
                        node("a", "[]") + "]"));
  std::vector<std::string> Names;
  for (const Node &N : M.G.Nodes)
    Names.push_back(N.Name);
  CHECK(Names == std::vector<std::string>{"a", "loss", "g.a"});
  // Every node has 4 bytes, but a chain's y_0 would have |x_0| = 0 bytes:
  // not a chain.
  CHECK_FALSE(M.isChain());
}

TEST_CASE("loader: limits and names the lowering needs") {
  CHECK(err(chainDoc(R"([{"name": "loss", )" + Costs +
                     R"(, "output_bytes": 8, "saved_bytes": 8}])")) ==
        "m.json: layers[0] (\"loss\"): name \"loss\" is taken by the graph "
        "that the chain lowers to (it names nodes x0, loss, g.<layer> and "
        "<layer>.saved)");
  // "a" saves more than its output, so the lowering makes "a.saved".
  CHECK(err(chainDoc(R"([{"name": "a", )" + Costs +
                     R"(, "output_bytes": 8, "saved_bytes": 9}, {"name":
    "a.saved", )" + Costs +
                     R"(, "output_bytes": 8, "saved_bytes": 8}])")) ==
        "m.json: layers[1] (\"a.saved\"): name \"a.saved\" is taken by the "
        "graph that the chain lowers to (it names nodes x0, loss, g.<layer> "
        "and <layer>.saved)");
  // Each size is legal (2^62 = 4611686018427387904), the total is not.
  CHECK(err(chainDoc(R"([{"name": "a", )" + Costs +
                     R"(, "output_bytes": 4611686018427387904,
    "saved_bytes": 4611686018427387904}])")) ==
        "m.json: the sizes in the model add up to more than 2^62 bytes");
  // 1000000 copies of "h{i}" reach the limit; the layer after them is one
  // too many.
  CHECK(err(chainDoc(R"([{"repeat": 1000000, "layers": [{"name": "h{i}", )" +
                     Costs + R"(, "output_bytes": 8, "saved_bytes": 8}]}, )" +
                     LayerA + "]")) ==
        "m.json: layers[1]: more than 1000000 layers after expanding repeats");
  // 33 nested repeats.
  std::string Deep = LayerA;
  for (int I = 0; I != 33; ++I)
    Deep = R"({"repeat": 1, "layers": [)" + Deep + "]}";
  std::string Msg = err(chainDoc("[" + Deep + "]"));
  CHECK(Msg.find(": repeat entries are nested more than 32 deep") !=
        std::string::npos);
}

TEST_CASE("loader: deeply nested values fail with one line, no overflow") {
  // Nesting is bounded at MaxJsonNesting (512) levels while parsing; below
  // that a deep value is described by its first 37 bytes and "...". Here
  // "[" + Deep + "]" inside the top-level object is 1 + 1 + 500 = 502 deep.
  std::string Deep = std::string(500, '[') + std::string(500, ']');
  CHECK(err(chainDoc("[" + Deep + "]")) ==
        "m.json: layers[0]: must be an object, got " + std::string(37, '[') +
            "...");
  CHECK(err(Deep) == "m.json: the top level must be a JSON object, got " +
                         std::string(37, '[') + "...");
  // A wide value is cut the same way: [0,1,...] is 2 bytes per element.
  std::string Wide = "[0";
  for (int I = 1; I != 10000; ++I)
    Wide += "," + std::to_string(I % 10);
  CHECK(
      err(chainDoc("[" + LayerA + "]", R"("static_bytes": )" + Wide + "], ")) ==
      "m.json: static_bytes: must be an object, got "
      "[0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,...");
  // "a then e-acute (2 bytes each): byte 37 is the second byte of the 18th
  // e-acute, so the cut keeps 17 of them rather than half a character.
  std::string Acute;
  for (int I = 0; I != 30; ++I)
    Acute += "\xc3\xa9";
  std::string Want;
  for (int I = 0; I != 17; ++I)
    Want += "\xc3\xa9";
  CHECK(err(chainDoc("[" + LayerA + "]", R"("loss": "a)" + Acute + "\", ")) ==
        "m.json: loss: must be an object, got \"a" + Want + "...");
}

/// \p N arrays nested inside each other: "[[...]]".
static std::string nestedLists(size_t N) {
  return std::string(N, '[') + std::string(N, ']');
}

TEST_CASE("loader: -0 is a size of zero") {
  // Was "size must not be negative, got 0".
  Model M = ok(layerDoc(R"("fwd_time": 1, "bwd_time": 2, "output_bytes": -0,
    "saved_bytes": 8)"));
  CHECK(M.AsChain->Stages[0].OutputBytes == 0);
  CHECK(err(layerDoc(R"("fwd_time": 1, "bwd_time": 2, "output_bytes": -1,
    "saved_bytes": 8)")) ==
        "m.json: layers[0] (\"a\"): output_bytes: size must not be negative, "
        "got -1");
}

TEST_CASE("loader: times adding up past 1e200 are refused") {
  // The issue's reproducer: 1e308 per layer is finite and non-negative, but
  // the sums became infinite ("time": null, "overhead -nan%").
  std::string Huge = R"("fwd_time": 1e308, "bwd_time": 1e308,
    "output_bytes": 8, "saved_bytes": 8)";
  CHECK(err(chainDoc(R"([{"name": "a", )" + Huge + "}]")) ==
        "m.json: the times in the model add up to more than 1e200 (in its "
        "time unit)");
  // Each time below the bound, the sum over it: 6e199 + 6e199 > 1e200 (the
  // chain lowers to the forward and backward node of "a" and a loss).
  std::string Near = R"("fwd_time": 6e199, "bwd_time": 6e199,
    "output_bytes": 8, "saved_bytes": 8)";
  CHECK(err(chainDoc(R"([{"name": "a", )" + Near + "}]")) ==
        "m.json: the times in the model add up to more than 1e200 (in its "
        "time unit)");
  // At the bound exactly: 5e199 + 5e199 = 1e200 in double.
  CHECK(5e199 + 5e199 <= 1e200);
  std::string At = R"("fwd_time": 5e199, "bwd_time": 5e199,
    "output_bytes": 8, "saved_bytes": 8)";
  ok(chainDoc(R"([{"name": "a", )" + At + "}]"));
  // Graph form too.
  CHECK(err(graphDoc(R"([{"name": "a", "time": 1e308, "bytes": 8,
    "inputs": [], "phase": "forward"}])")) ==
        "m.json: the times in the model add up to more than 1e200 (in its "
        "time unit)");
}

TEST_CASE("loader: JSON nested deeper than 512 levels is refused") {
  // The issue's reproducer: an unknown field holding 100000 nested lists
  // beside a valid one; copying the value segfaulted (exit 139).
  std::string Too = "m.json: JSON nesting deeper than 512 levels";
  CHECK(err(R"({"x":)" + nestedLists(100000) + R"(,"y":1})") == Too);
  CHECK(err(chainDoc("[" + nestedLists(100000) + "]")) == Too);
  CHECK(err(nestedLists(100000)) == Too);
  // The bound is exact: the object and 511 lists are 512 levels (read, then
  // refused for the unknown field), one more list is 513.
  CHECK(
      err(chainDoc("[" + LayerA + "]", R"("x": )" + nestedLists(511) + ", ")) ==
      "m.json: unknown field \"x\"");
  CHECK(err(chainDoc("[" + LayerA + "]",
                     R"("x": )" + nestedLists(512) + ", ")) == Too);
  // Objects count as levels too: {"a":{"a":...}} 513 deep.
  std::string Objs;
  for (int I = 0; I != 513; ++I)
    Objs += R"({"a":)";
  Objs += "1" + std::string(513, '}');
  CHECK(err(Objs) == Too);
  // A syntax error before the deep part is still reported at its position.
  CHECK(err("{,}" + nestedLists(1000)).find("m.json:1:2: invalid JSON") == 0);
}

TEST_CASE("loader: damaged files fail with one line, never crash") {
  std::string Text;
  {
    auto Buf =
        llvm::MemoryBuffer::getFile(test::sourcePath("tests/data/chain4.json"));
    REQUIRE(bool(Buf));
    Text = (*Buf)->getBuffer().str();
  }
  auto oneLine = [](const std::string &Msg) {
    return Msg.rfind("m.json:", 0) == 0 && Msg.find('\n') == std::string::npos;
  };
  // Every proper prefix is truncated JSON (the document ends at the last
  // '}' and only a newline follows it).
  size_t End = Text.rfind('}');
  for (size_t N = 0; N <= End; ++N) {
    llvm::Expected<Model> M = parseModelText(Text.substr(0, N), "m.json");
    REQUIRE_FALSE(bool(M));
    std::string Msg = llvm::toString(M.takeError());
    INFO(Msg);
    CHECK(oneLine(Msg));
  }
  // Single-byte changes (fixed seed): either still a model, or one line.
  std::mt19937 Rng(7);
  const char Bytes[] = "{}[]\",:0123456789-.e aZ{i}\\";
  for (int Trial = 0; Trial != 2000; ++Trial) {
    std::string T = Text;
    T[Rng() % T.size()] = Bytes[Rng() % (sizeof(Bytes) - 1)];
    llvm::Expected<Model> M = parseModelText(T, "m.json");
    if (M)
      continue;
    std::string Msg = llvm::toString(M.takeError());
    INFO(Msg);
    CHECK(oneLine(Msg));
  }
}

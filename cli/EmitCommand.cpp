//===- cli/EmitCommand.cpp - `remat emit`: trainer-facing output ----------===//
//
// Reads a schedule, reduces it to per-layer decisions and prints the settings
// a trainer needs (emit/Emit.h). For targets that cannot express the
// schedule exactly it prints the nearest plan they can, and with --model its
// simulated cost next to the schedule's.
//
//===----------------------------------------------------------------------===//

#include "cli/Commands.h"
#include "cli/Common.h"
#include "graph/Errors.h"

#include "emit/Emit.h"
#include "emit/Trainer.h"
#include "graph/ModelLoader.h"
#include "planner/ScheduleIO.h"

#include <fmt/format.h>

using namespace llvm;

namespace remat::cli {

/// "  NAME        TEXT" wrapped at 79 columns, continuation lines indented
/// to the text.
static std::string targetLine(StringRef Name, StringRef Text) {
  std::string Out, Line = fmt::format("  {:<11}", Name.str());
  SmallVector<StringRef, 32> Words;
  Text.split(Words, ' ', -1, false);
  for (StringRef W : Words) {
    if (Line.size() > 13 && Line.size() + 1 + W.size() > 79) {
      Out += Line + "\n";
      Line = std::string(13, ' ');
    }
    Line += " " + W.str();
  }
  return Out + Line + "\n";
}

/// The trainers and what each emits, from the registry (emit/Trainers.def).
static std::string targetHelp() {
  std::string S = "Turns a schedule into the settings a trainer consumes. "
                  "Targets:\n";
  std::string Layered;
  for (const Trainer *T : allTrainers()) {
    S += targetLine(T->name(),
                    T->summary().str() + " (" + T->version().str() + ")");
    if (T->numbersLayers())
      Layered += (Layered.empty() ? "" : ", ") + T->name().str();
  }
  return S +
         "Stages named <prefix>.<N>.* (h.3.attn, h.3.mlp) form transformer "
         "layer\n<prefix>.<N>; " +
         Layered +
         " count those layers.\n"
         "When the target cannot express the schedule exactly, the output "
         "says so and\ngives the nearest plan it can express; with --model, "
         "that plan is simulated and\nits peak and time are printed next to "
         "the schedule's.";
}

static ArgParser makeEmitParser() {
  ArgParser P("emit",
              "emit SCHEDULE --target T [--model MODEL] [-o FILE] [--json]",
              targetHelp());
  P.option("target", "T", "trainer: one of " + trainerList());
  P.option("model", "MODEL",
           "the model file the schedule was planned for; gives layer kinds "
           "and the simulated cost of the nearest plan");
  P.option("output", "FILE",
           "write the output to FILE instead of stdout (alias -o)");
  P.flag("json", "print one JSON object: decisions, exactness, settings, "
                 "nearest plan and costs");
  P.flag("force", "accept a --model whose sha256 differs from the one the "
                  "schedule records");
  P.epilog("For pytorch the output is the remat-torch-plan JSON document "
           "(see\ndocs/trainers.md), which `python3 -m remat_torch apply` "
           "reads.\n\nexamples:\n"
           "  remat plan gpt.json --strategy optimal --budget 2GiB -o s.json\n"
           "  remat emit s.json --target megatron --model gpt.json\n"
           "  remat emit s.json --target pytorch -o plan.json");
  return P;
}

static Expected<std::optional<Model>> loadOptionalModel(const ArgParser &P) {
  auto Path = P.get("model");
  if (!Path)
    return std::optional<Model>();
  auto M = loadModelFile(*Path);
  if (!M)
    return M.takeError();
  return std::optional<Model>(std::move(*M));
}

static std::string emitText(const EmitResult &R, const Schedule &S,
                            const std::optional<Model> &M, bool Json) {
  if (Json)
    return emitResultToJson(R, S).dump(2) + "\n";
  // Only remat_torch has a plan document of its own.
  if (!R.TorchPlan.is_null())
    return R.TorchPlan.dump(2) + "\n";
  return renderEmitText(R, S, M ? StringRef(M->TimeUnit) : StringRef("ms"));
}

int runEmit(ArrayRef<std::string> Args, raw_ostream &Out, raw_ostream &Err) {
  ArgParser P = makeEmitParser();
  if (std::optional<int> Done = parseArgs(P, Args, 1, 1, Out, Err))
    return *Done;
  auto TargetName = P.get("target");
  if (!TargetName)
    return reportError(
        badInput("emit needs --target (one of {})", trainerList()), Err);
  const Trainer *T = findTrainer(*TargetName);
  if (!T)
    return reportError(badInput("--target '{}' is unknown; use one of {}",
                                *TargetName, trainerList()),
                       Err);
  auto M = loadOptionalModel(P);
  if (!M)
    return reportError(M.takeError(), Err);
  const Model *MP = *M ? &**M : nullptr;
  auto S = loadScheduleFile(P.positionals()[0], MP);
  if (!S)
    return reportError(S.takeError(), Err);
  if (MP)
    if (Error E = checkScheduleModel(*S, *MP, P.has("force")))
      return reportError(std::move(E), Err);
  auto R = emitSchedule(*S, *T, MP);
  if (!R)
    return reportError(R.takeError(), Err);
  std::string Text = emitText(*R, *S, *M, P.has("json"));
  std::vector<std::string> Inputs = {P.positionals()[0]};
  if (auto ModelPath = P.get("model"))
    Inputs.push_back(*ModelPath);
  if (Error E = writeOutput(P.get("output").value_or("-"), Text, Out, Inputs))
    return reportError(std::move(E), Err);
  return ExitOk;
}

} // namespace remat::cli

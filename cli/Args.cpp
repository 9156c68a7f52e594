//===- cli/Args.cpp - A small per-command argument parser -----------------===//

#include "cli/Args.h"
#include "graph/Errors.h"

#include "graph/Size.h"

#include "llvm/ADT/SmallVector.h"

#include <algorithm>
#include <cmath>

using namespace llvm;

namespace remat::cli {

ArgParser::ArgParser(std::string Command, std::string Usage, std::string About)
    : Command(std::move(Command)), Usage(std::move(Usage)),
      About(std::move(About)) {}

void ArgParser::flag(StringRef Name, StringRef Help) {
  Specs.push_back({Name.str(), "", Help.str(), "", false});
}

void ArgParser::option(StringRef Name, StringRef Meta, StringRef Help,
                       StringRef Default) {
  Specs.push_back({Name.str(), Meta.str(), Help.str(), Default.str(), true});
}

void ArgParser::epilog(StringRef Text) { Epilogs.push_back(Text.str()); }

const ArgParser::Spec *ArgParser::lookup(StringRef Name) const {
  for (const Spec &S : Specs)
    if (S.Name == Name)
      return &S;
  return nullptr;
}

static Error usageError(const std::string &Command, const Twine &Msg) {
  return badInput("remat {}: {} (see 'remat {} --help')", Command, Msg.str(),
                  Command);
}

Error ArgParser::parse(ArrayRef<std::string> Args, unsigned MinPos,
                       unsigned MaxPos) {
  for (size_t I = 0; I < Args.size(); ++I) {
    StringRef A = Args[I];
    if (A == "--help" || A == "-h") {
      Help = true;
      continue;
    }
    if (A == "--") {
      for (size_t J = I + 1; J < Args.size(); ++J)
        Positionals.push_back(Args[J]);
      break;
    }
    if (!A.starts_with("-") || A == "-") {
      Positionals.push_back(A.str());
      continue;
    }
    StringRef Name = A == "-o" ? StringRef("output") : A.ltrim('-');
    std::optional<std::string> Inline;
    if (size_t Eq = Name.find('='); Eq != StringRef::npos) {
      Inline = Name.drop_front(Eq + 1).str();
      Name = Name.take_front(Eq);
    }
    const Spec *S = lookup(Name);
    if (!S)
      return usageError(Command, "unknown option '" + A + "'");
    if (!S->TakesValue) {
      if (Inline)
        return usageError(Command, "option '--" + Name + "' takes no value");
      Values[S->Name] = "";
      continue;
    }
    if (!Inline) {
      if (I + 1 >= Args.size())
        return usageError(Command, "option '--" + Name + "' needs a value (" +
                                       S->Meta + ")");
      Inline = Args[++I];
    }
    Values[S->Name] = *Inline;
  }
  if (Help)
    return Error::success();
  if (Positionals.size() < MinPos)
    return usageError(
        Command, "expected " + Twine(MinPos) + " argument(s), got " +
                     Twine(Positionals.size()) + "; usage: remat " + Usage);
  if (Positionals.size() > MaxPos)
    return usageError(Command, "unexpected argument '" + Positionals[MaxPos] +
                                   "'; usage: remat " + Usage);
  return Error::success();
}

bool ArgParser::has(StringRef Name) const {
  return Values.count(Name.str()) != 0;
}

std::optional<std::string> ArgParser::get(StringRef Name) const {
  auto It = Values.find(Name.str());
  if (It == Values.end())
    return std::nullopt;
  return It->second;
}

Expected<std::optional<unsigned>> ArgParser::getUnsigned(StringRef Name) const {
  auto V = get(Name);
  if (!V)
    return std::optional<unsigned>();
  unsigned N = 0;
  if (StringRef(*V).getAsInteger(10, N))
    return usageError(Command, "--" + Name +
                                   " expects a non-negative "
                                   "integer, got '" +
                                   *V + "'");
  return std::optional<unsigned>(N);
}

Expected<std::optional<double>> ArgParser::getDouble(StringRef Name) const {
  auto V = get(Name);
  if (!V)
    return std::optional<double>();
  double D = 0;
  if (StringRef(*V).getAsDouble(D) || !std::isfinite(D) || D < 0)
    return usageError(Command, "--" + Name +
                                   " expects a non-negative "
                                   "number, got '" +
                                   *V + "'");
  return std::optional<double>(D);
}

Expected<std::optional<uint64_t>> ArgParser::getSize(StringRef Name) const {
  auto V = get(Name);
  if (!V)
    return std::optional<uint64_t>();
  auto Bytes = parseSize(*V);
  if (!Bytes)
    return usageError(Command,
                      "--" + Name + ": " + toString(Bytes.takeError()));
  return std::optional<uint64_t>(*Bytes);
}

/// Prints \p Text word-wrapped to \p Width columns, continuation lines
/// indented by \p Indent; the first line continues the current one.
static void printWrapped(raw_ostream &OS, StringRef Text, unsigned Indent,
                         unsigned Width) {
  unsigned Col = Indent;
  bool First = true;
  // Authors may break long help strings by hand; reflow them here.
  std::string Flat = Text.str();
  std::replace(Flat.begin(), Flat.end(), '\n', ' ');
  SmallVector<StringRef, 32> Words;
  StringRef(Flat).split(Words, ' ', -1, /*KeepEmpty=*/false);
  for (StringRef W : Words) {
    W = W.trim();
    if (!First && Col + 1 + W.size() > Width) {
      OS << "\n" << std::string(Indent, ' ');
      Col = Indent;
      First = true;
    }
    if (!First) {
      OS << ' ';
      ++Col;
    }
    OS << W;
    Col += W.size();
    First = false;
  }
  OS << "\n";
}

void ArgParser::printHelp(raw_ostream &OS) const {
  OS << "usage: remat " << Usage << "\n\n" << About << "\n";
  if (!Specs.empty())
    OS << "\noptions:\n";
  for (const Spec &S : Specs) {
    std::string Head = "  --" + S.Name + (S.TakesValue ? " " + S.Meta : "");
    OS << Head;
    if (Head.size() < 28)
      OS.indent(28 - Head.size());
    else
      OS << "\n" << std::string(28, ' ');
    std::string Text = S.Help;
    if (!S.Default.empty())
      Text += " (default: " + S.Default + ")";
    printWrapped(OS, Text, 28, 79);
  }
  OS << "  --help" << std::string(20, ' ') << "show this help\n";
  for (const std::string &E : Epilogs)
    OS << "\n" << E << "\n";
}

} // namespace remat::cli

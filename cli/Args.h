//===- cli/Args.h - A small per-command argument parser ---------*- C++ -*-===//
//
// Each command declares its options, then parses. Accepts `--name value`,
// `--name=value`, boolean `--flag`, positionals, `-o FILE` as an alias of
// `--output`, and `--help`/`-h`. Unknown options and missing values are
// errors that name the option. No global state: one parser per invocation.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_CLI_ARGS_H
#define REMAT_CLI_ARGS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace remat::cli {

class ArgParser {
public:
  /// \p Usage is the synopsis after "usage: remat ", \p About one paragraph.
  ArgParser(std::string Command, std::string Usage, std::string About);

  /// A boolean option `--Name`.
  void flag(llvm::StringRef Name, llvm::StringRef Help);
  /// An option `--Name META`; \p Default is shown in --help when non-empty.
  void option(llvm::StringRef Name, llvm::StringRef Meta, llvm::StringRef Help,
              llvm::StringRef Default = "");
  /// Adds a paragraph (examples, notes) printed at the end of --help.
  void epilog(llvm::StringRef Text);

  /// Parses \p Args (the words after the command name). Checks the number
  /// of positionals is within [MinPos, MaxPos] unless --help was given.
  llvm::Error parse(llvm::ArrayRef<std::string> Args, unsigned MinPos,
                    unsigned MaxPos);

  bool helpRequested() const { return Help; }
  bool has(llvm::StringRef Name) const;
  std::optional<std::string> get(llvm::StringRef Name) const;
  /// Value of an unsigned option, or an error naming the option.
  llvm::Expected<std::optional<unsigned>>
  getUnsigned(llvm::StringRef Name) const;
  /// Value of a non-negative number option, or an error naming the option.
  llvm::Expected<std::optional<double>> getDouble(llvm::StringRef Name) const;
  /// Value of a size option (spec §1 syntax), or an error naming the option.
  llvm::Expected<std::optional<uint64_t>> getSize(llvm::StringRef Name) const;
  const std::vector<std::string> &positionals() const { return Positionals; }

  void printHelp(llvm::raw_ostream &OS) const;

private:
  struct Spec {
    std::string Name, Meta, Help, Default;
    bool TakesValue;
  };
  const Spec *lookup(llvm::StringRef Name) const;

  std::string Command, Usage, About;
  std::vector<Spec> Specs;
  std::vector<std::string> Epilogs;
  std::map<std::string, std::string> Values;
  std::vector<std::string> Positionals;
  bool Help = false;
};

} // namespace remat::cli

#endif // REMAT_CLI_ARGS_H

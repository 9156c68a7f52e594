//===- bench/BenchArgs.h - Command lines of the bench programs --*- C++ -*-===//
//
// The bench programs take a few numeric flags. A typo must not run a
// different benchmark than the one asked for, so every value is checked and a
// bad one ends the program with a message and exit code 2 (these are
// executables, not library code).
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_BENCH_BENCHARGS_H
#define REMAT_BENCH_BENCHARGS_H

#include <fmt/format.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace remat::bench {

[[noreturn]] inline void badArgs(const std::string &Message,
                                 const char *Usage) {
  fmt::print(stderr, "error: {}\nusage: {}\n", Message, Usage);
  std::exit(2);
}

/// \p Text as a whole number of at least \p Min; \p What names it in the
/// error.
inline unsigned parseUnsigned(const char *What, const char *Text,
                              const char *Usage, unsigned Min = 0) {
  errno = 0;
  char *End = nullptr;
  unsigned long V = std::strtoul(Text, &End, 10);
  if (!*Text || *End || errno || Text[0] == '-' || V > UINT_MAX || V < Min)
    badArgs(fmt::format("{}: expected a whole number >= {}, got '{}'", What,
                        Min, Text),
            Usage);
  return unsigned(V);
}

/// \p Text as a number of seconds, at least 0.
inline double parseSeconds(const char *What, const char *Text,
                           const char *Usage) {
  errno = 0;
  char *End = nullptr;
  double V = std::strtod(Text, &End);
  if (!*Text || *End || errno || !(V >= 0) || V > 1e9)
    badArgs(fmt::format("{}: expected seconds (a number >= 0), got '{}'", What,
                        Text),
            Usage);
  return V;
}

/// "--name value" pairs, each value a whole number.
class Flags {
public:
  Flags(const char *Usage) : Usage(Usage) {}
  Flags &add(const char *Name, unsigned &Out, unsigned Min = 0) {
    Known.push_back({Name, &Out, Min});
    return *this;
  }
  /// Accepts words that are not flags (e.g. model files); parse returns
  /// them in order. Without this call they are errors.
  Flags &positionals() {
    TakesPositionals = true;
    return *this;
  }
  /// Sets the registered values from \p Argv; exits on an unknown flag, a
  /// missing or bad value, and prints the usage for --help. Returns the
  /// positional words.
  std::vector<std::string> parse(int Argc, char **Argv) const {
    std::vector<std::string> Words;
    for (int I = 1; I < Argc; I += 2) {
      if (!std::strcmp(Argv[I], "--help") || !std::strcmp(Argv[I], "-h")) {
        fmt::print("usage: {}\n", Usage);
        std::exit(0);
      }
      if (TakesPositionals && std::strncmp(Argv[I], "--", 2) != 0) {
        Words.push_back(Argv[I]);
        --I; // a word takes no value
        continue;
      }
      const Flag *F = find(Argv[I]);
      if (!F)
        badArgs(fmt::format("unknown flag '{}'", Argv[I]), Usage);
      if (I + 1 >= Argc)
        badArgs(fmt::format("{} needs a value", Argv[I]), Usage);
      *F->Out = parseUnsigned(Argv[I], Argv[I + 1], Usage, F->Min);
    }
    return Words;
  }

private:
  struct Flag {
    const char *Name;
    unsigned *Out;
    unsigned Min;
  };
  const Flag *find(const char *Name) const {
    for (const Flag &F : Known)
      if (!std::strcmp(F.Name, Name))
        return &F;
    return nullptr;
  }
  const char *Usage;
  std::vector<Flag> Known;
  bool TakesPositionals = false;
};

} // namespace remat::bench

#endif // REMAT_BENCH_BENCHARGS_H

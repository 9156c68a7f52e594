//===- graph/Size.cpp - Memory sizes with units ---------------------------===//

#include "graph/Size.h"
#include "graph/Errors.h"

#include "llvm/ADT/StringSwitch.h"

#include <cmath>
#include <fmt/format.h>

using namespace llvm;

namespace remat {

static Error sizeError(StringRef Text, StringRef Why) {
  return badInput("invalid size \"{}\": {}", Text.str(), Why.str());
}

Expected<uint64_t> parseSize(StringRef Text) {
  StringRef S = Text.trim();
  if (S.empty())
    return sizeError(Text, "empty");
  if (S.starts_with("-"))
    return sizeError(Text, "negative");
  // Split the leading number (digits and at most one dot) from the unit.
  size_t NumEnd = 0;
  bool SeenDot = false, SeenDigit = false;
  for (; NumEnd < S.size(); ++NumEnd) {
    char C = S[NumEnd];
    if (C >= '0' && C <= '9') {
      SeenDigit = true;
      continue;
    }
    if (C == '.' && !SeenDot) {
      SeenDot = true;
      continue;
    }
    break;
  }
  if (!SeenDigit)
    return sizeError(Text, "expected a number");
  StringRef Num = S.take_front(NumEnd);
  StringRef Unit = S.drop_front(NumEnd).ltrim();
  uint64_t Scale = StringSwitch<uint64_t>(Unit)
                       .Case("", 1)
                       .Case("B", 1)
                       .Case("KB", 1000ull)
                       .Case("MB", 1000ull * 1000)
                       .Case("GB", 1000ull * 1000 * 1000)
                       .Case("TB", 1000ull * 1000 * 1000 * 1000)
                       .Case("KiB", 1ull << 10)
                       .Case("MiB", 1ull << 20)
                       .Case("GiB", 1ull << 30)
                       .Case("TiB", 1ull << 40)
                       .Default(0);
  if (Scale == 0)
    return sizeError(Text, "unknown unit \"" + Unit.str() +
                               "\" (use B, KB, MB, GB, TB, KiB, MiB, GiB "
                               "or TiB)");
  // Integers are parsed exactly; only fractions go through long double, whose
  // 64-bit mantissa is exact for every value below 2^63.
  StringRef IntPart = Num.take_until([](char C) { return C == '.'; });
  StringRef FracPart = Num.drop_front(IntPart.size())
                           .drop_front(Num.size() > IntPart.size() ? 1 : 0);
  uint64_t Int = 0;
  if (!IntPart.empty() && IntPart.getAsInteger(10, Int))
    return sizeError(Text, "too large");
  if (Int > MaxSizeBytes / Scale)
    return sizeError(Text, "too large (the limit is 2^62 bytes)");
  uint64_t Bytes = Int * Scale;
  if (!FracPart.empty()) {
    long double Frac = std::stold("0." + FracPart.str());
    long double Extra = std::ceil(Frac * static_cast<long double>(Scale));
    Bytes += static_cast<uint64_t>(Extra);
  }
  if (Bytes > MaxSizeBytes)
    return sizeError(Text, "too large (the limit is 2^62 bytes)");
  return Bytes;
}

std::string formatSize(uint64_t Bytes) {
  static const char *Units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (Bytes < 1024)
    return fmt::format("{} B", Bytes);
  double V = static_cast<double>(Bytes);
  unsigned U = 0;
  while (V >= 1024.0 && U + 1 < std::size(Units)) {
    V /= 1024.0;
    ++U;
  }
  return fmt::format("{:.2f} {}", V, Units[U]);
}

} // namespace remat

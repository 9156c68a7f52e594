//===- graph/Size.h - Memory sizes with units -------------------*- C++ -*-===//
//
// Parsing and printing of memory sizes as fixed by spec §1: a non-negative
// integer number of bytes, or a string such as "1.5 GiB" or "800MB".
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_GRAPH_SIZE_H
#define REMAT_GRAPH_SIZE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace remat {

/// Parses a size string: a non-negative decimal number, optional spaces, and
/// an optional unit among B, KB, MB, GB, TB (powers of 1000) and KiB, MiB,
/// GiB, TiB (powers of 1024). A bare number means bytes. Fractional results
/// round up to whole bytes. Fails on an empty string, a negative number, an
/// unknown unit, or a value that does not fit in 63 bits. The error message
/// is bare (no field name); callers prefix the place.
llvm::Expected<uint64_t> parseSize(llvm::StringRef Text);

/// Formats \p Bytes for humans with a binary unit and up to two decimals,
/// e.g. "1.50 GiB"; values under 1024 print as "N B".
std::string formatSize(uint64_t Bytes);

/// The largest size any field may hold: 2^62 bytes. Sums of a few thousand
/// such values still fit in uint64_t without overflow checks everywhere.
constexpr uint64_t MaxSizeBytes = uint64_t(1) << 62;

} // namespace remat

#endif // REMAT_GRAPH_SIZE_H

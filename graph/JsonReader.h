//===- graph/JsonReader.h - Strict reading of JSON objects ------*- C++ -*-===//
//
// Internal to the model loader (and reusable by other strict readers): typed
// access to the fields of one JSON object with one-line messages that name
// the place of the bad value. Messages carry no file name; the loader
// prefixes it once, so every message starts with the path as given.
//
// Place convention: a reader is made for an object at a *place*, such as
// "static_bytes" or `layers[3] ("h.0.attn")`. The place of a field is
// "<place>.<key>" for unnamed objects and `<place>: <key>` for named list
// entries (the name in parentheses already ends the entry's part), and just
// "<key>" at the top level.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_GRAPH_JSONREADER_H
#define REMAT_GRAPH_JSONREADER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace remat {

/// Input documents keep their key order so that "the first unknown field" is
/// the first in the file.
using InJson = nlohmann::ordered_json;

/// A one-line error with \p Msg as its text (never a format string).
llvm::Error jsonError(const llvm::Twine &Msg);

/// A short one-line rendering of a JSON value for messages: its compact dump,
/// cut to 37 bytes plus "..." when longer than 40 (never inside a UTF-8
/// character). Safe on values nested arbitrarily deep.
std::string describeJson(const InJson &V);

/// Typed, strict access to one JSON object.
class ObjectReader {
public:
  /// \p Obj must be an object. \p Place is empty for the top level.
  /// \p Named: the place ends with an entry name in parentheses.
  ObjectReader(const InJson &Obj, std::string Place, bool Named = false)
      : Obj(Obj), Place(std::move(Place)), Named(Named) {}

  const std::string &place() const { return Place; }
  /// The place of field \p Key (see the file comment).
  std::string fieldPlace(llvm::StringRef Key) const;
  /// "<place>: <Msg>", or just \p Msg at the top level.
  llvm::Error error(const llvm::Twine &Msg) const;
  /// "<field place>: <Msg>".
  llvm::Error fieldError(llvm::StringRef Key, const llvm::Twine &Msg) const;

  bool has(llvm::StringRef Key) const { return Obj.contains(Key.str()); }
  /// The value of \p Key; null when absent.
  const InJson *get(llvm::StringRef Key) const;
  /// Fails on the first key (in file order) not in \p Allowed.
  llvm::Error checkKnown(llvm::ArrayRef<llvm::StringRef> Allowed) const;
  /// Fails naming \p Key when it is absent.
  llvm::Error require(llvm::StringRef Key) const;

  /// A string field; \p Default when absent (absent and no default: error).
  llvm::Expected<std::string>
  string(llvm::StringRef Key,
         std::optional<std::string> Default = std::nullopt) const;
  /// A size field (spec §1): a non-negative JSON integer up to 2^62, or a
  /// string for parseSize. Floats, booleans and negatives are errors.
  llvm::Expected<uint64_t>
  size(llvm::StringRef Key,
       std::optional<uint64_t> Default = std::nullopt) const;
  /// A time field: a non-negative finite JSON number.
  llvm::Expected<double>
  time(llvm::StringRef Key, std::optional<double> Default = std::nullopt) const;
  /// A JSON boolean; \p Default when absent.
  llvm::Expected<bool>
  boolean(llvm::StringRef Key,
          std::optional<bool> Default = std::nullopt) const;
  /// A positive JSON integer up to \p Max.
  llvm::Expected<uint64_t>
  positiveInt(llvm::StringRef Key, uint64_t Max,
              std::optional<uint64_t> Default = std::nullopt) const;

private:
  const InJson &Obj;
  std::string Place;
  bool Named;
};

/// The deepest nesting of arrays and objects that parseJsonText accepts. A
/// model needs about 3 levels per repeat (at most 32 deep) plus a few; DOM
/// values are copied recursively, so the bound also bounds the stack.
constexpr unsigned MaxJsonNesting = 512;

/// Parses \p Text as one JSON document. Errors read
/// "<Path>:<line>:<col>: invalid JSON: <reason>" (1-based, computed from the
/// byte offset of the failure), or "<Path>: invalid JSON: <reason>" when the
/// parser gives no position (number overflow). A NUL byte anywhere is an
/// error at its position (the parser would take it for the end). Arrays and
/// objects nested deeper than MaxJsonNesting give "<Path>: JSON nesting
/// deeper than 512 levels".
llvm::Expected<InJson> parseJsonText(llvm::StringRef Text,
                                     llvm::StringRef Path);

} // namespace remat

#endif // REMAT_GRAPH_JSONREADER_H

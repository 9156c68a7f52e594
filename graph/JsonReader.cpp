//===- graph/JsonReader.cpp - Strict reading of JSON objects --------------===//

#include "graph/JsonReader.h"
#include "graph/Errors.h"

#include "graph/Size.h"

#include "llvm/ADT/StringSet.h"

#include <cmath>

using namespace llvm;

namespace remat {

Error jsonError(const Twine &Msg) {
  // Names and values come from the file and may hold control characters
  // (a "\n" escape in a name); messages stay on one line.
  std::string Text;
  for (char C : Msg.str()) {
    if (static_cast<unsigned char>(C) >= 0x20 && C != 0x7f) {
      Text += C;
      continue;
    }
    Text += C == '\n' ? "\\n" : C == '\t' ? "\\t" : C == '\r' ? "\\r" : "?";
  }
  return badInput("{}", Text);
}

/// Appends the compact dump of \p V to \p Out, but stops writing once Out is
/// longer than \p Limit. Each level of nesting writes a bracket before it
/// recurses, so the recursion is at most \p Limit deep: InJson::dump recurses
/// once per level and overflows the stack on a value nested 100000 deep.
/// Below the limit the text is exactly V.dump().
static void appendBounded(const InJson &V, size_t Limit, std::string &Out) {
  if (!V.is_structured()) {
    Out += V.dump();
    return;
  }
  Out += V.is_array() ? '[' : '{';
  for (auto It = V.begin(); It != V.end(); ++It) {
    if (Out.size() > Limit)
      return;
    if (It != V.begin())
      Out += ',';
    if (V.is_object())
      Out += InJson(It.key()).dump() + ":";
    appendBounded(It.value(), Limit, Out);
  }
  Out += V.is_array() ? ']' : '}';
}

std::string describeJson(const InJson &V) {
  constexpr size_t Limit = 40;
  std::string S;
  appendBounded(V, Limit, S);
  if (S.size() <= Limit)
    return S;
  // Cut to 37 bytes, not inside a UTF-8 sequence (continuation bytes are
  // 10xxxxxx).
  size_t Cut = Limit - 3;
  while (Cut > 0 && (static_cast<unsigned char>(S[Cut]) & 0xC0) == 0x80)
    --Cut;
  return S.substr(0, Cut) + "...";
}

std::string ObjectReader::fieldPlace(StringRef Key) const {
  if (Place.empty())
    return Key.str();
  return Place + (Named ? ": " : ".") + Key.str();
}

Error ObjectReader::error(const Twine &Msg) const {
  if (Place.empty())
    return jsonError(Msg);
  return jsonError(Place + ": " + Msg);
}

Error ObjectReader::fieldError(StringRef Key, const Twine &Msg) const {
  return jsonError(fieldPlace(Key) + ": " + Msg);
}

const InJson *ObjectReader::get(StringRef Key) const {
  auto It = Obj.find(Key.str());
  return It == Obj.end() ? nullptr : &*It;
}

Error ObjectReader::checkKnown(ArrayRef<StringRef> Allowed) const {
  for (auto It = Obj.begin(); It != Obj.end(); ++It)
    if (!is_contained(Allowed, StringRef(It.key())))
      return error("unknown field \"" + It.key() + "\"");
  return Error::success();
}

Error ObjectReader::require(StringRef Key) const {
  if (has(Key))
    return Error::success();
  return error("missing required field \"" + Key + "\"");
}

Expected<std::string>
ObjectReader::string(StringRef Key, std::optional<std::string> Default) const {
  const InJson *V = get(Key);
  if (!V) {
    if (Default)
      return *Default;
    return error("missing required field \"" + Key + "\"");
  }
  if (!V->is_string())
    return fieldError(Key, "must be a string, got " + describeJson(*V));
  return V->get<std::string>();
}

Expected<bool> ObjectReader::boolean(StringRef Key,
                                     std::optional<bool> Default) const {
  const InJson *V = get(Key);
  if (!V) {
    if (Default)
      return *Default;
    return error("missing required field \"" + Key + "\"");
  }
  if (!V->is_boolean())
    return fieldError(Key, "must be true or false, got " + describeJson(*V));
  return V->get<bool>();
}

Expected<uint64_t> ObjectReader::size(StringRef Key,
                                      std::optional<uint64_t> Default) const {
  const InJson *V = get(Key);
  if (!V) {
    if (Default)
      return *Default;
    return error("missing required field \"" + Key + "\"");
  }
  if (V->is_number_unsigned()) {
    uint64_t Bytes = V->get<uint64_t>();
    if (Bytes > MaxSizeBytes)
      return fieldError(Key, "size " + describeJson(*V) +
                                 " is too large (the limit is 2^62 bytes)");
    return Bytes;
  }
  if (V->is_number_integer()) {
    if (V->get<int64_t>() == 0)
      return 0; // written -0
    return fieldError(Key,
                      "size must not be negative, got " + describeJson(*V));
  }
  if (V->is_string()) {
    Expected<uint64_t> Bytes = parseSize(V->get<std::string>());
    if (!Bytes)
      return fieldError(Key, toString(Bytes.takeError()));
    return *Bytes;
  }
  if (V->is_number_float())
    return fieldError(Key, "size must be a whole number of bytes or a string "
                           "with a unit such as \"1.5 GiB\", got " +
                               describeJson(*V));
  return fieldError(Key, "size must be a number of bytes or a string such as "
                         "\"12 MiB\", got " +
                             describeJson(*V));
}

Expected<double> ObjectReader::time(StringRef Key,
                                    std::optional<double> Default) const {
  const InJson *V = get(Key);
  if (!V) {
    if (Default)
      return *Default;
    return error("missing required field \"" + Key + "\"");
  }
  if (!V->is_number())
    return fieldError(Key, "time must be a number, got " + describeJson(*V));
  double T = V->get<double>();
  if (!std::isfinite(T) || T < 0)
    return fieldError(Key, "time must be a non-negative number, got " +
                               describeJson(*V));
  return T;
}

Expected<uint64_t>
ObjectReader::positiveInt(StringRef Key, uint64_t Max,
                          std::optional<uint64_t> Default) const {
  const InJson *V = get(Key);
  if (!V) {
    if (Default)
      return *Default;
    return error("missing required field \"" + Key + "\"");
  }
  if (!V->is_number_unsigned() || V->get<uint64_t>() == 0 ||
      V->get<uint64_t>() > Max)
    return fieldError(Key, "must be an integer from 1 to " + Twine(Max) +
                               ", got " + describeJson(*V));
  return V->get<uint64_t>();
}

// nlohmann's messages start with "[json.exception.parse_error.101] parse
// error at line L, column C: "; we keep only the reason after that and
// compute the position ourselves from the byte offset.
static std::string jsonReason(StringRef What) {
  size_t Col = What.find("column ");
  if (Col != StringRef::npos) {
    size_t Colon = What.find(": ", Col);
    if (Colon != StringRef::npos)
      return What.drop_front(Colon + 2).str();
  }
  size_t Bracket = What.find("] ");
  if (What.starts_with("[") && Bracket != StringRef::npos)
    return What.drop_front(Bracket + 2).str();
  return What.str();
}

namespace {

/// A SAX pass that checks the nesting depth (stopping at the first container
/// deeper than MaxJsonNesting, before the DOM is built: copying a DOM value
/// recurses once per level and overflowed the stack at 100000 levels) and
/// finds the first key repeated within one object (which the DOM would
/// silently overwrite) and its JSON path. A separate pass, because
/// nlohmann's callback parser rescans the parent container at the end of
/// every object, which is quadratic in the length of a list of objects.
class DuplicateKeyFinder {
public:
  using Str = InJson::string_t;
  bool null() { return elementDone(); }
  bool boolean(bool) { return elementDone(); }
  bool number_integer(InJson::number_integer_t) { return elementDone(); }
  bool number_unsigned(InJson::number_unsigned_t) { return elementDone(); }
  bool number_float(InJson::number_float_t, const Str &) {
    return elementDone();
  }
  bool string(Str &) { return elementDone(); }
  bool binary(InJson::binary_t &) { return elementDone(); }
  bool start_object(std::size_t) { return push(true); }
  bool key(Str &K) {
    Frame &Top = Frames.back();
    if (!Top.Keys.insert(K).second && Found.empty()) {
      // Keep only the first one, but go on checking the depth.
      Found = (Frames.size() > 1 ? pathOfTop() + ": " : std::string()) +
              "duplicate field \"" + K + "\"";
    }
    Top.Key = K;
    return true;
  }
  bool end_object() {
    Frames.pop_back();
    return elementDone();
  }
  bool start_array(std::size_t) { return push(false); }
  bool end_array() { return end_object(); }
  bool parse_error(std::size_t, const std::string &,
                   const nlohmann::detail::exception &) {
    return false;
  }
  /// Empty when no key repeats, else "<path>: duplicate field \"k\"".
  const std::string &found() const { return Found; }
  /// Whether a container is nested deeper than MaxJsonNesting.
  bool tooDeep() const { return TooDeep; }

private:
  struct Frame {
    bool IsObject;
    StringSet<> Keys;
    std::string Key;
    size_t Index;
  };
  bool push(bool IsObject) {
    if (Frames.size() >= MaxJsonNesting) {
      TooDeep = true;
      return false; // stop: nothing deeper is read
    }
    Frames.push_back({IsObject, {}, {}, 0});
    return true;
  }
  bool elementDone() {
    if (!Frames.empty() && !Frames.back().IsObject)
      ++Frames.back().Index;
    return true;
  }
  /// The path of the innermost object, e.g. "layers[2]".
  std::string pathOfTop() const {
    std::string Where;
    for (size_t I = 0; I + 1 < Frames.size(); ++I)
      Where += Frames[I].IsObject ? (Where.empty() ? "" : ".") + Frames[I].Key
                                  : "[" + std::to_string(Frames[I].Index) + "]";
    return Where;
  }
  std::vector<Frame> Frames;
  std::string Found;
  bool TooDeep = false;
};

} // namespace

/// "<line>:<col>" (1-based) of byte \p Offset of \p Text.
static std::string positionOf(StringRef Text, size_t Offset) {
  StringRef Before = Text.take_front(Offset);
  size_t Line = 1 + Before.count('\n');
  size_t LineStart = Before.rfind('\n');
  size_t Col = LineStart == StringRef::npos ? Offset + 1 : Offset - LineStart;
  return std::to_string(Line) + ":" + std::to_string(Col);
}

Expected<InJson> parseJsonText(StringRef Text, StringRef Path) {
  // nlohmann's lexer takes a NUL byte for the end of the input and would
  // silently ignore whatever follows it.
  size_t Nul = Text.find('\0');
  if (Nul != StringRef::npos)
    return jsonError(Path + ":" + positionOf(Text, Nul) +
                     ": invalid JSON: NUL byte");
  try {
    // The SAX pass first: it bounds the depth before any DOM exists. A
    // syntax error stops it quietly; the DOM parse below reports it.
    DuplicateKeyFinder Dups;
    InJson::sax_parse(Text.begin(), Text.end(), &Dups);
    if (Dups.tooDeep())
      return jsonError(Path + ": JSON nesting deeper than " +
                       Twine(MaxJsonNesting) + " levels");
    InJson J = InJson::parse(Text.begin(), Text.end());
    if (!Dups.found().empty())
      return jsonError(Path + ": " + Dups.found());
    return J;
  } catch (const nlohmann::json::parse_error &E) {
    // E.byte is the 1-based index of the last character read; past the end
    // for a truncated document.
    size_t Offset = std::min<size_t>(E.byte == 0 ? 0 : E.byte - 1, Text.size());
    return jsonError(Path + ":" + positionOf(Text, Offset) +
                     ": invalid JSON: " + jsonReason(E.what()));
  } catch (const nlohmann::json::exception &E) {
    return jsonError(Path + ": invalid JSON: " + jsonReason(E.what()));
  }
}

} // namespace remat

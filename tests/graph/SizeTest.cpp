//===- tests/graph/SizeTest.cpp - Size parsing ----------------------------===//

#include "graph/Size.h"

#include <doctest/doctest.h>

using namespace remat;

static uint64_t ok(const char *S) {
  auto V = parseSize(S);
  REQUIRE_MESSAGE(bool(V), S);
  return *V;
}

static std::string err(const char *S) {
  auto V = parseSize(S);
  REQUIRE_FALSE(bool(V));
  return llvm::toString(V.takeError());
}

TEST_CASE("plain integers are bytes") {
  CHECK(ok("0") == 0);
  CHECK(ok("123") == 123);
  CHECK(ok("  42 ") == 42);
}

TEST_CASE("decimal and binary units") {
  CHECK(ok("800MB") == 800'000'000ull);
  CHECK(ok("1 KB") == 1000);
  CHECK(ok("1KiB") == 1024);
  CHECK(ok("2 GiB") == 2ull << 30);
  CHECK(ok("3TB") == 3'000'000'000'000ull);
  CHECK(ok("1 TiB") == 1ull << 40);
  CHECK(ok("7 B") == 7);
}

TEST_CASE("fractions round up to whole bytes") {
  // 1.5 GiB = 1.5 * 2^30 = 1610612736 exactly.
  CHECK(ok("1.5 GiB") == 1610612736ull);
  // 0.1 KiB = 102.4 bytes -> 103.
  CHECK(ok("0.1KiB") == 103);
  // 1.0001 KB = 1000.1 bytes -> 1001.
  CHECK(ok("1.0001 KB") == 1001);
  CHECK(ok("2.5") == 3);
}

TEST_CASE("bad sizes are rejected with the reason") {
  CHECK(err("") == "invalid size \"\": empty");
  CHECK(err("-5") == "invalid size \"-5\": negative");
  CHECK(err("12 XB") == "invalid size \"12 XB\": unknown unit \"XB\" (use B, "
                        "KB, MB, GB, TB, KiB, MiB, GiB or TiB)");
  CHECK(err("GiB") == "invalid size \"GiB\": expected a number");
  CHECK(err("99999999999999999999") ==
        "invalid size \"99999999999999999999\": too large");
  CHECK(err("5 TiB TiB").find("unknown unit") != std::string::npos);
  // 2^62 bytes is the limit; 4097 TiB = 4097 * 2^40 > 2^52 is fine, but
  // 5000000 TiB ~ 2^62.25 is not.
  CHECK(err("5000000 TiB") ==
        "invalid size \"5000000 TiB\": too large (the limit is 2^62 bytes)");
}

TEST_CASE("formatSize picks a binary unit") {
  CHECK(formatSize(0) == "0 B");
  CHECK(formatSize(1023) == "1023 B");
  CHECK(formatSize(1024) == "1.00 KiB");
  CHECK(formatSize(1610612736ull) == "1.50 GiB");
}

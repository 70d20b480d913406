// Small inline character helpers of the SIP/HTTP parsers and the builders (token characters,
// LWS, digits); the general text helpers are core/util/strings.h. Header-only for the hot path.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/util/strings.h"

namespace sipsd::parse {

// The shared toolkit's comparisons and trimming (core/util/strings.h), under the names the
// parsers and builders use.
inline char lower(char c) { return str::lowerChar(c); }
inline bool ieq(std::string_view a, std::string_view b) { return str::iequals(a, b); }
using str::istartsWith;
using str::ltrim;
using str::trim;

// Linear whitespace, including the CR/LF of a folded header line: every sub-parser must skip it.
using str::isLws;

constexpr bool isDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// RFC 3261 token characters, as a table: every header name and most parameters go through it.
struct TokenTable {
  bool t[256] = {};
  constexpr TokenTable() {
    for (int c = 0; c < 256; ++c) t[c] = isAlpha(char(c)) || isDigit(char(c));
    for (char c : std::string_view("-.!%*_+`'~")) t[static_cast<unsigned char>(c)] = true;
  }
};
inline constexpr TokenTable kTokenChars;
inline bool isTokenChar(char c) { return kTokenChars.t[static_cast<unsigned char>(c)]; }

// Decimal without sign; nullopt on empty, non-digits or overflow past `max`.
inline std::optional<uint64_t> parseUint(std::string_view s, uint64_t max = UINT32_MAX) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (!isDigit(c)) return std::nullopt;
    v = v * 10 + uint64_t(c - '0');
    if (v > max) return std::nullopt;
  }
  return v;
}

// Offset of `inner` inside `outer` (both views of the same buffer).
inline size_t offsetIn(std::string_view outer, std::string_view inner) {
  return size_t(inner.data() - outer.data());
}

}  // namespace sipsd::parse

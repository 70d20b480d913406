// Small inline character and text helpers shared by the SIP/HTTP parsers and the builders.
// Kept header-only so the hot path inlines them.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace sipsd::parse {

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c | 0x20) : c; }

inline bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

inline bool istartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && ieq(s.substr(0, prefix.size()), prefix);
}

// Linear whitespace, including the CR/LF of a folded header line: a folded value is a view
// into the buffer that still holds the line break, and every sub-parser must skip it.
inline bool isLws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

inline bool isDigit(char c) { return c >= '0' && c <= '9'; }
inline bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// RFC 3261 token characters.
inline bool isTokenChar(char c) {
  if (isAlpha(c) || isDigit(c)) return true;
  switch (c) {
    case '-': case '.': case '!': case '%': case '*': case '_': case '+': case '`': case '\'': case '~':
      return true;
    default:
      return false;
  }
}

inline std::string_view trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && isLws(s[b])) ++b;
  while (e > b && isLws(s[e - 1])) --e;
  return s.substr(b, e - b);
}

inline std::string_view ltrim(std::string_view s) {
  size_t b = 0;
  while (b < s.size() && isLws(s[b])) ++b;
  return s.substr(b);
}

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

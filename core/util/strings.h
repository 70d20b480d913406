// The text helpers every area shares (parsers, builders, config readers, modules): trimming,
// ASCII case folding and comparison, whole-string number parsing, path pieces. ASCII only and
// locale-free (a config or a SIP message means the same under any locale); header-only so the
// parsers' hot paths inline them.
#pragma once
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace sipsd::str {

// SIP linear whitespace, including the CR/LF of a folded header line (a folded value is a view
// into the buffer that still holds the line break).
inline constexpr std::string_view kLws = " \t\r\n";
// What C's isspace() calls space in the "C" locale.
inline constexpr std::string_view kSpace = " \t\r\n\v\f";
// One byte of kSpace (no locale, no undefined behaviour for bytes >= 0x80 as with isspace()).
constexpr bool isSpace(char c) { return kSpace.find(c) != std::string_view::npos; }

constexpr char lowerChar(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

// Case-insensitive for the ASCII letters only; every other byte must match exactly. (Folding
// with `c | 0x20` instead would also make '\r' equal '-', '\x0f' equal '/' and so on.)
constexpr bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lowerChar(a[i]) != lowerChar(b[i])) return false;
  }
  return true;
}

constexpr bool istartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

inline std::string toLower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = lowerChar(c);
  return r;
}

constexpr bool isLws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Trimming of SIP linear whitespace (the parsers' hot path: a plain loop, no set lookup).
constexpr std::string_view ltrim(std::string_view s) {
  size_t b = 0;
  while (b < s.size() && isLws(s[b])) ++b;
  return s.substr(b);
}

constexpr std::string_view rtrim(std::string_view s) {
  size_t e = s.size();
  while (e > 0 && isLws(s[e - 1])) --e;
  return s.substr(0, e);
}

constexpr std::string_view trim(std::string_view s) { return rtrim(ltrim(s)); }

// Trimming of any characters in `chars` (kSpace for text files).
constexpr std::string_view trim(std::string_view s, std::string_view chars) {
  size_t b = s.find_first_not_of(chars);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(chars) - b + 1);
}

// The whole of `s` as a number of type T (no sign for unsigned T, no spaces, no trailing text);
// nullopt when empty, malformed or out of T's range.
template <class T>
std::optional<T> toNumber(std::string_view s, int base = 10) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// The same as a bool-returning out-parameter form, for call sites that fill an existing value.
template <class T>
bool toNumber(std::string_view s, T& out, int base = 10) {
  auto v = toNumber<T>(s, base);
  if (v) out = *v;
  return bool(v);
}

// Appends `v` in decimal: what `out += std::to_string(v)` does, without the temporary string.
inline void appendDecimal(std::string& out, uint64_t v) {
  char buf[20];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, size_t(r.ptr - buf));
}

// Directory part of a file path: "." when there is none, "/" for a file in the root.
inline std::string dirOf(std::string_view path) {
  auto slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

// `path` relative to `baseDir` (absolute paths and an empty base stay as they are; leading
// "./" is dropped, so "./a" against "." is "a").
inline std::string resolvePath(std::string_view path, std::string_view baseDir) {
  if (path.empty() || path.front() == '/' || baseDir.empty()) return std::string(path);
  while (path.substr(0, 2) == "./") path.remove_prefix(2);
  if (baseDir == ".") return std::string(path);
  std::string r(baseDir);
  r += '/';
  r += path;
  return r;
}

}  // namespace sipsd::str

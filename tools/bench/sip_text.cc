// SIP text helpers for the benchmark tools (see sip_text.h).
#include "sip_text.h"

#include <charconv>

namespace sipsd::bench {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool isBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && isBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && (isBlank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Matches `name` at the start of `line` and returns the rest after blanks and ':' (or nullopt).
std::optional<std::string_view> afterName(std::string_view line, std::string_view name) {
  if (line.size() <= name.size()) return std::nullopt;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (lower(line[i]) != name[i]) return std::nullopt;
  std::size_t i = name.size();
  while (i < line.size() && isBlank(line[i])) ++i;
  if (i >= line.size() || line[i] != ':') return std::nullopt;
  return line.substr(i + 1);
}

}  // namespace

bool headerIs(std::string_view line, std::string_view name, char compact, std::string_view* value) {
  auto rest = afterName(line, name);
  if (!rest && compact != 0) {
    const char c[1] = {compact};
    rest = afterName(line, std::string_view(c, 1));
  }
  if (!rest) return false;
  if (value != nullptr) *value = trim(*rest);
  return true;
}

int statusCode(std::string_view msg) {
  constexpr std::string_view kPrefix = "SIP/2.0 ";
  if (msg.size() < kPrefix.size() + 3 || msg.substr(0, kPrefix.size()) != kPrefix) return -1;
  int code = 0;
  for (std::size_t i = kPrefix.size(); i < kPrefix.size() + 3; ++i) {
    const char c = msg[i];
    if (c < '0' || c > '9') return -1;
    code = code * 10 + (c - '0');
  }
  return code;
}

std::optional<std::size_t> contentLength(std::string_view headers) {
  while (!headers.empty()) {
    const std::size_t eol = headers.find("\r\n");
    const std::string_view line = headers.substr(0, eol);
    std::string_view value;
    if (headerIs(line, "content-length", 'l', &value)) {
      std::size_t n = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n > (1u << 24)) return std::nullopt;
      return n;
    }
    if (eol == std::string_view::npos) break;
    headers.remove_prefix(eol + 2);
  }
  return 0;
}

}  // namespace sipsd::bench

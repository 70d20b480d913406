// Bounds text that echoes input (a peer's bytes, a config value) before it goes into a log
// line or an error message: one line stays readable and a megabyte value cannot become a
// megabyte log line. Control bytes are escaped by the logger itself (core/log.cc).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace sipsd {

// `s` when it is at most `max` bytes, else its first `max` bytes and how many were left out.
inline std::string boundedText(std::string_view s, size_t max = 160) {
  if (s.size() <= max) return std::string(s);
  std::string r(s.substr(0, max));
  r += "...(";
  r += std::to_string(s.size() - max);
  r += " more bytes)";
  return r;
}

}  // namespace sipsd

// Minimal SIP text helpers shared by the benchmark tools: header-name matching, status code,
// Content-Length value.  Deliberately not a parser: the tools only frame and classify messages.
#pragma once
#include <cstddef>
#include <optional>
#include <string_view>

namespace sipsd::bench {

// True when `line` starts with header `name` (case-insensitive) or its compact form `compact`
// (0 = none), followed by optional blanks and ':'.  On success *value is the trimmed value.
bool headerIs(std::string_view line, std::string_view name, char compact, std::string_view* value);

// The status code of a reply ("SIP/2.0 200 OK" -> 200), or -1 for a request or garbage.
int statusCode(std::string_view msg);

// The Content-Length of a header block (lines separated by CRLF, no start line needed).
// Missing header -> 0; malformed or absurd value -> nullopt.
std::optional<std::size_t> contentLength(std::string_view headers);

}  // namespace sipsd::bench

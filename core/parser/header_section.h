// One definition of a SIP/HTTP message's shape on the wire, shared by the stream framer
// (TCP/TLS), the datagram check (UDP) and the message parser, so that all three agree where a
// message ends (a disagreement is a request-smuggling shape):
//  - a line ends at LF; a CR right before the LF is not part of the line (LF-only is accepted);
//  - the header section ends at the first empty line;
//  - a line that starts with SP or HT continues the header before it (obsolete folding, RFC 3261
//    §7.3.1): it is never a header of its own, whatever it looks like;
//  - Content-Length (or `l`) is the body length; its value after folding must be digits only, and
//    two different values are an error.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace sipsd::framing {

struct Line {
  size_t begin = 0;  // first byte of the line
  size_t end = 0;    // one past its last byte, CR/LF excluded
  size_t next = 0;   // where the following line starts
};

// The line starting at `pos`; false when no LF follows (the line is incomplete).
inline bool lineAt(std::string_view v, size_t pos, Line& out) {
  if (pos >= v.size()) return false;
  const void* p = std::memchr(v.data() + pos, '\n', v.size() - pos);
  if (!p) return false;
  size_t nl = size_t(static_cast<const char*>(p) - v.data());
  out.begin = pos;
  out.end = (nl > pos && v[nl - 1] == '\r') ? nl - 1 : nl;
  out.next = nl + 1;
  return true;
}

inline bool isContinuation(std::string_view v, const Line& l) {
  return l.end > l.begin && (v[l.begin] == ' ' || v[l.begin] == '\t');
}

// Offset just past the empty line ending the header section of `v` (whose first line starts at
// 0), looking for it from `from` on; npos when it has not arrived yet. `from` lets a caller that
// receives a message in pieces resume where it stopped (see resumeFrom).
inline size_t headerSectionEnd(std::string_view v, size_t from) {
  size_t p = from;
  while (p < v.size()) {
    const void* q = std::memchr(v.data() + p, '\n', v.size() - p);
    if (!q) return std::string_view::npos;
    size_t nl = size_t(static_cast<const char*>(q) - v.data());
    if (nl + 1 < v.size() && v[nl + 1] == '\n') return nl + 2;
    if (nl + 2 < v.size() && v[nl + 1] == '\r' && v[nl + 2] == '\n') return nl + 3;
    p = nl + 1;
  }
  return std::string_view::npos;
}

// Where headerSectionEnd may resume after failing on the first `size` bytes: the end marker
// ("\n\n" or "\n\r\n") may have begun in the last two bytes.
inline size_t resumeFrom(size_t size) { return size >= 2 ? size - 2 : 0; }

// A Content-Length value (folding already joined): optional LWS, digits, optional LWS.
std::optional<uint64_t> parseContentLength(std::string_view value);

// The Content-Length of a header section (start line included or not): -1 when absent, -2 when
// malformed or given twice with different values.
long long contentLength(std::string_view headers);

// Whether the header section has a header named `name` (case-insensitive, folding-aware).
bool hasHeader(std::string_view headers, std::string_view name);

}  // namespace sipsd::framing

// The wire shape shared by framer and parser (see header_section.h).
#include "core/parser/header_section.h"

#include "core/parser/parse_util.h"

namespace sipsd::framing {

namespace {

// Calls fn(name, value) for each header of `headers`, the value spanning its continuation
// lines (trimmed of linear whitespace, CR/LF of the folds included). Lines without a colon
// (the start line) are skipped. fn returns false to stop. `maybe(text)` sees each header line
// from its first non-LWS byte on and may rule it out before the colon search and trimming
// (every UDP datagram is framed by contentLength(), which wants 2 of a dozen names).
template <class Fn, class Maybe>
void forEachHeader(std::string_view headers, Fn&& fn, Maybe&& maybe) {
  Line l;
  size_t pos = 0;
  bool have = lineAt(headers, pos, l);
  while (have) {
    if (isContinuation(headers, l)) {  // folding of a line without a colon: nothing to report
      have = lineAt(headers, l.next, l);
      continue;
    }
    size_t b = l.begin;
    while (b < l.end && parse::isLws(headers[b])) ++b;  // as the trimming of the name below
    if (!maybe(headers.substr(b, l.end - b))) {
      have = lineAt(headers, l.next, l);  // its continuation lines are skipped above
      continue;
    }
    std::string_view line = headers.substr(l.begin, l.end - l.begin);
    size_t colon = line.find(':');
    Line last = l;
    Line n;
    bool more = lineAt(headers, l.next, n);
    while (more && isContinuation(headers, n)) {
      last = n;
      more = lineAt(headers, n.next, n);
    }
    if (colon != std::string_view::npos) {
      std::string_view name = parse::trim(line.substr(0, colon));
      size_t vbegin = l.begin + colon + 1;
      std::string_view value = parse::trim(headers.substr(vbegin, last.end - vbegin));
      if (!fn(name, value)) return;
    }
    have = more;
    l = n;
  }
}

}  // namespace

std::optional<uint64_t> parseContentLength(std::string_view value) {
  return parse::parseUint(parse::trim(value), UINT32_MAX);
}

long long contentLength(std::string_view headers) {
  long long found = -1;
  forEachHeader(headers, [&](std::string_view name, std::string_view value) {
    if (!parse::ieq(name, "content-length") && !parse::ieq(name, "l")) return true;
    auto n = parseContentLength(value);
    if (!n || (found >= 0 && found != (long long)*n)) {
      found = -2;  // malformed, or two different lengths: no sound framing
      return false;
    }
    found = (long long)*n;
    return true;
  }, [](std::string_view line) {
    // The trimmed name before the colon can only be one of them if the line starts with it.
    return parse::istartsWith(line, "content-length") || parse::istartsWith(line, "l");
  });
  return found;
}

bool hasHeader(std::string_view headers, std::string_view wanted) {
  bool seen = false;
  forEachHeader(headers, [&](std::string_view name, std::string_view) {
    seen = parse::ieq(name, wanted);
    return !seen;
  }, [](std::string_view) { return true; });
  return seen;
}

}  // namespace sipsd::framing

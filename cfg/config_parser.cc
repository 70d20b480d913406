// Top-level parse loop with error recovery.
#include "cfg/config_parser.h"

#include <cstdio>

#include "cfg/grammar.h"

namespace sipsd::cfg {

namespace {

bool startsTopLevel(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }

// After an error, resume at the first later line that starts, unindented, with a word:
// top-level constructs are written that way, statements inside routes are indented.
Iterator resync(const std::string& src, Iterator errorAt) {
  size_t pos = src.find('\n', size_t(errorAt - src.begin()));
  while (pos != std::string::npos) {
    ++pos;
    if (pos < src.size() && startsTopLevel(src[pos])) return src.begin() + long(pos);
    pos = src.find('\n', pos);
  }
  return src.end();
}

// Decodes the UTF-8 sequence at s[i] (length n), or returns -1 when it is not one.
long decodeUtf8(const std::string& s, size_t i, size_t& n) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
  if (n == 0 || c >= 0xF8 || i + n > s.size()) return n = 1, -1;
  long cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    unsigned char d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) return n = 1, -1;
    cp = (cp << 6) | (d & 0x3F);
  }
  return cp;
}

std::string describeNonAscii(const std::string& s, size_t i) {
  size_t n = 0;
  long cp = decodeUtf8(s, i, n);
  char hex[24];
  if (cp < 0) {
    std::snprintf(hex, sizeof hex, "0x%02X", unsigned(static_cast<unsigned char>(s[i])));
    return std::string("non-ASCII byte ") + hex + " outside a string or comment";
  }
  std::snprintf(hex, sizeof hex, "U+%04lX", cp);
  std::string ch = s.substr(i, n);
  if (cp == 0x201C || cp == 0x201D || cp == 0x201E || cp == 0x2018 || cp == 0x2019 || cp == 0x00AB || cp == 0x00BB)
    return "typographic quote " + ch + " (" + hex + "): strings take plain \" quotes";
  return "non-ASCII character " + ch + " (" + hex + ") outside a string or comment";
}

// The language is ASCII outside strings and comments. A byte >= 0x80 there (a stray byte,
// smart quotes pasted from a document) is reported where it stands, first on each line;
// the parse would only add confusing "expected ..." errors at the same spots.
bool reportNonAscii(ErrorHandler& handler) {
  const std::string& s = handler.source();
  const size_t n = s.size();
  bool found = false;
  size_t reportedLineEnd = 0;  // one error per line
  for (size_t i = 0; i < n;) {
    const char c = s[i];
    if (c == '"' || c == '\'') {  // a string ends at its quote or, unterminated, at the end of the line
      for (++i; i < n && s[i] != c && s[i] != '\n'; ++i)
        if (c == '"' && s[i] == '\\' && i + 1 < n && s[i + 1] != '\n') ++i;
      if (i < n && s[i] == c) ++i;
    } else if (c == '#' || (c == '/' && i + 1 < n && s[i + 1] == '/')) {
      while (i < n && s[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
      size_t e = s.find("*/", i + 2);
      i = e == std::string::npos ? n : e + 2;
    } else if (static_cast<unsigned char>(c) >= 0x80) {
      if (i >= reportedLineEnd) {
        handler.error(s.begin() + long(i), describeNonAscii(s, i));
        size_t e = s.find('\n', i);
        reportedLineEnd = e == std::string::npos ? n : e;
      }
      found = true;
      ++i;
    } else {
      ++i;
    }
  }
  return found;
}

}  // namespace

ast::Config parseConfig(ErrorHandler& handler) {
  namespace x3 = boost::spirit::x3;
  const std::string& src = handler.source();
  Iterator it = src.begin();
  const Iterator end = src.end();
  const auto item = x3::with<x3::error_handler_tag>(std::ref(handler))[parser::topItem()];
  ast::Config config;
  Diagnostics& diags = handler.diagnostics();
  if (reportNonAscii(handler)) return config;
  for (;;) {
    x3::phrase_parse(it, end, x3::eps, parser::skipper);  // leading blanks and comments
    if (it == end) break;
    const Iterator start = it;
    const int before = diags.errorCount();
    ast::TopItem parsed;
    if (x3::phrase_parse(it, end, item, parser::skipper, parsed) && it != start) {
      config.items.push_back(std::move(parsed));
      continue;
    }
    it = start;
    Iterator errorAt = start;
    if (diags.errorCount() == before) {
      if (src.compare(size_t(start - src.begin()), 2, "/*") == 0)
        handler.error(start, "unterminated comment");
      else
        handler.error(start, "expected a global parameter, loadmodule, modparam or route");
    } else {
      // Resume after the line the failure was found on (it may be past `start`). Positions
      // are taken in the parsed text: diagnostics name the real file and line, which differ
      // after the preprocessor merged includes.
      const Iterator at = handler.lastErrorAt();
      errorAt = at;
      while (errorAt != src.begin() && *(errorAt - 1) != '\n') --errorAt;
      if (errorAt < start) errorAt = start;
      // The error was found at the start of the next construct (a block left open before it):
      // resume right there so that construct is still checked.
      if (at > start && at < end && at == errorAt && startsTopLevel(*at)) {
        it = at;
        continue;
      }
    }
    it = resync(src, errorAt);
  }
  return config;
}

}  // namespace sipsd::cfg

// Top-level parse loop with error recovery.
#include "cfg/config_parser.h"

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

}  // namespace

ast::Config parseConfig(ErrorHandler& handler) {
  namespace x3 = boost::spirit::x3;
  const std::string& src = handler.source();
  Iterator it = src.begin();
  const Iterator end = src.end();
  const auto item = x3::with<x3::error_handler_tag>(std::ref(handler))[parser::topItem()];
  ast::Config config;
  Diagnostics& diags = handler.diagnostics();
  for (;;) {
    x3::phrase_parse(it, end, x3::eps, parser::skipper);  // leading blanks and comments
    if (it == end) break;
    const Iterator start = it;
    const int before = diags.errorCount();
    ast::TopItem parsed;
    if (x3::phrase_parse(it, end, item, parser::skipper, parsed)) {
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

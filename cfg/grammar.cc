// The single instantiation of the config grammar for std::string iterators.
#include "cfg/grammar_def.h"

namespace sipsd::cfg::parser {

BOOST_SPIRIT_INSTANTIATE(TopItemType, Iterator, ContextType)

const TopItemType& topItem() { return topItemRule; }

Iterator sourceOfStringChar(Iterator p, Iterator end, size_t index) {
  if (p == end || (*p != '"' && *p != '\'')) return p;
  const char quote = *p++;
  for (size_t i = 0; p != end;) {
    if (*p == quote) {  // a closing quote: "..." may go on in the next double-quoted part
      Iterator q = p + 1;
      x3::parse(q, end, *asciiSpace);
      if (quote != '"' || q == end || *q != '"') return p;
      p = q + 1;
      continue;
    }
    if (i++ == index) return p;
    if (quote != '"' || !x3::parse(p, end, x3::omit[escape])) ++p;
  }
  return p;
}

}  // namespace sipsd::cfg::parser

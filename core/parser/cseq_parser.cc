// CSeq parsing.
#include "core/parser/cseq_parser.h"

#include "core/parser/parse_util.h"

namespace sipsd {

using namespace parse;

bool parseCSeq(std::string_view value, CSeqBody& out, std::string& err) {
  out = CSeqBody{};
  std::string_view s = trim(value);
  size_t i = 0;
  while (i < s.size() && isDigit(s[i])) ++i;
  auto n = parseUint(s.substr(0, i), UINT32_MAX);
  if (!n) {
    err = "bad CSeq '" + std::string(s.substr(0, 60)) + "': expected a number";
    return false;
  }
  std::string_view method = trim(s.substr(i));
  if (method.empty() || i == s.size() || !isLws(s[i])) {
    err = "bad CSeq '" + std::string(s.substr(0, 60)) + "': expected 'NUMBER METHOD'";
    return false;
  }
  for (char c : method)
    if (!isTokenChar(c)) {
      err = "bad CSeq '" + std::string(s.substr(0, 60)) + "': bad method";
      return false;
    }
  out.numText = s.substr(0, i);
  out.num = uint32_t(*n);
  out.method = method;
  return true;
}

}  // namespace sipsd

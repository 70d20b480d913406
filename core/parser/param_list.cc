// Parameter list walking for Via, URI and header parameters.
#include "core/parser/param_list.h"

#include "core/parser/parse_util.h"

namespace sipsd {

using namespace parse;

bool ParamIter::next(Param& p) {
  std::string_view s = rest_;
  for (;;) {
    s = ltrim(s);
    if (s.empty()) {
      rest_ = s;
      return false;
    }
    if (s.front() == ';') {
      s.remove_prefix(1);
      continue;
    }
    break;
  }
  size_t i = 0;
  while (i < s.size() && s[i] != '=' && s[i] != ';' && !isLws(s[i])) ++i;
  p = Param{};
  p.name = s.substr(0, i);
  size_t j = i;
  while (j < s.size() && isLws(s[j])) ++j;
  if (j < s.size() && s[j] == '=') {
    ++j;
    while (j < s.size() && isLws(s[j])) ++j;
    p.hasValue = true;
    if (j < s.size() && s[j] == '"') {
      size_t k = j + 1;
      while (k < s.size() && s[k] != '"') k += (s[k] == '\\' && k + 1 < s.size()) ? 2 : 1;
      p.value = s.substr(j + 1, (k < s.size() ? k : s.size()) - j - 1);
      i = k < s.size() ? k + 1 : s.size();
    } else {
      size_t k = j;
      while (k < s.size() && s[k] != ';' && !isLws(s[k])) ++k;
      p.value = s.substr(j, k - j);
      i = k;
    }
  }
  p.raw = s.substr(0, i);
  rest_ = s.substr(i);
  return true;
}

std::optional<Param> findParamFull(std::string_view list, std::string_view name) {
  ParamIter it(list);
  Param p;
  while (it.next(p))
    if (ieq(p.name, name)) return p;
  return std::nullopt;
}

std::optional<std::string_view> findParam(std::string_view list, std::string_view name) {
  auto p = findParamFull(list, name);
  if (!p) return std::nullopt;
  return p->value;
}

}  // namespace sipsd

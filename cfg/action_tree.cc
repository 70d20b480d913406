// Names of the core keywords and the switch table lookups.
#include "cfg/action_tree.h"

#include <algorithm>

namespace sipsd::cfg {

namespace {
struct KeywordName {
  std::string_view name;
  Keyword kw;
};
constexpr KeywordName kKeywords[] = {
    {"method", Keyword::Method}, {"uri", Keyword::Uri},         {"proto", Keyword::Proto},
    {"src_ip", Keyword::SrcIp},  {"src_port", Keyword::SrcPort}, {"dst_ip", Keyword::DstIp},
    {"dst_port", Keyword::DstPort}, {"af", Keyword::Af},         {"status", Keyword::Status},
    {"msg:len", Keyword::MsgLen}, {"myself", Keyword::Myself},
};
}  // namespace

std::optional<Keyword> keywordFromName(std::string_view name) {
  for (const auto& k : kKeywords)
    if (k.name == name) return k.kw;
  return std::nullopt;
}

std::string_view keywordName(Keyword kw) {
  for (const auto& k : kKeywords)
    if (k.kw == kw) return k.name;
  return "?";
}

int64_t SwitchTable::entry(int64_t v) const {
  auto it = std::lower_bound(ints.begin(), ints.end(), v, [](const IntCase& c, int64_t x) { return c.value < x; });
  return it != ints.end() && it->value == v ? int64_t(it->at) : defaultAt;
}

int64_t SwitchTable::entry(std::string_view t) const {
  for (const auto& c : strs) {
    if (c.regex ? std::regex_search(t.begin(), t.end(), *c.regex) : t == c.text) return c.at;
  }
  return defaultAt;
}

}  // namespace sipsd::cfg

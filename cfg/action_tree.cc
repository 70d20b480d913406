// Names of the core keywords.
#include "cfg/action_tree.h"

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

}  // namespace sipsd::cfg

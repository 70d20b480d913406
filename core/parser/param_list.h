// `;name=value` parameter lists as they appear in Via, URIs and name-addr headers.
// The list is kept as one view; lookups walk it (lists are short, so this beats building a map).
#pragma once
#include <optional>
#include <string_view>

namespace sipsd {

struct Param {
  std::string_view name;
  std::string_view value;  // without quotes; empty when there is no '='
  bool hasValue = false;
  std::string_view raw;    // "name=value" as written (no leading ';')
};

// Walks a parameter list such as ";branch=z9;rport" (the leading ';' is optional).
// Values may be tokens, quoted strings or bracketed IPv6 references.
class ParamIter {
 public:
  explicit ParamIter(std::string_view list) : rest_(list) {}
  // Next parameter; false at the end.
  bool next(Param& p);

 private:
  std::string_view rest_;
};

// Value of parameter `name` (case-insensitive); empty view for a parameter without value;
// nullopt when absent.
std::optional<std::string_view> findParam(std::string_view list, std::string_view name);

// Same, returning the whole Param (for callers that edit the parameter in place).
std::optional<Param> findParamFull(std::string_view list, std::string_view name);

}  // namespace sipsd

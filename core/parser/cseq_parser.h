// CSeq header value: sequence number and method (RFC 3261 §20.16).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace sipsd {

struct CSeqBody {
  std::string_view numText;
  uint32_t num = 0;
  std::string_view method;
};

bool parseCSeq(std::string_view value, CSeqBody& out, std::string& err);

}  // namespace sipsd

// SIP, SIPS and tel URIs (RFC 3261 §19.1, RFC 3966) as views into the message.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace sipsd {

struct SipUri {
  enum class Scheme : uint8_t { Sip, Sips, Tel };
  Scheme scheme = Scheme::Sip;
  std::string_view raw;
  std::string_view schemeText;  // as written
  std::string_view user;        // for tel: the number
  std::string_view password;
  std::string_view host;        // IPv6 references keep their brackets; empty for tel
  std::string_view portText;    // empty when absent
  uint16_t port = 0;            // 0 when absent
  std::string_view params;      // ";transport=tls;lr" incl. the leading ';' (may be empty)
  std::string_view headers;     // after '?', without it (may be empty)
};

bool parseUri(std::string_view text, SipUri& out, std::string& err);

}  // namespace sipsd

// The checks of Kamailio's sanity module (sanity_check([msg_checks [, uri_checks]])), with
// Kamailio's bit numbers, and the reply each failed check earns. Pure: reads the message only.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "core/net/transport.h"
#include "core/parser/sip_msg.h"

namespace sipsd {

// What the sanity settings are (modparam("sanity", ...)); Kamailio's defaults.
struct SanitySettings {
  unsigned defaultChecks = 3047;  // 1+2+4+32+64+128+256+512+2048
  unsigned uriChecks = 7;         // R-URI, From, To
  std::vector<std::string> proxyRequire;  // extensions a Proxy-Require may name
  bool autodrop = true;           // a failed check stops the script (0: returns false)
};

// A failed check: the reply a request gets (none for replies and ACKs) and what to log.
struct SanityFailure {
  int code = 0;              // 0: every check passed
  std::string_view reason;   // reason phrase of the reply
  std::string extraHeader;   // a header line for the reply ("Unsupported: foo"), may be empty
  std::string detail;        // for the log
  explicit operator bool() const { return code != 0; }
};

class SanityChecker {
 public:
  // Kamailio's numbers: sanity_check("17895", "7") runs 1+2+4+32+64+128+256+1024+16384.
  enum Check : unsigned {
    kRuriSipVersion = 1, kRuriScheme = 2, kRequiredHeaders = 4, kViaSipVersion = 8, kViaProtocol = 16,
    kCseqMethod = 32, kCseqValue = 64, kContentLength = 128, kExpiresValue = 256, kProxyRequire = 512,
    kParseUris = 1024, kDigest = 2048, kDuplicateTags = 4096, kAuthorization = 8192, kVia1 = 16384,
  };
  static constexpr unsigned kAllChecks = 32767;
  enum UriCheck : unsigned { kUriRuri = 1, kUriFrom = 2, kUriTo = 4, kUriContact = 8 };
  static constexpr unsigned kAllUris = 15;

  // Runs `checks` (request-only ones are skipped for a reply) in Kamailio's order and stops at
  // the first failure.
  static SanityFailure check(const SipMsg& msg, Proto proto, unsigned checks, unsigned uriChecks,
                             const std::vector<std::string>& proxyRequire);
};

}  // namespace sipsd

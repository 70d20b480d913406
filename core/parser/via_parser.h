// Via header values (RFC 3261 §20.42, RFC 3581 rport): one header value may hold several
// comma-separated via-parms; @via[N] and the proxy count them across all Via headers.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "core/parser/sip_msg.h"

namespace sipsd {

struct ViaBody {
  std::string_view raw;          // this via-parm, "SIP/2.0/UDP host:port;params"
  std::string_view protoName;    // "SIP"
  std::string_view protoVersion; // "2.0"
  std::string_view transport;    // "UDP" "TCP" "TLS" ...
  std::string_view host;         // as written; IPv6 references keep their brackets
  std::string_view portText;     // empty when absent
  uint16_t port = 0;             // 0 when absent
  std::string_view params;       // ";branch=...;rport" incl. the leading ';' (may be empty)
  std::string_view branch, received, maddr, ttl, rport;
  bool hasReceived = false;
  bool hasRport = false;         // rport present, with or without value
  const Header* header = nullptr;  // the header it came from (set by nthVia)
  bool lastInHeader = true;      // no further via-parm follows in the same header value
  std::string_view rest;         // the header value after this via-parm's comma (empty for the last)
};

// Parses the via-parm at the start of `s`. On success `rest` is the text after the separating
// comma (empty for the last one).
bool parseVia(std::string_view s, ViaBody& out, std::string_view& rest, std::string& err);

// The via-parm with 0-based index `n` counted across all Via headers in order.
// Returns false with `err` empty when there are fewer vias, or with `err` set when a Via is malformed.
bool nthVia(const SipMsg& msg, size_t n, ViaBody& out, std::string& err);
// The same without nthVia's per-thread cache of the top Via (which serves n == 0 of a message
// from parseMessage until its next parse).
bool nthViaUncached(const SipMsg& msg, size_t n, ViaBody& out, std::string& err);

// The host without IPv6 brackets ("[::1]" -> "::1").
std::string_view stripBrackets(std::string_view host);

}  // namespace sipsd

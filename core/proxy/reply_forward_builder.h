// Stateless relaying of a reply (RFC 3261 §16.7 step 3, §18.2.2): our Via comes off the top and
// the next Via says where the reply goes.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "core/net/sock_addr.h"
#include "core/parser/sip_msg.h"
#include "core/parser/via_parser.h"

namespace sipsd {

// Where a relayed reply goes, from the Via below ours.
struct ReplyHop {
  ViaBody via;              // the parsed next Via (views into the reply)
  Proto proto = Proto::None;  // from the Via transport; None for transports we do not serve
  std::string_view host;    // maddr, else received, else sent-by host; without IPv6 brackets
  uint16_t port = 0;        // rport value, else sent-by port, else 5061 (TLS) / 5060
  bool reliable = false;    // TCP/TLS: reuse the connection the request came on when it is still open
};

// Removes the first via-parm of the first Via header (the whole header line when it was the
// only value); everything else stays byte-identical. Fails on a reply without Via.
bool buildForwardedReply(const SipMsg& reply, std::string& out, std::string& err);

// Parses the Via below the top one (the second via-parm counted across Via headers).
// Fails (with `err`) when there is none or it is malformed.
bool nextReplyHop(const SipMsg& reply, ReplyHop& out, std::string& err);

}  // namespace sipsd

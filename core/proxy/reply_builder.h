// Stateless SIP replies to a request (RFC 3261 §8.2.6): status line, the request's Vias (top
// one with received/rport, RFC 3581), From, To (+tag), Call-ID, CSeq, Server, Content-Length.
#pragma once
#include <string>
#include <string_view>

#include "core/parser/sip_msg.h"
#include "core/script_context.h"

namespace sipsd {

struct SipReplyOptions {
  std::string_view toTag;         // empty: makeToTag(req)
  std::string_view extraHeaders;  // complete header lines (a missing final CRLF is added)
  std::string_view contentType;   // sent with a non-empty body
  std::string_view body;
  std::string_view createdVia;    // Via value from create_via(), used when the request has no Via
  bool forceRport = false;        // force_rport(): fill rport even when the client did not ask
  // An unparseable top Via is copied as received instead of failing: for the 400 that answers
  // it on the stream it came on (RFC 3261 §18.2.2), where no Via is needed to route the reply.
  bool verbatimBadVia = false;
};

// To-tag for a stateless reply: a hash of Call-ID, From-tag and the top Via branch keyed by a
// per-process secret, so retransmissions of a request get the same tag.
std::string makeToTag(const SipMsg& req);

// Builds the reply into `out`. Fails (with `err`) for a reply message, or a request without any
// Via and no createdVia. A 100 gets no To-tag (§8.2.6.2).
bool buildSipReply(const SipMsg& req, const ReceiveInfo& rcv, int code, std::string_view reason,
                   const SipReplyOptions& opt, std::string& out, std::string& err);

}  // namespace sipsd

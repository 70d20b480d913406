// Forwarding of a request (RFC 3261 §16.6), for forward() and tm's t_relay(): our Via on top,
// received/rport on the sender's Via, Max-Forwards decremented (or inserted), then the script's
// edit list (core/msg_edits.h: Record-Route, Route entries stripped, headers removed/appended);
// everything else byte-identical.
#pragma once
#include <string>
#include <string_view>

#include "core/msg_edits.h"
#include "core/parser/sip_msg.h"
#include "core/proxy/via_builder.h"
#include "core/script_context.h"

namespace sipsd {

struct ForwardOptions {
  bool forceRport = false;       // force_rport(): rport= (and received=) on the sender's Via
  std::string_view createdVia;   // create_via() value inserted below ours when the request has no Via
  std::string_view branch;       // empty: statelessBranch()
  // The script's edit list (may be null) and, for its Record-Route, the socket the request came
  // in on as we advertise it (the builder's `self` is the outgoing one). An empty inbound host
  // means "same as self".
  const MsgEdits* edits = nullptr;
  LocalVia inbound;
  std::string_view ruri;  // replaces the request-URI when not empty ($ru, lookup(), strict routing)
};

// "<sip:HOST:PORT;transport=tls;r2=on;lr...>" naming one of our sockets in a Record-Route.
void appendRecordRouteUri(std::string& out, const LocalVia& sock, bool r2, std::string_view params,
                          bool fullLr = false);

// Max-Forwards of a request: the value, -1 when absent, -2 when malformed.
int maxForwards(const SipMsg& req);

// True when the request must not be forwarded: Max-Forwards is 0 (the caller answers 483).
bool maxForwardsExhausted(const SipMsg& req);

// Builds the forwarded request into `out`. Fails for a non-request, a malformed top Via or
// Max-Forwards, or Max-Forwards 0 (check maxForwardsExhausted() first to answer 483).
bool buildForwardedRequest(const SipMsg& req, const ReceiveInfo& rcv, const LocalVia& self,
                           const ForwardOptions& opt, std::string& out, std::string& err);

}  // namespace sipsd

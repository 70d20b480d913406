// Stateless forwarding of a request (RFC 3261 §16.6): our Via on top, received/rport on the
// sender's Via, Max-Forwards decremented (or inserted); everything else byte-identical.
#pragma once
#include <string>
#include <string_view>

#include "core/parser/sip_msg.h"
#include "core/proxy/via_builder.h"
#include "core/script_context.h"

namespace sipsd {

struct ForwardOptions {
  bool forceRport = false;       // force_rport(): rport= (and received=) on the sender's Via
  std::string_view createdVia;   // create_via() value inserted below ours when the request has no Via
  std::string_view branch;       // empty: statelessBranch()
  std::string_view ruri;         // replaces the request-URI when not empty ($ru)
};

// Max-Forwards of a request: the value, -1 when absent, -2 when malformed.
int maxForwards(const SipMsg& req);

// True when the request must not be forwarded: Max-Forwards is 0 (the caller answers 483).
bool maxForwardsExhausted(const SipMsg& req);

// Builds the forwarded request into `out`. Fails for a non-request, a malformed top Via or
// Max-Forwards, or Max-Forwards 0 (check maxForwardsExhausted() first to answer 483).
bool buildForwardedRequest(const SipMsg& req, const ReceiveInfo& rcv, const LocalVia& self,
                           const ForwardOptions& opt, std::string& out, std::string& err);

}  // namespace sipsd

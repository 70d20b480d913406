// Requests tm makes itself on a branch, from the bytes it relayed on that branch: the
// hop-by-hop ACK for a non-2xx final reply (RFC 3261 §17.1.1.3) and the CANCEL (§9.1). Both
// carry the branch's request-URI, our Via only (same branch), its Route set, From, Call-ID
// and CSeq number; the ACK takes the To of the reply (with the UAS's tag).
#pragma once
#include <string>
#include <string_view>

#include "core/parser/sip_msg.h"

namespace sipsd::tm {

// `relayed` is the request as tm sent it on the branch. `reply` is the final reply being ACKed.
bool buildAck(std::string_view relayed, const SipMsg& reply, std::string& out, std::string& err);
bool buildCancel(std::string_view relayed, std::string& out, std::string& err);

}  // namespace sipsd::tm

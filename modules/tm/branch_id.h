// tm's Via branches and server transaction keys.
// Our branch names the worker that owns the transaction, the transaction and the branch:
// "z9hG4bKtm" W "." ID "." B (hex). A reply (or a CANCEL's reply) that arrives on another
// worker is posted to W without any shared table (DESIGN.md, "Proxy layer").
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/net/udp_reply_steering.h"
#include "core/parser/sip_msg.h"

namespace sipsd::tm {

struct BranchId {
  int worker = 0;
  uint64_t tx = 0;
  int branch = 0;
};

// The core's worker branch prefix: with the owner's index as the next hex digit, the kernel
// delivers UDP replies to the owning worker (core/net/udp_reply_steering.h).
constexpr std::string_view kBranchPrefix = kWorkerBranchPrefix;

std::string makeBranch(const BranchId& id);
// The same into a caller's buffer (no allocation per branch); the view points into `out`.
struct BranchText {
  char data[kBranchPrefix.size() + 52];  // three 64-bit hex numbers and two dots
};
std::string_view writeBranch(const BranchId& id, BranchText& out);
std::optional<BranchId> parseBranch(std::string_view branch);

// RFC 3261 §17.2.3 server transaction key of a request: top Via branch + sent-by + method (ACK
// and CANCEL look up the INVITE: pass matchMethod "INVITE"). Empty when the request has no Via
// with an RFC 3261 branch (z9hG4bK...): such a request is not matched statefully.
std::string serverKey(const SipMsg& req, std::string_view matchMethod);
// The same into `key` (reused: no allocation once it has grown); false (key empty) when none.
bool serverKeyInto(const SipMsg& req, std::string_view matchMethod, std::string& key);

}  // namespace sipsd::tm

// Via construction and editing shared by reply building and forwarding: received/rport on the
// sender's Via (RFC 3261 §18.2.1, RFC 3581), our own Via with a stateless branch (§16.11), and
// create_via() for requests that arrive without one.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "core/net/sock_addr.h"
#include "core/parser/sip_msg.h"
#include "core/parser/via_parser.h"
#include "core/script_context.h"

namespace sipsd {

// How this proxy names itself in a Via it inserts.
struct LocalVia {
  Proto proto = Proto::UDP;
  std::string_view host;  // IP or name; an IPv6 address gets brackets added when missing
  uint16_t port = 0;      // 0: leave the port out
};

// 64-bit keyed hash of the parts (with separators), keyed by a per-process random secret so tags
// and branches are not guessable but stay stable for retransmissions within the process.
uint64_t keyedHash(std::initializer_list<std::string_view> parts, uint64_t seed = 0);

// Appends the via-parm `v` (a view into its message) to `out` with received= set to the source
// IP when the sent-by host differs from it, and rport= filled with the source port when the Via
// has an empty rport (or always when `forceRport`). RFC 3581: when rport is filled, received is
// added even if the host matches. Returns true when the via was changed.
bool appendViaWithReceived(std::string& out, const ViaBody& v, const SockAddr& src, bool forceRport);

// Branch for the Via a stateless proxy inserts: "z9hG4bK" + a hash of the incoming top branch
// (or, for RFC 2543 requests, of the transaction-identifying fields), so a retransmission, the
// CANCEL and the non-2xx ACK of a request get the same branch (RFC 3261 §16.11).
std::string statelessBranch(const SipMsg& req, const ViaBody* top);
// The same appended to `out`.
void appendStatelessBranch(std::string& out, const SipMsg& req, const ViaBody* top);

// "SIP/2.0/TLS host:port;branch=BRANCH;rport" (value only).
std::string makeViaValue(const LocalVia& self, std::string_view branch, bool rport = true);
// The same appended to `out` (the forward builder writes it straight into its edit buffer).
void appendViaValue(std::string& out, const LocalVia& self, std::string_view branch, bool rport = true);

// create_via(): a Via value naming the sender as seen by us ("SIP/2.0/TCP src-ip:src-port;
// branch=z9hG4bK...;rport=src-port"), for requests without a Via (XML-RPC over HTTP) so that a
// reply can be built and routed. The branch is derived from the message so it is stable.
std::string createViaValue(const SipMsg& req, const ReceiveInfo& rcv);

// Appends a header line's raw text, normalizing its line end to CRLF.
void appendLine(std::string& out, std::string_view raw);

}  // namespace sipsd

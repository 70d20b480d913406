// Everything a route script run can see and change for one message.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/net/sock_addr.h"
#include "core/parser/sip_msg.h"

namespace sipsd {

class TransportSession;
class CoreApi;

// Where and how a message arrived.
struct ReceiveInfo {
  Proto proto = Proto::None;
  SockAddr src;
  SockAddr dst;                         // the local listen address it arrived on
  uint64_t connId = 0;                  // 0 for UDP
  int worker = -1;
  TransportSession* session = nullptr;  // the tls module's session for TLS, else null
};

enum class RouteKind : uint8_t { Request, OnReply };

struct ScriptContext {
  SipMsg& msg;
  const ReceiveInfo& rcv;
  CoreApi& core;
  RouteKind route = RouteKind::Request;

  // Set by actions while the script runs.
  bool dropped = false;        // drop: send nothing further (for replies: do not relay)
  bool replied = false;        // a reply was already sent statelessly
  bool forceRport = false;     // force_rport()
  std::string connectServerId; // tls_set_connect_server_id()
  std::string* viaToInsert = nullptr;  // create_via() bookkeeping (core-owned)
  // Request-URI and next-hop URI as the script set them ($ru / $du, lookup(), loose_route());
  // empty = unchanged (the message's own R-URI; no explicit destination). forward() and
  // t_relay() honour both: the R-URI goes into the request line, $du decides where it is sent.
  std::string newRuri;
  std::string dstUri;
  // Further targets after newRuri/dstUri, in order (lookup() with several contacts, best q
  // first): t_relay() forks to every one (parallel branches); forward() uses newRuri/dstUri only.
  struct Branch {
    std::string ruri;
    std::string dstUri;  // empty = where ruri points
  };
  std::vector<Branch> extraBranches;

  ScriptContext(SipMsg& m, const ReceiveInfo& r, CoreApi& c) : msg(m), rcv(r), core(c) {}
};

}  // namespace sipsd

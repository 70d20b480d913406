// Everything a route script run can see and change for one message.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/msg_edits.h"
#include "core/net/sock_addr.h"
#include "core/net/transport.h"
#include "core/parser/sip_msg.h"
#include "core/script_vars.h"

namespace sipsd {

class CoreApi;

// Where and how a message arrived.
struct ReceiveInfo {
  Proto proto = Proto::None;
  SockAddr src;
  SockAddr dst;                         // the local listen address it arrived on
  uint64_t connId = 0;                  // 0 for UDP
  int worker = -1;
  // The top of the connection's session stack (null: a plain connection or a datagram). A
  // module reaches its own layer with layer<T>(); the core never looks inside.
  TransportSession* session = nullptr;

  template <class T>
  const T* layer() const { return findLayer<T>(session); }
  // Whether the message came over a secure layer (whatever the protocol's name).
  bool secure() const { return stackSecure(session); }
};

// Failure: tm's failure_route[NAME], run on the transaction's request when all branches failed.
// Branch: tm's branch_route[NAME], run on the request once per outgoing branch before it is built.
enum class RouteKind : uint8_t { Request, OnReply, Failure, Branch };

struct ScriptContext {
  SipMsg& msg;
  const ReceiveInfo& rcv;
  CoreApi& core;
  RouteKind route = RouteKind::Request;

  // Set by actions while the script runs.
  bool dropped = false;        // drop: send nothing further (for replies: do not relay)
  bool replied = false;        // a reply was already sent statelessly
  bool forceRport = false;     // force_rport()
  // Options for connections a relay of this message opens (a transport module's script
  // function fills them: tls_set_connect_server_id() picks a client profile).
  ConnectOptions connect;
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
    uint32_t bflags = 0;  // its branch flags (lookup(): the contact's saved flags)
  };
  std::vector<Branch> extraBranches;
  // tm: the status of the reply that a failure_route / onreply_route[NAME] runs for
  // ($T_reply_code); 0 outside those routes.
  int tReplyCode = 0;
  // tm: the index of the branch a branch_route runs for ($T_branch_idx); 0 elsewhere.
  int tBranchIndex = 0;
  // Kamailio's message flags (setflag(), 0..31) and the branch flags of the current branch
  // (setbflag(); branch 0, the R-URI's, in the request route), and the $avp values. tm takes
  // them into the transaction at t_relay() and hands them to its failure_route/onreply_route.
  uint32_t flags = 0;
  uint32_t bflags = 0;
  AvpList avps;
  // $rc / $retcode: what the last function or route(NAME) called returned.
  int lastRc = 1;
  // Header edits applied when the request is relayed (append_hf, remove_hf, record_route, loose_route).
  MsgEdits edits;

  ScriptContext(SipMsg& m, const ReceiveInfo& r, CoreApi& c) : msg(m), rcv(r), core(c) {}
};

}  // namespace sipsd

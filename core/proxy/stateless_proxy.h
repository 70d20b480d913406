// The stateless proxy (RFC 3261 §16.11): forward()/forward_*() and create_via()/force_rport()
// for the script, relaying of replies by their next Via, and the error replies a forward that
// cannot be delivered owes its sender. All sends go through the engine and never block.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/module_api.h"
#include "core/net/server.h"
#include "core/script/proxy_actions.h"

namespace sipsd {

struct PendingForward;

class StatelessProxy : public ProxyActions {
 public:
  StatelessProxy() = default;
  // The engine is created after the config is loaded; forward() is only called once attached.
  void attach(Server* server) { server_ = server; }

  int forward(ScriptContext& ctx, std::optional<std::string_view> host, std::optional<uint16_t> port,
              Proto proto) override;
  int createVia(ScriptContext& ctx) override;
  int forceRport(ScriptContext& ctx) override;

  // Relays a reply that passed onreply_route to the address its next Via names; over TCP/TLS
  // on the connection the request came on when it is still open.
  void relayReply(ScriptContext& ctx);
  // Answers a request statelessly (400 for malformed requests, 483, 503...). Not for ACK.
  bool replyError(ScriptContext& ctx, int code, std::string_view reason);
  // CoreApi::prepareRelay: the request as forward() would send it, with Via branch rq.branch.
  void prepareRelay(ScriptContext& ctx, const RelayRequest& rq, RelayDone done);
  // A datagram out of our UDP listen socket of dest's family; logs and returns false on failure.
  bool sendDatagram(const SockAddr& dest, std::string_view data, std::function<void(int err)> sent = {});
  // The local address a message to a destination of `family` leaves from (and Via names).
  std::optional<SockAddr> localFor(Proto proto, int family) const;

 private:
  struct Target {
    Proto proto = Proto::UDP;
    std::string host;  // literal IP or a name to resolve
    uint16_t port = 0;
  };
  // A forward's destination, built and ready to resolve/send.
  struct Prepared {
    Target target;
    ConnectOptions copt;
    std::optional<SockAddr> literal;  // the destination when target.host is an IP literal
    std::string data;
  };
  // The destination from a SIP/SIPS URI (;transport=, maddr, sips: -> TLS).
  bool targetFromUri(std::string_view uri, Target& out, std::string& err) const;
  // A datagram out of the UDP listen socket of dest's family; logs and returns false on failure.
  bool sendUdp(const SockAddr& dest, std::string_view data, std::function<void(int err)> sent = {});
  bool buildForward(ScriptContext& ctx, Proto proto, int family, std::string_view branch, std::string& out);
  // Target (rq's host, else $du, else $ru / the request URI) and the forwarded bytes; on
  // failure the status the sender is owed.
  bool prepare(ScriptContext& ctx, const RelayRequest& rq, Prepared& p, int& code, std::string_view& reason);
  void deliver(Proto proto, const SockAddr& dest, std::string data, const ConnectOptions& copt,
               std::shared_ptr<PendingForward> pending);

  Server* server_ = nullptr;
};

}  // namespace sipsd

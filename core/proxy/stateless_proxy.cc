#include "core/proxy/stateless_proxy.h"

#include <memory>

#include "core/log.h"
#include "core/log_throttle.h"
#include "core/module_api.h"
#include "core/parser/msg_parser.h"
#include "core/parser/param_list.h"
#include "core/parser/parse_util.h"
#include "core/parser/uri_parser.h"
#include "core/parser/via_parser.h"
#include "core/proxy/reply_builder.h"
#include "core/proxy/reply_forward_builder.h"
#include "core/proxy/request_forward_builder.h"
#include "core/proxy/via_builder.h"

namespace sipsd {

// What an asynchronous failure (DNS, connect, handshake) needs to answer the sender after the
// script run is over: the request and where it came from. Only made for sends that can fail
// later, so the UDP fast path copies nothing.
struct PendingForward {
  std::string raw;
  ReceiveInfo rcv;
};

namespace {

uint16_t defaultPort(Proto p) { return p == Proto::TLS ? 5061 : 5060; }

void logProxy(int level, const std::string& text) { logging::write(level, "proxy", text); }

// For what bad network input causes, once per message: at most one line a second per worker
// thread, with the count of those left out.
void logInput(int level, const std::string& text) {
  thread_local LogThrottle throttle;
  if (logging::enabled(level) && throttle.allow()) logProxy(level, text + throttle.note());
}

bool isAck(const SipMsg& m) { return m.method == "ACK"; }

std::shared_ptr<PendingForward> keepForErrors(const ScriptContext& ctx) {
  if (isAck(ctx.msg)) return nullptr;  // an ACK is never answered
  auto p = std::make_shared<PendingForward>();
  p->raw.assign(ctx.msg.buf);
  p->rcv = ctx.rcv;
  p->rcv.session = nullptr;  // the connection may be gone by then
  return p;
}

// Builds and sends an error reply for a request that is no longer in a script run.
void answerLater(Server* server, const PendingForward& p, int code, std::string_view reason) {
  SipMsg msg;
  std::string err, out;
  if (!parseMessage(p.raw, msg, err)) return;
  if (!buildSipReply(msg, p.rcv, code, reason, SipReplyOptions{}, out, err)) {
    logInput(kLogWarn, "cannot answer " + std::to_string(code) + " to " + p.rcv.src.str() + ": " + logging::escaped(err, 160));
    return;
  }
  if (p.rcv.proto == Proto::UDP)
    server->sendUdp(p.rcv.dst, p.rcv.src, out);
  else
    server->sendOnConnection(p.rcv.connId, std::move(out));
}

}  // namespace

bool StatelessProxy::targetFromRuri(const SipMsg& msg, Target& out, std::string& err) const {
  SipUri uri;
  if (!parseUri(msg.ruri, uri, err)) return false;
  if (uri.scheme == SipUri::Scheme::Tel || uri.host.empty()) {
    err = "request URI has no host to forward to";
    return false;
  }
  out.proto = uri.scheme == SipUri::Scheme::Sips ? Proto::TLS : Proto::UDP;
  if (auto t = findParam(uri.params, "transport")) {
    if (auto p = protoFromName(*t))
      out.proto = (uri.scheme == SipUri::Scheme::Sips && *p == Proto::TCP) ? Proto::TLS : *p;
    else {
      err = "unsupported transport '" + std::string(*t) + "' in the request URI";
      return false;
    }
  }
  if (auto maddr = findParam(uri.params, "maddr"); maddr && !maddr->empty())
    out.host = std::string(stripBrackets(*maddr));
  else
    out.host = std::string(stripBrackets(uri.host));
  out.port = uri.port;
  return true;
}

std::optional<SockAddr> StatelessProxy::localFor(Proto proto, int family) const {
  if (auto a = server_->listenAddressFor(proto, family)) return a;
  // No listener of that transport: name one of the same family so replies still find us.
  for (Proto p : {Proto::UDP, Proto::TCP, Proto::TLS})
    if (auto a = server_->listenAddressFor(p, family)) return a;
  return server_->listenAddressFor(proto, 0);
}

bool StatelessProxy::replyError(ScriptContext& ctx, int code, std::string_view reason) {
  if (!ctx.msg.isRequest() || ctx.msg.isHttp() || isAck(ctx.msg)) return false;
  std::string out, err;
  SipReplyOptions opt;
  if (ctx.viaToInsert) opt.createdVia = *ctx.viaToInsert;
  if (!buildSipReply(ctx.msg, ctx.rcv, code, reason, opt, out, err)) {
    logInput(kLogWarn, "cannot answer " + std::to_string(code) + " to " + ctx.rcv.src.str() + ": " + logging::escaped(err, 160));
    return false;
  }
  ctx.replied = ctx.core.sendReply(ctx, out);
  return ctx.replied;
}

bool StatelessProxy::buildForward(ScriptContext& ctx, Proto proto, int family, std::string& out) {
  auto local = localFor(proto, family);
  if (!local) {
    logProxy(kLogErr, "no listen address to put in the Via of a forwarded request");
    return false;
  }
  std::string host = local->ip();
  LocalVia self{proto, host, local->port()};
  ForwardOptions opt;
  // Over TCP/TLS the sender's Via always gets received/rport: the reply then finds the very
  // connection the request came on (RFC 3261 §18.2.2) even when the client did not ask.
  opt.forceRport = ctx.forceRport || ctx.rcv.proto == Proto::TCP || ctx.rcv.proto == Proto::TLS;
  if (ctx.viaToInsert) opt.createdVia = *ctx.viaToInsert;
  std::string err;
  if (!buildForwardedRequest(ctx.msg, ctx.rcv, self, opt, out, err)) {
    logInput(kLogNotice, "cannot forward request from " + ctx.rcv.src.str() + ": " + logging::escaped(err, 160));
    return false;
  }
  return true;
}

bool StatelessProxy::sendUdp(const SockAddr& dest, std::string_view data) {
  auto local = localFor(Proto::UDP, dest.family());
  if (server_->sendUdp(local ? *local : SockAddr(), dest, data)) return true;
  logProxy(kLogNotice, "cannot send to udp:" + dest.str());
  return false;
}

void StatelessProxy::deliver(Proto proto, const SockAddr& dest, std::string data, const ConnectOptions& copt,
                             std::shared_ptr<PendingForward> pending) {
  if (proto == Proto::UDP) {
    if (!sendUdp(dest, data) && pending) answerLater(server_, *pending, 503, "Service Unavailable");
    return;
  }
  Server* server = server_;
  std::string target = std::string(protoName(proto)) + ":" + dest.str();
  server_->sendTo(proto, dest, std::move(data), copt,
                  [server, pending, target](bool ok, const std::string& err) {
                    if (ok) return;
                    logProxy(kLogNotice, "forward to " + target + " failed: " + err);
                    if (pending) answerLater(server, *pending, 503, "Service Unavailable");
                  });
}

int StatelessProxy::forward(ScriptContext& ctx, std::optional<std::string_view> host,
                            std::optional<uint16_t> port, Proto proto) {
  SipMsg& msg = ctx.msg;
  if (!msg.isRequest() || msg.isHttp()) {
    logProxy(kLogWarn, "forward() applies to SIP requests only (from " + ctx.rcv.src.str() + ")");
    return -1;
  }
  if (maxForwardsExhausted(msg)) {
    replyError(ctx, 483, "Too Many Hops");
    return 0;
  }
  Target t;
  std::string err;
  if (host) {
    t.host = std::string(stripBrackets(*host));
    t.proto = proto == Proto::None ? Proto::UDP : proto;
    t.port = port.value_or(0);
  } else {
    if (!targetFromRuri(msg, t, err)) {
      logInput(kLogNotice, "cannot forward request from " + ctx.rcv.src.str() + ": " + logging::escaped(err, 160));
      replyError(ctx, 400, "Bad Request-URI");
      return -1;
    }
    if (proto != Proto::None) t.proto = proto;
  }
  if (t.port == 0) t.port = defaultPort(t.proto);
  if (t.proto == Proto::TLS && !server_->transportFor(Proto::TLS)) {
    logProxy(kLogErr, "forward over TLS to " + t.host + " needs the tls module");
    replyError(ctx, 503, "Service Unavailable");
    return -1;
  }

  ConnectOptions copt;
  copt.serverId = ctx.connectServerId;
  auto literal = SockAddr::fromIpPort(t.host, t.port);
  if (!literal) copt.serverName = t.host;  // SNI and certificate name check for TLS

  std::string data;
  if (!buildForward(ctx, t.proto, literal ? literal->family() : AF_INET, data)) {
    replyError(ctx, 400, "Bad Request");
    return -1;
  }
  // Stream sends and name lookups can fail after this run is over: keep what an error
  // reply needs. A UDP send to a literal address fails (or not) right here.
  if (literal && t.proto == Proto::UDP) {
    if (sendUdp(*literal, data)) return 1;
    replyError(ctx, 503, "Service Unavailable");
    return -1;
  }
  auto pending = keepForErrors(ctx);
  if (literal) {
    deliver(t.proto, *literal, std::move(data), copt, std::move(pending));
    return 1;
  }
  uint16_t portNum = t.port;
  Proto p = t.proto;
  std::string name = t.host;
  server_->resolve(name, [this, p, portNum, name, data = std::move(data), copt, pending](
                             std::optional<SockAddr> addr, std::string rerr) mutable {
    std::optional<SockAddr> dest;
    if (addr) dest = SockAddr::fromIpPort(addr->ip(), portNum);
    if (!dest) {
      logProxy(kLogNotice, "cannot resolve " + name + ": " + rerr);
      if (pending) answerLater(server_, *pending, 478, "Unresolvable destination");
      return;
    }
    deliver(p, *dest, std::move(data), copt, std::move(pending));
  });
  return 1;
}

int StatelessProxy::createVia(ScriptContext& ctx) {
  if (ctx.msg.isRequest() && !findHeader(ctx.msg, HdrType::Via)) {
    // One per worker thread: valid for the rest of this script run, no allocation per message
    // once grown.
    thread_local std::string created;
    created = createViaValue(ctx.msg, ctx.rcv);
    ctx.viaToInsert = &created;
  }
  return 1;
}

int StatelessProxy::forceRport(ScriptContext& ctx) {
  ctx.forceRport = true;
  return 1;
}

void StatelessProxy::relayReply(ScriptContext& ctx) {
  // Only replies to requests we forwarded carry our Via on top.
  ViaBody top;
  std::string err;
  if (!nthVia(ctx.msg, 0, top, err)) {
    logInput(kLogNotice, "dropping reply without a usable Via from " + ctx.rcv.src.str());
    return;
  }
  auto mine = SockAddr::fromIpPort(stripBrackets(top.host), top.port ? top.port : 5060);
  bool ours = false;
  if (mine)
    for (const auto& l : server_->listenAddresses())
      if (l.addr == *mine) ours = true;
  if (!ours) {
    logProxy(kLogInfo, "dropping reply from " + ctx.rcv.src.str() + ": top Via " + std::string(top.raw) + " is not ours");
    return;
  }
  ReplyHop hop;
  if (!nextReplyHop(ctx.msg, hop, err)) {
    logInput(kLogNotice, "dropping reply from " + ctx.rcv.src.str() + ": " + logging::escaped(err, 160));
    return;
  }
  if (hop.proto == Proto::None) {
    logInput(kLogNotice, "dropping reply from " + ctx.rcv.src.str() + ": unsupported Via transport");
    return;
  }
  std::string out;
  if (!buildForwardedReply(ctx.msg, out, err)) {
    logInput(kLogNotice, "dropping reply from " + ctx.rcv.src.str() + ": " + logging::escaped(err, 160));
    return;
  }
  auto dest = SockAddr::fromIpPort(hop.host, hop.port);
  if (!dest) {
    // A name in the Via: resolve it (rare: clients normally get received= from us).
    std::string name(hop.host);
    uint16_t port = hop.port;
    Proto p = hop.proto;
    server_->resolve(name, [this, p, port, name, out = std::move(out)](std::optional<SockAddr> a, std::string e) mutable {
      auto d = a ? SockAddr::fromIpPort(a->ip(), port) : std::nullopt;
      if (!d) {
        logProxy(kLogNotice, "cannot relay a reply to " + name + ": " + e);
        return;
      }
      deliver(p, *d, std::move(out), ConnectOptions{}, nullptr);
    });
    return;
  }
  if (hop.reliable) {
    // RFC 3261 §18.2.2: over the connection the request came on while it is open.
    if (uint64_t id = server_->findConnection(hop.proto, *dest); id && server_->sendOnConnection(id, out)) return;
  }
  deliver(hop.proto, *dest, std::move(out), ConnectOptions{}, nullptr);
}

}  // namespace sipsd

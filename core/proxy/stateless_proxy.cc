#include "core/proxy/stateless_proxy.h"

#include <memory>

#include "core/log.h"
#include "core/log_throttle.h"
#include "core/module_api.h"
#include "core/net/connect_backoff.h"
#include "core/net/listen_requirement.h"
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

bool StatelessProxy::targetFromUri(std::string_view text, Target& out, std::string& err) const {
  SipUri uri;
  if (!parseUri(text, uri, err)) return false;
  if (uri.scheme == SipUri::Scheme::Tel || uri.host.empty()) {
    err = "'" + std::string(text.substr(0, 80)) + "' has no host to forward to";
    return false;
  }
  out.proto = uri.scheme == SipUri::Scheme::Sips ? Proto::TLS : Proto::UDP;
  if (auto t = findParam(uri.params, "transport")) {
    if (auto p = protoFromName(*t))
      out.proto = (uri.scheme == SipUri::Scheme::Sips && *p == Proto::TCP) ? Proto::TLS : *p;
    else {
      err = "unsupported transport '" + std::string(*t) + "' in '" + std::string(text.substr(0, 80)) + "'";
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
  // Only a socket of the outgoing transport: a Via says where a reply or a new connection for
  // it may come, so "SIP/2.0/TLS" must name a TLS listener, never the UDP port (issue 9).
  // Without one of that family, one of the other family still names a real socket of ours.
  if (auto a = server_->listenAddressFor(proto, family)) return a;
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

bool StatelessProxy::buildForward(ScriptContext& ctx, Proto proto, int family, std::string_view branch,
                                  std::string& out) {
  auto local = localFor(proto, family);
  if (!local) {
    logProxy(kLogErr, "no listen address to put in the Via of a forwarded request");
    return false;
  }
  // advertise= decides how we name ourselves (Via, Record-Route).
  const LocalAddresses& me = server_->localAddresses();
  SocketName outName = me.nameOf(proto, *local);
  LocalVia self{proto, outName.host, outName.port};
  ForwardOptions opt;
  // Over TCP/TLS the sender's Via always gets received/rport: the reply then finds the very
  // connection the request came on (RFC 3261 §18.2.2) even when the client did not ask.
  opt.forceRport = ctx.forceRport || isStreamProto(ctx.rcv.proto);
  if (ctx.viaToInsert) opt.createdVia = *ctx.viaToInsert;
  opt.branch = branch;
  opt.ruri = ctx.newRuri;
  opt.edits = &ctx.edits;
  SocketName inName;
  if (ctx.edits.recordRoute.enabled && ctx.rcv.dst.valid()) {
    inName = me.nameOf(ctx.rcv.proto, ctx.rcv.dst);
    opt.inbound = LocalVia{ctx.rcv.proto, inName.host, inName.port};
  }
  std::string err;
  if (!buildForwardedRequest(ctx.msg, ctx.rcv, self, opt, out, err)) {
    logInput(kLogNotice, "cannot forward request from " + ctx.rcv.src.str() + ": " + logging::escaped(err, 160));
    return false;
  }
  return true;
}

bool StatelessProxy::prepare(ScriptContext& ctx, const RelayRequest& rq, Prepared& p, int& code,
                             std::string_view& reason) {
  SipMsg& msg = ctx.msg;
  if (maxForwardsExhausted(msg)) {
    code = 483;
    reason = "Too Many Hops";
    return false;
  }
  Target& t = p.target;
  std::string err;
  if (rq.host) {
    t.host = std::string(stripBrackets(*rq.host));
    t.proto = rq.proto == Proto::None ? Proto::UDP : rq.proto;
    t.port = rq.port.value_or(0);
  } else {
    // $du decides where the request goes; without it the request URI ($ru when set) does.
    std::string_view uri = !ctx.dstUri.empty() ? std::string_view(ctx.dstUri)
                           : !ctx.newRuri.empty() ? std::string_view(ctx.newRuri)
                                                  : msg.ruri;
    if (!targetFromUri(uri, t, err)) {
      logInput(kLogNotice, "cannot forward request from " + ctx.rcv.src.str() + ": " + logging::escaped(err, 160));
      code = 400;
      reason = "Bad Request-URI";
      return false;
    }
    if (rq.proto != Proto::None) t.proto = rq.proto;
  }
  if (t.port == 0) t.port = defaultPort(t.proto);
  if (!server_->transports().available(t.proto)) {
    logProxy(kLogErr, "forward over " + std::string(protoName(t.proto)) + " to " + t.host + " needs the " +
                          std::string(protoToken(t.proto)) + " module");
    code = 503;
    reason = "Service Unavailable";
    return false;
  }
  p.literal = SockAddr::fromIpPort(t.host, t.port);
  const int family = p.literal ? p.literal->family() : AF_INET;
  if (!localFor(t.proto, family)) {
    // sips:, ;transport= or $du asked for a transport we do not listen on (forward_tls() and
    // friends are refused at load): our Via could only name a socket of another transport.
    const std::string scheme(listenScheme(t.proto));
    logInput(kLogErr, "cannot forward to " + scheme + ":" + t.host + ":" + std::to_string(t.port) +
                          ": no listen=" + scheme + ":... socket to name in the Via");
    code = 503;
    reason = "Service Unavailable";
    return false;
  }
  p.copt.profile = ctx.connect.profile;
  if (!p.literal) p.copt.serverName = t.host;  // SNI and certificate name check for TLS
  if (!buildForward(ctx, t.proto, family, rq.branch, p.data)) {
    code = 400;
    reason = "Bad Request";
    return false;
  }
  return true;
}

void StatelessProxy::prepareRelay(ScriptContext& ctx, const RelayRequest& rq, RelayDone done) {
  if (!ctx.msg.isRequest() || ctx.msg.isHttp()) {
    done(nullptr, 400, "Bad Request");
    return;
  }
  Prepared p;
  int code = 0;
  std::string_view reason;
  if (!prepare(ctx, rq, p, code, reason)) {
    done(nullptr, code, reason);
    return;
  }
  if (p.literal) {
    RelayTarget rt{p.target.proto, *p.literal, std::move(p.data), std::move(p.copt)};
    done(&rt, 0, {});
    return;
  }
  std::string name = p.target.host;
  server_->resolve(name, [p = std::move(p), name, done = std::move(done)](std::optional<SockAddr> addr,
                                                                          std::string rerr) mutable {
    std::optional<SockAddr> dest;
    if (addr) dest = SockAddr::fromIpPort(addr->ip(), p.target.port);
    if (!dest) {
      logProxy(kLogNotice, "cannot resolve " + name + ": " + rerr);
      done(nullptr, 478, "Unresolvable destination");
      return;
    }
    RelayTarget rt{p.target.proto, *dest, std::move(p.data), std::move(p.copt)};
    done(&rt, 0, {});
  });
}

bool StatelessProxy::sendDatagram(const SockAddr& dest, std::string_view data, std::function<void(int err)> sent) {
  return sendUdp(dest, data, std::move(sent));
}

bool StatelessProxy::sendUdp(const SockAddr& dest, std::string_view data, std::function<void(int err)> sent) {
  auto local = localFor(Proto::UDP, dest.family());
  if (server_->sendUdp(local ? *local : SockAddr(), dest, data, std::move(sent))) return true;
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
                    logInput(kLogNotice, "forward to " + target + " failed: " + err);
                    // A failed connect or handshake is named in the reason ("TLS handshake to
                    // 127.0.0.1:5071 failed"); other errors are internal and stay generic.
                    if (pending)
                      answerLater(server, *pending, 503,
                                  ConnectBackoff::isFailureText(err) ? std::string_view(err) : "Service Unavailable");
                  });
}

int StatelessProxy::forward(ScriptContext& ctx, std::optional<std::string_view> host,
                            std::optional<uint16_t> port, Proto proto) {
  SipMsg& msg = ctx.msg;
  if (!msg.isRequest() || msg.isHttp()) {
    logProxy(kLogWarn, "forward() applies to SIP requests only (from " + ctx.rcv.src.str() + ")");
    return -1;
  }
  Prepared p;
  int code = 0;
  std::string_view reason;
  if (!prepare(ctx, RelayRequest{host, port, proto, {}}, p, code, reason)) {
    replyError(ctx, code, reason);
    return code == 483 ? 0 : -1;
  }
  // Stream sends and name lookups can fail after this run is over: keep what an error
  // reply needs. A UDP send to a literal address fails (or not) right here.
  if (p.literal && p.target.proto == Proto::UDP) {
    if (sendUdp(*p.literal, p.data)) return 1;
    replyError(ctx, 503, "Service Unavailable");
    return -1;
  }
  auto pending = keepForErrors(ctx);
  if (p.literal) {
    deliver(p.target.proto, *p.literal, std::move(p.data), p.copt, std::move(pending));
    return 1;
  }
  uint16_t portNum = p.target.port;
  Proto pr = p.target.proto;
  std::string name = p.target.host;
  server_->resolve(name, [this, pr, portNum, name, data = std::move(p.data), copt = p.copt, pending](
                             std::optional<SockAddr> addr, std::string rerr) mutable {
    std::optional<SockAddr> dest;
    if (addr) dest = SockAddr::fromIpPort(addr->ip(), portNum);
    if (!dest) {
      logProxy(kLogNotice, "cannot resolve " + name + ": " + rerr);
      if (pending) answerLater(server_, *pending, 478, "Unresolvable destination");
      return;
    }
    deliver(pr, *dest, std::move(data), copt, std::move(pending));
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
  // Our Via names a listen address or its advertise= name.
  Proto viaProto = protoFromName(top.transport).value_or(Proto::None);
  uint16_t viaPort = top.port ? top.port : defaultPort(viaProto);
  if (!server_->localAddresses().isMyself(top.host, viaPort, Proto::None)) {
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

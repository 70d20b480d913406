#include "core/server/message_dispatcher.h"

#include "core/config/loaded_config.h"
#include "core/log.h"
#include "core/log_throttle.h"
#include "core/parser/cseq_parser.h"
#include "core/parser/msg_parser.h"
#include "core/parser/name_addr_parser.h"
#include "core/parser/via_parser.h"
#include "core/proxy/http_reply_builder.h"
#include "core/proxy/reply_builder.h"
#include "core/proxy/stateless_proxy.h"
#include "core/server/core_metrics.h"
#include "core/script/executor.h"

namespace sipsd {
namespace {

void logMsg(int level, const std::string& text) { logging::write(level, "core", text); }

std::string_view firstLineOf(std::string_view raw) {
  size_t e = raw.find("\r\n");
  return raw.substr(0, e == std::string_view::npos ? std::min<size_t>(raw.size(), 80) : std::min<size_t>(e, 80));
}

// Reason phrases may not hold CR/LF; the parser's messages are one line already.
std::string reasonFor(std::string_view what) {
  // Bounded and printable: the text may echo what the peer sent.
  constexpr size_t kMax = 120;
  std::string r = "Bad Request (";
  for (size_t i = 0; i < what.size() && i < kMax; ++i) {
    auto c = static_cast<unsigned char>(what[i]);
    r += (c < 0x20 || c == 0x7f) ? ' ' : char(c);
  }
  if (what.size() > kMax) r += "...";
  r += ')';
  return r;
}

}  // namespace

MessageDispatcher::MessageDispatcher(LoadedConfig& cfg, StatelessProxy& proxy) : cfg_(cfg), proxy_(proxy) {
  for (const ModuleExports* m : cfg_.registry.modules()) {
    if (m->onRequestIn) requestHooks_.push_back(m);
    if (m->onReplyIn) replyHooks_.push_back(m);
  }
}

std::string MessageDispatcher::checkRequest(const SipMsg& msg) {
  std::string err;
  ViaBody via;
  if (findHeader(msg, HdrType::Via) && !nthVia(msg, 0, via, err))
    return "Via: " + (err.empty() ? std::string("malformed") : err);
  const Header* cseq = findHeader(msg, HdrType::CSeq);
  if (!cseq) return "missing CSeq";
  CSeqBody cs;
  if (!parseCSeq(cseq->value, cs, err)) return "CSeq: " + err;
  if (cs.method != msg.method && !(msg.method == "ACK" || msg.method == "CANCEL"))
    return "CSeq method does not match the request method";
  if (!findHeader(msg, HdrType::CallId)) return "missing Call-ID";
  for (HdrType t : {HdrType::From, HdrType::To}) {
    const Header* h = findHeader(msg, t);
    if (!h) return t == HdrType::From ? "missing From" : "missing To";
    NameAddr na;
    std::string_view rest;
    if (!parseNameAddr(h->value, na, rest, false, err))
      return std::string(t == HdrType::From ? "From: " : "To: ") + err;
  }
  return {};
}

void MessageDispatcher::answerUnparseable(std::string_view raw, const ReceiveInfo& rcv, const std::string& err) {
  // Per worker thread: a flood of garbage costs one line a second, with the count.
  thread_local LogThrottle throttle;
  if (throttle.allow())
    logMsg(kLogNotice, "malformed message from " + std::string(protoName(rcv.proto)) + ":" + rcv.src.str() + ": " +
                           logging::escaped(err, 160) + " [" + std::string(firstLineOf(raw)) + "]" + throttle.note());
  // A datagram that cannot be parsed is dropped (SPEC §7). On a stream the framing is still
  // sound, so the peer gets a minimal 400 it can log, and the connection lives on.
  if (rcv.proto == Proto::UDP) return;
  std::string_view first = firstLineOf(raw);
  std::string out;
  if (first.find("HTTP/") != std::string_view::npos) {
    HttpResponse r;
    r.code = 400;
    r.reason = "Bad Request";
    out = buildHttpResponse(r);
  } else if (first.find("SIP/2.0") != std::string_view::npos && first.substr(0, 7) != "SIP/2.0") {
    out = "SIP/2.0 400 " + reasonFor(err) + "\r\nContent-Length: 0\r\n\r\n";
  } else {
    return;
  }
  SipMsg dummy;
  ScriptContext ctx(dummy, rcv, *cfg_.coreApi);
  cfg_.coreApi->sendReply(ctx, out);
}

void MessageDispatcher::onMessage(std::string_view raw, const ReceiveInfo& rcv) {
  // One message object per worker: its header vector is reused, so parsing allocates nothing
  // once warmed up.
  thread_local SipMsg msg;
  std::string err;
  if (!parseMessage(raw, msg, err)) {
    answerUnparseable(raw, rcv, err);
    return;
  }
  ScriptContext ctx(msg, rcv, *cfg_.coreApi);
  if (msg.isRequest())
    onRequest(ctx);
  else
    onReply(ctx);
}

void MessageDispatcher::onRequest(ScriptContext& ctx) {
  if (!ctx.msg.isHttp()) {
    std::string bad = checkRequest(ctx.msg);
    if (!bad.empty()) {
      thread_local LogThrottle throttle;
      if (throttle.allow())
        logMsg(kLogNotice, "bad " + logging::escaped(ctx.msg.method, 32) + " from " + std::string(protoName(ctx.rcv.proto)) +
                               ":" + ctx.rcv.src.str() + ": " + logging::escaped(bad, 160) + throttle.note());
      if (!proxy_.replyError(ctx, 400, reasonFor(bad))) answerOnStream(ctx, 400, reasonFor(bad));
      return;
    }
  }
  ctx.route = RouteKind::Request;
  if (!ctx.msg.isHttp())
    for (const ModuleExports* m : requestHooks_)
      if (m->onRequestIn(ctx)) return;
  int main = script::mainRoute(*cfg_.script);
  try {
    if (main >= 0) script::runRoute(*cfg_.script, main, ctx);
  } catch (...) {
    if (ctx.msg.isHttp() && !ctx.replied && !ctx.dropped) answerHttp(ctx, 500, "Internal Server Error");
    throw;
  }
  // An HTTP client waits for an answer; a script that ends without one (no matching branch, a
  // method it does not handle) must not leave it hanging. `drop;` still means silence.
  if (ctx.msg.isHttp() && !ctx.replied && !ctx.dropped) answerHttp(ctx, 404, "Not Found");
}

void MessageDispatcher::answerHttp(ScriptContext& ctx, int code, std::string_view reason) {
  if (ctx.rcv.proto == Proto::UDP) return;  // never reached: the net layer drops HTTP datagrams
  std::string body = std::to_string(code) + " " + std::string(reason) + ": the script sent no answer\n";
  if (!ctx.core.sendReply(ctx, buildHttpResponse(ctx.msg, code, reason, "text/plain", body))) return;
  ctx.replied = true;
  if (!httpKeepAlive(ctx.msg)) ctx.core.closeConnection(ctx);
  if (logging::enabled(kLogInfo))
    logMsg(kLogInfo, "HTTP " + std::string(ctx.msg.method) + " from " + ctx.rcv.src.str() + ": the script sent no answer, " +
                         std::to_string(code) + " sent");
}

void MessageDispatcher::answerOnStream(ScriptContext& ctx, int code, const std::string& reason) {
  // RFC 3261 §18.2.2: over a stream the reply goes back on the connection the request came
  // on, so a Via the parser cannot read does not stop the client from learning what is wrong.
  if (ctx.rcv.proto == Proto::UDP || ctx.msg.method == "ACK") return;
  SipReplyOptions opt;
  opt.verbatimBadVia = true;
  std::string out, err;
  if (buildSipReply(ctx.msg, ctx.rcv, code, reason, opt, out, err)) ctx.replied = ctx.core.sendReply(ctx, out);
}

void MessageDispatcher::onReply(ScriptContext& ctx) {
  if (metrics_) metrics_->replyReceived(ctx.msg.status);
  ctx.route = RouteKind::OnReply;
  int r = script::onReplyRoute(*cfg_.script);
  if (r >= 0) script::runRoute(*cfg_.script, r, ctx);
  if (ctx.dropped) return;
  for (const ModuleExports* m : replyHooks_)
    if (m->onReplyIn(ctx)) return;
  proxy_.relayReply(ctx);
}

}  // namespace sipsd

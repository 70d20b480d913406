// dispatch_rpc, xmlrpc_reply and @xmlrpc.method; see xmlrpc_dispatch.h.
#include "modules/xmlrpc/xmlrpc_dispatch.h"

#include <exception>

#include "core/log_throttle.h"
#include "core/rpc/core_rpcs.h"
#include "modules/http/http_response.h"
#include "modules/xmlrpc/reply_streamer.h"
#include "modules/xmlrpc/xmlrpc_parser.h"
#include "modules/xmlrpc/xmlrpc_writer.h"

namespace sipsd::xmlrpc {

namespace {

constexpr std::string_view kModule = "xmlrpc";
constexpr std::string_view kContentType = "text/xml; charset=utf-8";

std::string faultDoc(CallOutcome& outcome, int code, std::string text) {
  outcome.faultCode = code;
  outcome.faultText = std::move(text);
  return fault(code, outcome.faultText);
}

// Runs a method (or drains its stream): what it throws becomes the fault document.
template <class Fn>
std::string guarded(CallOutcome& outcome, Fn&& fn) {
  try {
    return fn();
  } catch (const RpcFault& f) {
    return faultDoc(outcome, f.code, f.what());
  } catch (const std::exception& e) {
    return faultDoc(outcome, kRpcInternalError, outcome.method + ": internal error: " + e.what());
  } catch (...) {
    return faultDoc(outcome, kRpcInternalError, outcome.method + ": internal error");
  }
}

std::string peerOf(const ScriptContext& ctx) {
  return std::string(protoName(ctx.rcv.proto)) + ":" + ctx.rcv.src.str();
}

std::string run(std::string_view body, const std::vector<RpcMethod>& methods, CallOutcome& outcome,
                std::unique_ptr<RpcStream>& stream, bool mayStream) {
  outcome = CallOutcome{};
  stream.reset();
  if (body.empty()) return faultDoc(outcome, kRpcParseError, "parse error: empty request body (expected a methodCall)");
  XmlRpcParser parser;
  XmlRpcCall call;
  if (!parser.parse(body, call)) return faultDoc(outcome, kRpcParseError, "parse error: " + parser.error());
  outcome.method = call.method;
  const RpcMethod* target = nullptr;
  for (const RpcMethod& m : methods)
    if (m.name == call.method) {
      target = &m;
      break;
    }
  if (!target || !target->call) return faultDoc(outcome, kRpcMethodNotFound, "method not found: " + call.method);
  return guarded(outcome, [&]() -> std::string {
    if (mayStream && target->stream) {
      stream = target->stream(call.params);
      if (stream) return {};
    }
    return response(target->call(call.params));
  });
}

}  // namespace

std::string handleCall(std::string_view body, const std::vector<RpcMethod>& methods, CallOutcome& outcome) {
  std::unique_ptr<RpcStream> none;
  return run(body, methods, outcome, none, false);
}

std::string handleCall(std::string_view body, const std::vector<RpcMethod>& methods, CallOutcome& outcome,
                       std::unique_ptr<RpcStream>& stream) {
  return run(body, methods, outcome, stream, true);
}

int dispatchRpc(ScriptContext& ctx) {
  if (!ctx.msg.isHttp()) {
    ctx.core.log(kLogErr, kModule, "dispatch_rpc: message from " + peerOf(ctx) +
                                       " is not an HTTP request (XML-RPC is served over HTTP only)");
    return -1;
  }
  if (ctx.rcv.connId && ReplyStreamer::active(ctx.rcv.connId)) {
    ctx.core.log(kLogWarn, kModule, "dispatch_rpc: " + peerOf(ctx) + " sent a request while a streamed answer was "
                                                                       "still being written to it; closing the connection");
    ctx.core.closeConnection(ctx);
    return -1;
  }
  CallOutcome outcome;
  std::unique_ptr<RpcStream> stream;
  std::string doc = handleCall(ctx.msg.body, ctx.core.rpcMethods(), outcome, stream);
  if (outcome.faultCode != 0) {
    // Faults echo the caller's input (method names, values): cut short (the core logger
    // escapes control bytes), and at most one line a second per worker thread under a flood.
    thread_local LogThrottle throttle;
    if (throttle.allow())
      ctx.core.log(kLogNotice, kModule,
                   "fault " + std::to_string(outcome.faultCode) + " for " + peerOf(ctx) +
                       (outcome.method.empty() ? std::string() : " calling " + outcome.method.substr(0, 64)) + ": " +
                       outcome.faultText.substr(0, 160) + throttle.note());
  } else if (ctx.core.logLevel() >= kLogInfo) {  // an audit trail of management calls
    ctx.core.log(kLogInfo, kModule, peerOf(ctx) + " called " + outcome.method);
  }
  if (stream) {
    if (ReplyStreamer::start(ctx, stream, outcome.method)) return 1;
    // Not a connection the core can stream on: the whole answer at once.
    doc = guarded(outcome, [&] { return response(drainRpcStream(*stream)); });
  }
  std::string err = http::reply(ctx, 200, "OK", kContentType, doc);
  if (!err.empty()) {
    ctx.core.log(kLogErr, kModule, "dispatch_rpc: " + err);
    return -1;
  }
  return 1;
}

int replyFault(ScriptContext& ctx, int code, std::string_view reason) {
  if (!ctx.msg.isHttp()) {
    ctx.core.log(kLogErr, kModule, "xmlrpc_reply: message from " + peerOf(ctx) + " is not an HTTP request");
    return -1;
  }
  // A script's refusal (e.g. core.kill by the wrong certificate) is worth an audit line.
  ctx.core.log(kLogNotice, kModule,
               "xmlrpc_reply " + std::to_string(code) + " to " + peerOf(ctx) + ": " + std::string(reason));
  // XML-RPC reports failures inside a 200 response; the HTTP status stays 200 by convention.
  std::string err = http::reply(ctx, 200, "OK", kContentType, fault(code, reason));
  if (!err.empty()) {
    ctx.core.log(kLogErr, kModule, "xmlrpc_reply: " + err);
    return -1;
  }
  return 1;
}

Value methodOf(ScriptContext& ctx) {
  if (!ctx.msg.isHttp() || ctx.msg.body.empty()) return Value::null();
  XmlRpcParser parser;
  std::string name;
  if (!parser.parseMethodName(ctx.msg.body, name)) return Value::null();
  return Value::owned(std::move(name));
}

Result<SelectFn> resolveSelect(const std::vector<SelectPart>& parts) {
  if (parts.size() == 2 && parts[1].name == "method" && parts[1].index < 0 && parts[0].index < 0) return SelectFn(methodOf);
  std::string path = "@";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) path += '.';
    path += parts[i].name;
    if (parts[i].index >= 0) path += "[" + std::to_string(parts[i].index) + "]";
  }
  return fail("unknown select " + path + " (the xmlrpc module provides @xmlrpc.method)");
}

}  // namespace sipsd::xmlrpc

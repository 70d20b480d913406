// The sl module: stateless replies from the script, sl_reply(code, reason) and its SER alias
// sl_send_reply. A SIP request gets a SIP reply built by core/proxy/reply_builder; an HTTP
// request arriving on the same listener gets an HTTP response. Kamailio's send_reply() and
// sl_reply_error() answer through tm (TmApi) when the request has a transaction.
#include <memory>
#include <string>

#include "core/module_api.h"
#include "core/module_helpers.h"
#include "core/parser/parse_util.h"
#include "core/proxy/http_reply_builder.h"
#include "core/proxy/reply_builder.h"
#include "modules/tm/tm_api.h"

namespace sipsd::sl {
namespace {

constexpr std::string_view kModule = "sl";
// tm's interface when tm is loaded (set by init), for send_reply() and sl_reply_error().
const tm::TmApi* tmApi = nullptr;

bool hasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// Literal codes are converted and range-checked at load so a typo is a config error with a line;
// select arguments are checked per message.
Result<void> fixup(const char* name, std::vector<FuncArg>& args) {
  if (auto code = fixupIntArg(name, args[0], 100, 699, "reply code"); !code) return code;
  if (args[1].kind == FuncArg::Kind::Str && hasLineBreak(args[1].str))
    return fail(std::string(name) + ": reason phrase must not contain a line break");
  return {};
}

// create_via() leaves the Via in ctx.viaToInsert; accept a bare value or a whole header line.
std::string_view createdVia(const ScriptContext& ctx) {
  if (!ctx.viaToInsert) return {};
  std::string_view v = parse::trim(*ctx.viaToInsert);
  if (parse::istartsWith(v, "via:")) v = parse::trim(v.substr(4));
  else if (parse::istartsWith(v, "v:")) v = parse::trim(v.substr(2));
  return v;
}

// `stateful`: a request with a tm transaction is answered through it (send_reply()).
int reply(const char* name, ScriptContext& ctx, const std::vector<FuncArg>& args, bool stateful = false) {
  SipMsg& msg = ctx.msg;
  // send_reply() also answers from failure_route, through the transaction.
  const bool routeOk = ctx.route == RouteKind::Request || (stateful && ctx.route == RouteKind::Failure);
  if (!routeOk || msg.kind == SipMsg::Kind::Reply) {
    ctx.core.log(kLogErr, kModule, std::string(name) + ": only requests can be answered");
    return -1;
  }
  if (msg.kind == SipMsg::Kind::Request && parse::ieq(msg.method, "ACK")) {
    if (ctx.core.logLevel() >= kLogDebug)
      ctx.core.log(kLogDebug, kModule, std::string(name) + ": ACK is never answered");
    return -1;
  }
  int64_t code = 0;
  if (!intArg(ctx, args[0], code) || code < 100 || code > 699) {
    ctx.core.log(kLogErr, kModule, std::string(name) + ": reply code \"" + args[0].eval(ctx).text() + "\" from " +
                                       args[0].str + " is not a number in 100..699");
    return -1;
  }
  Value reasonValue = args[1].eval(ctx);
  std::string reasonOwned;
  std::string_view reason = reasonValue.str();
  if (reasonValue.isInt()) reason = reasonOwned = reasonValue.text();
  if (hasLineBreak(reason)) {
    ctx.core.log(kLogErr, kModule, std::string(name) + ": reason phrase from " + args[1].str + " contains a line break");
    return -1;
  }

  if (stateful && tmApi && !msg.isHttp()) {
    if (int r = tmApi->replyIfTransaction(ctx, int(code), reason); r != 0) return r;
  }
  std::string out;
  bool close = false;
  if (msg.isHttp()) {
    std::string body = std::to_string(code) + " " + std::string(reason) + "\n";
    out = buildHttpResponse(msg, int(code), reason, "text/plain", body);
    close = !httpKeepAlive(msg);
  } else {
    SipReplyOptions opt;
    opt.createdVia = createdVia(ctx);
    opt.forceRport = ctx.forceRport;
    std::string err;
    if (!buildSipReply(msg, ctx.rcv, int(code), reason, opt, out, err)) {
      ctx.core.log(kLogErr, kModule, std::string(name) + ": cannot answer " + std::string(msg.method) + " from " +
                                         ctx.rcv.src.str() + ": " + err);
      return -1;
    }
  }
  if (!ctx.core.sendReply(ctx, out)) {
    ctx.core.log(kLogErr, kModule, std::string(name) + ": sending the reply to " + ctx.rcv.src.str() + " failed");
    return -1;
  }
  ctx.replied = true;
  if (close) ctx.core.closeConnection(ctx);
  return 1;
}

FunctionExport makeFunction(const char* name, bool stateful = false) {
  return scriptFunction(
      name, 2, 2,
      [name, stateful](ScriptContext& ctx, const std::vector<FuncArg>& args, const void*) {
        return reply(name, ctx, args, stateful);
      },
      kRequestRoute, [name](std::vector<FuncArg>& args, std::shared_ptr<void>&) { return fixup(name, args); });
}

// sl_reply_error(): Kamailio answers with the error of the function that failed last. In sipsd
// the functions that fail for a reason the sender must hear (t_relay(), save()) answer it
// themselves, so this answers only a request nobody has answered yet: 500.
int replyError(ScriptContext& ctx, const std::vector<FuncArg>&, const void*) {
  if (ctx.replied || (tmApi && tmApi->answered(ctx))) return 1;
  static const std::vector<FuncArg> kArgs = [] {
    std::vector<FuncArg> a(2);
    a[0].kind = FuncArg::Kind::Int;
    a[0].num = 500;
    a[1].str = "Server Internal Error";
    return a;
  }();
  return reply("sl_reply_error", ctx, kArgs, true);
}

ModuleExports makeExports() {
  ModuleExports e;
  e.name = "sl";
  e.functions.push_back(makeFunction("sl_reply"));
  e.functions.push_back(makeFunction("sl_send_reply"));
  e.functions.push_back(makeFunction("send_reply", true));
  e.functions.push_back(scriptFunction("sl_reply_error", 0, 0, replyError, kRequestRoute));
  e.init = [](CoreApi& core) -> Result<void> {
    tmApi = static_cast<const tm::TmApi*>(core.moduleApi("tm", "tm"));
    return {};
  };
  e.destroy = [] { tmApi = nullptr; };
  return e;
}

}  // namespace
}  // namespace sipsd::sl

SIPSD_MODULE_EXPORTS(sipsd::sl::makeExports)

// The http module's exports: http_reply(code, reason, content_type, body), http_metrics()
// (GET /metrics, Prometheus text) and http_acme([webroot]) with the acme_dir parameter.
// @http.path and @http.query are core selects (core/parser/core_selects.cc), not registered here.
#include <memory>

#include "core/module_api.h"
#include "core/module_helpers.h"
#include "modules/http/acme_challenge.h"
#include "modules/http/http_response.h"

namespace sipsd::http {
namespace {

constexpr std::string_view kModule = "http";

// Literal arguments are checked at load so a bad code or a reason with a line break is a
// config error with a line number; select arguments are checked per request.
Result<void> fixupReply(std::vector<FuncArg>& args, std::shared_ptr<void>&) {
  if (auto code = fixupIntArg("http_reply", args[0], 100, 599, "status code"); !code) return code;
  std::string_view reason = args[1].kind == FuncArg::Kind::Str ? std::string_view(args[1].str) : "";
  std::string_view type = args[2].kind == FuncArg::Kind::Str ? std::string_view(args[2].str) : "";
  if (std::string err = validate(200, reason, type); !err.empty()) return fail("http_reply: " + err);
  return {};
}

int handleReply(ScriptContext& ctx, const std::vector<FuncArg>& args, const void*) {
  int64_t code = 0;
  if (!intArg(ctx, args[0], code)) {
    ctx.core.log(kLogErr, kModule, "http_reply: status code \"" + args[0].eval(ctx).text() + "\" from " +
                                       args[0].str + " is not an integer");
    return -1;
  }
  if (code < 100 || code > 599) code = 0;  // validate() names the range (a literal was checked at load)
  Value reason = args[1].eval(ctx);
  Value type = args[2].eval(ctx);
  Value body = args[3].eval(ctx);
  std::string bodyNum = body.isInt() ? body.text() : std::string();  // str() of an integer is empty
  std::string err = reply(ctx, int(code), reason.text(), type.text(), body.isInt() ? bodyNum : body.str());
  if (!err.empty()) {
    ctx.core.log(kLogErr, kModule, "http_reply to " + ctx.rcv.src.str() + ": " + err);
    return -1;
  }
  return 1;
}

// Prometheus text format 0.0.4, the Content-Type Prometheus asks for.
int handleMetrics(ScriptContext& ctx, const std::vector<FuncArg>&, const void*) {
  if (!ctx.msg.isHttp()) {
    ctx.core.log(kLogErr, kModule, "http_metrics: the message from " + ctx.rcv.src.str() + " is not an HTTP request");
    return -1;
  }
  std::string text = ctx.core.renderMetrics();
  std::string err = reply(ctx, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", text);
  if (!err.empty()) {
    ctx.core.log(kLogErr, kModule, "http_metrics to " + ctx.rcv.src.str() + ": " + err);
    return -1;
  }
  return 1;
}

// modparam("http", "acme_dir", DIR): the webroot http_acme() serves when given no argument.
std::string& acmeDir() {
  static std::string dir;
  return dir;
}

Result<void> setAcmeDir(const ParamValue& v) {
  std::string d = v.text();
  if (d.empty()) return fail("acme_dir is empty");
  if (d.front() != '/' && !v.loc.file.empty()) {
    auto slash = v.loc.file.rfind('/');
    if (slash != std::string::npos) d = v.loc.file.substr(0, slash) + "/" + d;
  }
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  acmeDir() = d;
  return {};
}

Result<void> fixupAcme(std::vector<FuncArg>& args, std::shared_ptr<void>&) {
  if (args.empty() && acmeDir().empty())
    return fail("http_acme() needs a directory: http_acme(\"DIR\") or modparam(\"http\", \"acme_dir\", DIR)");
  if (!args.empty() && args[0].kind == FuncArg::Kind::Str && args[0].str.empty()) return fail("http_acme: empty directory");
  return {};
}

int handleAcme(ScriptContext& ctx, const std::vector<FuncArg>& args, const void*) {
  std::string dir = args.empty() ? acmeDir() : args[0].eval(ctx).text();
  if (!dir.empty() && dir.front() != '/') dir = ctx.core.configDir() + "/" + dir;
  std::string err;
  bool answered = AcmeChallenge::serve(ctx, dir, err);
  if (!err.empty()) ctx.core.log(kLogNotice, kModule, "http_acme from " + ctx.rcv.src.str() + ": " + err);
  return answered ? 1 : -1;
}

ModuleExports makeExports() {
  ModuleExports e;
  e.name = "http";
  e.functions.push_back(scriptFunction("http_reply", 4, 4, handleReply, kRequestRoute, fixupReply));
  e.functions.push_back(scriptFunction("http_metrics", 0, 0, handleMetrics, kRequestRoute));
  e.functions.push_back(scriptFunction("http_acme", 0, 1, handleAcme, kRequestRoute, fixupAcme));
  e.params.push_back({"acme_dir", ParamType::Str, setAcmeDir});
  return e;
}

}  // namespace
}  // namespace sipsd::http

SIPSD_MODULE_EXPORTS(sipsd::http::makeExports)

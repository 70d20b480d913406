// The rr module: record_route(), record_route_preset(), loose_route() (SPEC §8), Kamailio's
// names and habits. Record-Route and Route edits are recorded in the ScriptContext's edit list
// and applied when the request is relayed (forward(), t_relay()); "is this Route us?" is the
// core's answer (listen addresses, advertise=, alias=).
#include <memory>
#include <string>

#include "core/module_api.h"
#include "core/module_helpers.h"
#include "core/parser/msg_parser.h"
#include "core/parser/name_addr_parser.h"
#include "core/parser/parse_util.h"
#include "core/parser/uri_parser.h"
#include "modules/rr/loose_router.h"

namespace sipsd::rr {
namespace {

constexpr std::string_view kModule = "rr";

struct Settings {
  bool doubleRr = true;      // enable_double_rr
  bool appendFromTag = false;  // append_fromtag
  bool fullLr = false;         // enable_full_lr: ";lr=on" instead of ";lr"
};
Settings settings;

Result<void> setBool(const ParamValue& v, bool& field, const char* name) {
  int64_t n = v.num;
  if (!v.isInt && !str::toNumber(v.str, n)) return fail(std::string(name) + " takes 0 or 1, not '" + v.str + "'");
  if (n != 0 && n != 1) return fail(std::string(name) + " takes 0 or 1, not " + std::to_string(n));
  field = n == 1;
  return {};
}

bool requestOnly(ScriptContext& ctx, const char* fn) {
  if (ctx.msg.isRequest() && !ctx.msg.isHttp()) return true;
  ctx.core.log(kLogErr, kModule, std::string(fn) + ": applies to SIP requests only");
  return false;
}

// ";ftag=<From tag>" when append_fromtag is on (lets a script tell the dialog's direction).
void addFromTag(ScriptContext& ctx, std::string& params) {
  if (!settings.appendFromTag) return;
  const Header* h = findHeader(ctx.msg, HdrType::From);
  NameAddr na;
  std::string_view rest;
  std::string err;
  if (h && parseNameAddr(h->value, na, rest, false, err) && na.hasTag && !na.tag.empty()) {
    params += ";ftag=";
    params.append(na.tag);
  }
}

// Extra Record-Route URI parameters: "p=1;q" or ";p=1;q", no spaces or brackets.
std::string checkParams(std::string& p) {
  if (!p.empty() && p.front() != ';') p.insert(p.begin(), ';');
  for (char c : p)
    if (c == '>' || c == '<' || c == ',' || c == ' ' || c == '\r' || c == '\n' || c == '\t')
      return "'" + p + "' is not a list of URI parameters";
  return {};
}

// record_route(["params"]): literal parameters are checked at load.
Result<void> fixupRecordRoute(std::vector<FuncArg>& args, std::shared_ptr<void>&) {
  if (args.empty() || args[0].kind != FuncArg::Kind::Str) return {};
  if (std::string e = checkParams(args[0].str); !e.empty()) return fail(e);
  return {};
}

int recordRoute(ScriptContext& ctx, const std::vector<FuncArg>& args, const void*) {
  if (!requestOnly(ctx, "record_route")) return -1;
  if (ctx.edits.recordRoute.enabled) return 1;  // once per request, as Kamailio
  RecordRouteEdit& rr = ctx.edits.recordRoute;
  rr.enabled = true;
  rr.doubleRr = settings.doubleRr;
  rr.fullLr = settings.fullLr;
  rr.params.clear();
  if (!args.empty()) {
    Value v = args[0].eval(ctx);
    std::string p = v.text();
    if (std::string e = checkParams(p); !e.empty()) {
      ctx.core.log(kLogErr, kModule, "record_route: " + e);
      rr.enabled = false;
      return -1;
    }
    rr.params = std::move(p);
  }
  addFromTag(ctx, rr.params);
  return 1;
}

// record_route_preset("host[:port]" or "sip:..."): a literal becomes a checked SIP URI at load.
Result<void> fixupPreset(std::vector<FuncArg>& args, std::shared_ptr<void>&) {
  if (args[0].kind != FuncArg::Kind::Str) return {};
  std::string& s = args[0].str;
  std::string uri = parse::istartsWith(s, "sip:") || parse::istartsWith(s, "sips:") ? s : "sip:" + s;
  SipUri u;
  std::string err;
  if (s.find_first_of("<>, ") != std::string::npos || !parseUri(uri, u, err) || u.host.empty())
    return fail("'" + s + "' is not a SIP URI such as \"sip:proxy.example.com:5060\"");
  s = uri;
  return {};
}

int recordRoutePreset(ScriptContext& ctx, const std::vector<FuncArg>& args, const void*) {
  if (!requestOnly(ctx, "record_route_preset")) return -1;
  Value v = args[0].eval(ctx);
  std::string uri = v.text();
  if (uri.empty() || uri.find_first_of("<>, \r\n") != std::string::npos) {
    ctx.core.log(kLogErr, kModule, "record_route_preset: '" + uri + "' is not a SIP URI");
    return -1;
  }
  RecordRouteEdit& rr = ctx.edits.recordRoute;
  rr.enabled = true;
  rr.preset = std::move(uri);
  rr.fullLr = settings.fullLr;
  rr.params.clear();
  addFromTag(ctx, rr.params);
  return 1;
}

int looseRoute(ScriptContext& ctx, const std::vector<FuncArg>&, const void*) {
  CoreApi& core = ctx.core;
  LooseRouter router([&core](std::string_view uri) { return core.uriIsMyself(uri); });
  std::string err;
  int r = router.route(ctx, err);
  if (!err.empty()) core.log(kLogNotice, kModule, "loose_route: " + err + " (from " + ctx.rcv.src.str() + ")");
  return r;
}

ModuleExports makeExports() {
  ModuleExports e;
  e.name = "rr";
  e.params.push_back({"enable_double_rr", ParamType::Any,
                      [](const ParamValue& v) { return setBool(v, settings.doubleRr, "enable_double_rr"); }});
  e.params.push_back({"enable_full_lr", ParamType::Any,
                      [](const ParamValue& v) { return setBool(v, settings.fullLr, "enable_full_lr"); }});
  e.params.push_back({"append_fromtag", ParamType::Any,
                      [](const ParamValue& v) { return setBool(v, settings.appendFromTag, "append_fromtag"); }});

  e.functions.push_back(scriptFunction("record_route", 0, 1, recordRoute, kRequestRoute, fixupRecordRoute));
  e.functions.push_back(scriptFunction("record_route_preset", 1, 1, recordRoutePreset, kRequestRoute, fixupPreset));
  e.functions.push_back(scriptFunction("loose_route", 0, 0, looseRoute, kRequestRoute));
  return e;
}

}  // namespace
}  // namespace sipsd::rr

SIPSD_MODULE_EXPORTS(sipsd::rr::makeExports)

// Kamailio module names sipsd answers for (see kamailio_modules.h).
#include "core/config/kamailio_modules.h"

#include <array>

#include "core/module_helpers.h"
#include "core/parser/parse_util.h"
#include "core/proxy/reply_builder.h"
#include "core/script/sanity_checker.h"

namespace sipsd {

namespace {

struct Entry {
  std::string_view name;
  std::string_view provides;
};

// Kamailio modules whose functions sipsd has in its core (or, for tmx, in its tm module).
constexpr std::array<Entry, 10> kBuiltins{{
    {"pv", "its pseudo-variables ($rm, $ru, $du, $hdr(Name) ...) are sipsd core names"},
    {"xlog", "xlog(), xdbg(), xinfo(), xnotice(), xwarn() and xerr() are sipsd core functions"},
    {"maxfwd", "mf_process_maxfwd_header() is a sipsd core function"},
    {"textops", "append_hf(), remove_hf() and is_present_hf() are sipsd core functions"},
    {"textopsx", "sipsd applies header edits when it relays, so msg_apply_changes() and the rest are not there"},
    {"siputils", "has_totag() and is_myself() are sipsd core functions"},
    {"kex", "sipsd's core functions stand in for it"},
    {"corex", "sipsd's core functions stand in for it (set_reply_no_connect() is one)"},
    {"tmx", "t_precheck_trans() is in sipsd's tm and $T_branch_idx in its core"},
    {"sanity", "sanity_check() runs Kamailio's checks; modparams autodrop, default_checks, uri_checks, proxy_require"},
}};

// Kamailio modules sipsd does not have, with what they would have brought.
constexpr std::array<Entry, 27> kMissing{{
    {"acc", "accounting (acc records, log_flag ...)"},
    {"jsonrpcs", "JSON-RPC control (sipsd's RPCs are XML-RPC: dispatch_rpc() and tools/sipsctl)"},
    {"ctl", "the binrpc control socket (use XML-RPC: dispatch_rpc() and tools/sipsctl)"},
    {"cfg_rpc", "run-time config changes over RPC"},
    {"counters", "counters over RPC (sipsd has core.stats and GET /metrics)"},
    {"auth", "digest authentication"},
    {"auth_db", "digest authentication against a database"},
    {"permissions", "address and trust checks"},
    {"alias_db", "database aliases"},
    {"speeddial", "speed dial"},
    {"domain", "multi-domain tables"},
    {"presence", "presence"},
    {"presence_xml", "presence"},
    {"nathelper", "NAT traversal helpers"},
    {"rtpproxy", "RTP relaying"},
    {"rtpengine", "RTP relaying"},
    {"htable", "shared hash tables ($sht)"},
    {"pike", "flood detection"},
    {"debugger", "the script debugger"},
    {"db_mysql", "database access"},
    {"db_postgres", "database access"},
    {"db_sqlite", "database access"},
    {"xhttp", "HTTP event routes (sipsd's HTTP requests reach the request route)"},
    {"dialog", "dialog tracking"},
    {"dispatcher", "load balancing"},
    {"uac", "UAC functions"},
    {"topoh", "topology hiding"},
}};

ParamExport intParam(const char* name, int64_t min, int64_t max, std::function<void(int64_t)> set) {
  ParamExport p;
  p.name = name;
  p.type = ParamType::Int;
  p.set = [name, min, max, set = std::move(set)](const ParamValue& v) -> Result<void> {
    if (v.num < min || v.num > max)
      return fail(std::string(name) + " must be in " + std::to_string(min) + ".." + std::to_string(max) + ", not " +
                  std::to_string(v.num));
    set(v.num);
    return {};
  };
  return p;
}

// What one sanity_check() call runs, fixed at load (modparams are applied by then).
struct SanityCall {
  unsigned checks = 0;
  unsigned uris = 0;
  int argChecks = -1;  // index of a select argument for msg_checks, -1: literal or absent
  int argUris = -1;
};

Result<void> fixupSanity(const std::shared_ptr<SanitySettings>& s, std::vector<FuncArg>& args,
                         std::shared_ptr<void>& fixed) {
  auto call = std::make_shared<SanityCall>();
  call->checks = s->defaultChecks;
  call->uris = s->uriChecks;
  for (size_t i = 0; i < args.size(); ++i) {
    const bool uris = i == 1;
    if (args[i].kind == FuncArg::Kind::Select) {
      (uris ? call->argUris : call->argChecks) = int(i);
      continue;
    }
    const int64_t max = uris ? SanityChecker::kAllUris : SanityChecker::kAllChecks;
    if (auto ok = fixupIntArg("sanity_check", args[i], 0, max, uris ? "uri_checks" : "msg_checks"); !ok) return ok;
    (uris ? call->uris : call->checks) = unsigned(args[i].num);
  }
  fixed = call;
  return {};
}

int runSanity(const SanitySettings& s, ScriptContext& ctx, const std::vector<FuncArg>& args, const void* fixed) {
  const auto& call = *static_cast<const SanityCall*>(fixed);
  unsigned checks = call.checks, uris = call.uris;
  int64_t n = 0;
  if (call.argChecks >= 0) {
    if (!intArg(ctx, args[size_t(call.argChecks)], n) || n < 0 || n > SanityChecker::kAllChecks) return -1;
    checks = unsigned(n);
  }
  if (call.argUris >= 0) {
    if (!intArg(ctx, args[size_t(call.argUris)], n) || n < 0 || n > SanityChecker::kAllUris) return -1;
    uris = unsigned(n);
  }
  const SipMsg& msg = ctx.msg;
  SanityFailure f = SanityChecker::check(msg, ctx.rcv.proto, checks, uris, s.proxyRequire);
  if (!f) return 1;
  if (ctx.core.logLevel() >= kLogInfo)
    ctx.core.log(kLogInfo, "sanity", "sanity_check: " + std::string(msg.isRequest() ? msg.method : "reply") + " from " +
                                         std::string(protoName(ctx.rcv.proto)) + ":" + ctx.rcv.src.str() + ": " +
                                         f.detail + " (" + std::to_string(f.code) + " " + std::string(f.reason) + ")");
  // As Kamailio: the sender of a request learns why (statelessly); ACKs and replies get nothing.
  if (msg.isRequest() && !msg.isHttp() && msg.method != "ACK" && ctx.route == RouteKind::Request && !ctx.replied) {
    SipReplyOptions opt;
    opt.forceRport = ctx.forceRport;
    opt.extraHeaders = f.extraHeader;
    std::string out, err;
    if (buildSipReply(msg, ctx.rcv, f.code, f.reason, opt, out, err) && ctx.core.sendReply(ctx, out))
      ctx.replied = true;
    else if (ctx.core.logLevel() >= kLogNotice)
      ctx.core.log(kLogNotice, "sanity", "sanity_check: cannot answer " + ctx.rcv.src.str() + ": " + err);
  }
  if (!s.autodrop) return -1;
  // autodrop: the message goes no further (a reply is not relayed either).
  if (!msg.isRequest()) ctx.dropped = true;
  return 0;
}

std::unique_ptr<ModuleExports> sanityExports() {
  auto e = std::make_unique<ModuleExports>();
  auto s = std::make_shared<SanitySettings>();
  e->params.push_back(intParam("autodrop", 0, 1, [s](int64_t v) { s->autodrop = v != 0; }));
  e->params.push_back(intParam("default_checks", 0, SanityChecker::kAllChecks, [s](int64_t v) { s->defaultChecks = unsigned(v); }));
  e->params.push_back(intParam("uri_checks", 0, SanityChecker::kAllUris, [s](int64_t v) { s->uriChecks = unsigned(v); }));
  ParamExport pr;
  pr.name = "proxy_require";
  pr.type = ParamType::Str;
  pr.set = [s](const ParamValue& v) -> Result<void> {
    s->proxyRequire.clear();
    std::string_view rest = v.str;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view ext = parse::trim(rest.substr(0, comma));
      if (!ext.empty()) s->proxyRequire.emplace_back(ext);
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
    return {};
  };
  e->params.push_back(std::move(pr));
  auto fixup = [s](std::vector<FuncArg>& args, std::shared_ptr<void>& fixed) { return fixupSanity(s, args, fixed); };
  auto handler = [s](ScriptContext& ctx, const std::vector<FuncArg>& args, const void* fixed) {
    return runSanity(*s, ctx, args, fixed);
  };
  e->functions.push_back(scriptFunction("sanity_check", 0, 2, handler, kRequestRoute | kOnReplyRoute, fixup));
  return e;
}

}  // namespace

std::string_view KamailioModules::baseName(std::string_view spec) {
  size_t slash = spec.rfind('/');
  if (slash != std::string_view::npos) spec = spec.substr(slash + 1);
  if (spec.size() > 3 && spec.substr(spec.size() - 3) == ".so") spec.remove_suffix(3);
  return spec;
}

KamailioBuiltin KamailioModules::builtin(std::string_view name) {
  KamailioBuiltin out;
  for (const auto& b : kBuiltins) {
    if (b.name != name) continue;
    out.exports = b.name == "sanity" ? sanityExports() : std::make_unique<ModuleExports>();
    out.exports->name = std::string(b.name);
    out.provides = b.provides;
  }
  return out;
}

std::string KamailioModules::missing(std::string_view name) {
  for (const auto& m : kMissing)
    if (m.name == name)
      return "Kamailio's module '" + std::string(name) + "' is not part of sipsd: it brings " +
             std::string(m.provides) + "; remove its loadmodule, modparam and function lines";
  return {};
}

}  // namespace sipsd

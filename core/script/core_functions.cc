// Core function exports: argument fixups at load, handlers delegating to ProxyActions.
#include "core/script/core_functions.h"


#include "core/log.h"
#include "core/net/listen_requirement.h"
#include "core/parser/core_pvars.h"
#include "core/parser/core_selects.h"
#include "core/script/flag_functions.h"
#include "core/script/msg_functions.h"
#include "core/util/strings.h"

namespace sipsd::script {

namespace {

std::optional<uint16_t> parsePort(std::string_view s) {
  auto n = str::toNumber<int>(s);
  if (!n || *n < 1 || *n > 65535) return std::nullopt;
  return uint16_t(*n);
}

// forward*(host, port): literal hosts must be non-empty and literal ports valid at load.
Result<void> fixupHostPort(std::vector<FuncArg>& args) {
  if (args.size() != 2) return {};
  if (args[0].kind == FuncArg::Kind::Int) {
    args[0].kind = FuncArg::Kind::Str;  // forward(5060, ...) is odd, but a host is text
  }
  if (args[0].kind == FuncArg::Kind::Str && args[0].str.empty()) return fail("the host is empty");
  if (args[1].kind == FuncArg::Kind::Int) {
    if (args[1].num < 1 || args[1].num > 65535) return fail("port " + std::to_string(args[1].num) + " is out of range 1..65535");
  } else if (args[1].kind == FuncArg::Kind::Str) {
    auto p = parsePort(args[1].str);
    if (!p) return fail("'" + args[1].str + "' is not a port number");
    args[1].kind = FuncArg::Kind::Int;
    args[1].num = *p;
  }
  return {};
}

FunctionHandler forwardHandler(ProxyActions* proxy, Proto proto) {
  return [proxy, proto](ScriptContext& ctx, const std::vector<FuncArg>& args, const void*) -> int {
    if (!proxy) return -1;
    if (args.empty()) return proxy->forward(ctx, std::nullopt, std::nullopt, proto);
    Value host = args[0].eval(ctx);
    Value portV = args[1].eval(ctx);
    std::string hostText = host.isInt() ? host.text() : std::string();
    std::string_view h = host.isInt() ? std::string_view(hostText) : host.str();
    std::optional<uint16_t> port;
    if (portV.isInt() && portV.num() >= 1 && portV.num() <= 65535)
      port = uint16_t(portV.num());
    else if (portV.isStr())
      port = parsePort(portV.str());
    if (h.empty() || !port) {
      ctx.core.log(kLogErr, "core", "forward: no valid destination (host '" + std::string(h) + "', port '" +
                                        portV.text() + "')");
      return -1;
    }
    return proxy->forward(ctx, h, port, proto);
  };
}

std::string needsListener(const ListensOn& listensOn, Proto proto) {
  if (!listensOn || listensOn(proto)) return {};
  return missingListenerText(proto);
}

// Whether proto can be used here: the core's own, or one a loaded module registered.
bool transportLoaded(const Registry* registry, Proto proto) {
  return !registry || registry->transports().available(proto);  // no registry: nothing to check against
}

}  // namespace

std::vector<FunctionExport> coreFunctionExports(ProxyActions* proxy, const Registry* registry, ListensOn listensOn) {
  std::vector<FunctionExport> out;
  auto hostPortFixup = [](std::vector<FuncArg>& args, std::shared_ptr<void>&) { return fixupHostPort(args); };
  out.push_back({"forward", 0, 0, nullptr, forwardHandler(proxy, Proto::None), kRequestRoute});
  out.push_back({"forward", 2, 2, hostPortFixup, forwardHandler(proxy, Proto::None), kRequestRoute});
  // forward_udp, forward_tcp, forward_tls: one per protocol; one served by a module (tls) is
  // refused at load when no loaded module registered its transport, and each needs a listen=
  // of its protocol for the Via.
  for (size_t i = 1; i < kProtoCount; ++i) {
    Proto p = Proto(i);
    out.push_back({"forward_" + std::string(protoToken(p)), 2, 2,
                   [registry, listensOn, p](std::vector<FuncArg>& args, std::shared_ptr<void>&) -> Result<void> {
                     if (!transportLoaded(registry, p))
                       return fail("no loaded module provides the " + std::string(protoName(p)) + " transport (loadmodule \"" +
                                   std::string(protoToken(p)) + "\")");
                     if (auto err = needsListener(listensOn, p); !err.empty()) return fail(err);
                     return fixupHostPort(args);
                   },
                   forwardHandler(proxy, p), kRequestRoute});
  }

  out.push_back({"create_via", 0, 0, nullptr,
                 [proxy](ScriptContext& ctx, const std::vector<FuncArg>&, const void*) {
                   return proxy ? proxy->createVia(ctx) : -1;
                 },
                 kRequestRoute});
  out.push_back({"force_rport", 0, 0, nullptr,
                 [proxy](ScriptContext& ctx, const std::vector<FuncArg>&, const void*) {
                   return proxy ? proxy->forceRport(ctx) : -1;
                 },
                 kRequestRoute});

  // log("text") logs at NOTICE; log(level, "text") with the levels of debug= (0 error .. 4 debug).
  out.push_back({"log", 1, 2,
                 [](std::vector<FuncArg>& args, std::shared_ptr<void>& fixed) -> Result<void> {
                   int level = kLogNotice;
                   if (args.size() == 2) {
                     const FuncArg& a = args[0];
                     int64_t n = a.num;
                     if (a.kind == FuncArg::Kind::Select) return fail("the level must be a number 0..4");
                     if (a.kind == FuncArg::Kind::Str && !str::toNumber(a.str, n))
                       return fail("the level '" + a.str + "' is not a number 0..4");
                     if (n < kLogErr || n > kLogDebug) return fail("the level " + std::to_string(n) + " is not in 0..4");
                     level = int(n);
                   }
                   fixed = std::make_shared<int>(level);
                   return {};
                 },
                 [](ScriptContext& ctx, const std::vector<FuncArg>& args, const void* fixed) {
                   int level = *static_cast<const int*>(fixed);
                   if (level > ctx.core.logLevel()) return 1;
                   Value text = args.back().eval(ctx);
                   ctx.core.log(level, "script", text.isInt() ? std::string_view(text.text()) : text.str());
                   return 1;
                 },
                 kAnyRoute});
  for (auto& f : msgFunctionExports()) out.push_back(std::move(f));
  // set_reply_no_connect() (Kamailio): a reply to this request must not open a connection.
  // sipsd's replies (sl, tm, every module's) always leave on the connection the request came
  // on and are not sent when it has closed, so the call states what holds anyway.
  out.push_back({"set_reply_no_connect", 0, 0, nullptr,
                 [](ScriptContext&, const std::vector<FuncArg>&, const void*) { return 1; }, kAnyRoute});
  for (auto& f : flagFunctionExports()) out.push_back(std::move(f));
  // xlog([level,] "format"): the format's $pv/@select references are compiled by the checker
  // (formatArgs). Without a level it logs at L_ERR, as Kamailio's xlog does.
  auto xlogFixup = [](std::vector<FuncArg>& args, std::shared_ptr<void>& fixed) -> Result<void> {
    int level = kLogErr;
    if (args.size() == 2) {
      const FuncArg& a = args[0];
      if (a.kind == FuncArg::Kind::Select) return fail("the level must be L_ERR, L_WARN, L_NOTICE, L_INFO, L_DBG or 0..4");
      if (a.kind == FuncArg::Kind::Int) {
        if (a.num < kLogErr || a.num > kLogDebug) return fail("the level " + std::to_string(a.num) + " is not in 0..4");
        level = int(a.num);
      } else {
        auto named = logging::levelFromName(a.str);
        if (!named) return fail("unknown level '" + a.str + "' (L_ERR, L_WARN, L_NOTICE, L_INFO, L_DBG)");
        level = *named;
      }
    }
    fixed = std::make_shared<int>(level);
    return {};
  };
  auto xlogHandler = [](ScriptContext& ctx, const std::vector<FuncArg>& args, const void* fixed) {
    int level = *static_cast<const int*>(fixed);
    if (level > ctx.core.logLevel()) return 1;  // nothing is interpolated for a line not logged
    Value text = args.back().eval(ctx);
    std::string_view t = text.str();
    if (!t.empty() && t.back() == '\n') t.remove_suffix(1);  // scripts end xlog lines in \n
    ctx.core.log(level, "script", t);
    return 1;
  };
  FunctionExport xlog1{"xlog", 1, 1, xlogFixup, xlogHandler, kAnyRoute};
  xlog1.formatArgs = 1u;
  FunctionExport xlog2{"xlog", 2, 2, xlogFixup, xlogHandler, kAnyRoute};
  xlog2.formatArgs = 2u;
  out.push_back(std::move(xlog1));
  out.push_back(std::move(xlog2));
  // Kamailio's xlog shorthands: xdbg("...") is xlog("L_DBG", "..."), and so on.
  static constexpr std::pair<const char*, int> kShorthands[] = {
      {"xdbg", kLogDebug}, {"xinfo", kLogInfo}, {"xnotice", kLogNotice}, {"xwarn", kLogWarn}, {"xerr", kLogErr}};
  for (const auto& [name, level] : kShorthands) {
    FunctionExport f{name, 1, 1,
                     [level = level](std::vector<FuncArg>&, std::shared_ptr<void>& fixed) -> Result<void> {
                       fixed = std::make_shared<int>(level);
                       return {};
                     },
                     xlogHandler, kAnyRoute};
    f.formatArgs = 1u;
    out.push_back(std::move(f));
  }
  return out;
}

std::string registerCoreNames(Registry& registry, ProxyActions* proxy, ListensOn listensOn) {
  for (const auto& f : coreFunctionExports(proxy, &registry, std::move(listensOn))) {
    std::string err = registry.addFunction(f, "core");
    if (!err.empty()) return err;
  }
  for (const auto& s : coreSelectExports()) {
    std::string err = registry.addSelect(s, "core");
    if (!err.empty()) return err;
  }
  if (std::string err = registry.addSelect(corePseudoVarExport(), "core"); !err.empty()) return err;
  return {};
}

}  // namespace sipsd::script

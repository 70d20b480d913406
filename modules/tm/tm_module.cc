// The tm module: stateful proxying (RFC 3261 §16/§17). Script functions t_relay(),
// t_relay_to_udp|tcp|tls(host, port), t_on_reply(), t_on_failure(), t_on_branch(), t_reply(),
// t_check_trans(), t_precheck_trans(), t_newtran(), t_set_fr(), t_is_set(), t_is_canceled();
// modparams t1, t2, fr_timer, fr_inv_timer, failure_reply_mode; RPC tm.stats; the TmApi for sl.
// The work is in TransactionLayer (tm_layer.h); this file is the glue to the module ABI.
#include <memory>
#include <string>

#include "core/module_api.h"
#include "core/module_helpers.h"
#include "core/net/listen_requirement.h"
#include "modules/tm/tm_api.h"
#include "modules/tm/tm_layer.h"

namespace sipsd::tm {
namespace {

constexpr std::string_view kModule = "tm";

TmConfig config;
std::unique_ptr<TransactionLayer> layer;
// The core as init() saw it, for fixups that check the config (they run after init).
CoreApi* loadCore = nullptr;

ParamExport intParam(const char* name, int64_t* target, int64_t min, int64_t max) {
  ParamExport p;
  p.name = name;
  p.type = ParamType::Int;
  p.set = [name, target, min, max](const ParamValue& v) -> Result<void> {
    if (!v.isInt || v.num < min || v.num > max)
      return fail(std::string("tm: ") + name + " must be an integer in " + std::to_string(min) + ".." +
                  std::to_string(max) + " (milliseconds)");
    *target = v.num;
    return {};
  };
  return p;
}

FunctionExport relayTo(const char* name, Proto proto) {
  auto fixup = [name, proto](std::vector<FuncArg>& args, std::shared_ptr<void>&) -> Result<void> {
    // As forward_tls(): the Via names a listen= socket of the transport the request leaves on.
    if (proto != Proto::None && loadCore && loadCore->listenAddresses(proto).empty())
      return fail(missingListenerText(proto));
    if (args[0].kind == FuncArg::Kind::Str && args[0].str.empty()) return fail(std::string(name) + ": empty host");
    return fixupIntArg(name, args[1], 0, 65535, "port");
  };
  auto handler = [name, proto](ScriptContext& ctx, const std::vector<FuncArg>& args, const void*) {
    Value host = args[0].eval(ctx);
    int64_t port = 0;
    if (!intArg(ctx, args[1], port) || port < 0 || port > 65535 || host.text().empty()) {
      ctx.core.log(kLogErr, kModule, std::string(name) + ": bad host or port from " + args[0].str + ", " + args[1].str);
      return -1;
    }
    std::string h = host.text();
    RelayRequest rq;
    rq.host = h;
    rq.port = uint16_t(port);
    rq.proto = proto;
    return layer ? layer->relay(ctx, rq) : -1;
  };
  return scriptFunction(name, 2, 2, handler, kRequestRoute, fixup);
}

FunctionExport routeSetter(const char* name, RouteKind kind) {
  FunctionExport f = scriptFunction(
      name, 1, 1,
      [kind](ScriptContext& ctx, const std::vector<FuncArg>& args, const void*) {
        if (!layer) return -1;
        if (kind == RouteKind::Failure)
          layer->setOnFailure(ctx, int(args[0].num));
        else if (kind == RouteKind::Branch)
          layer->setOnBranch(ctx, int(args[0].num));
        else
          layer->setOnReply(ctx, int(args[0].num));
        return 1;
      },
      kRequestRoute);
  f.routeArg = 0;
  f.routeArgKind = kind;
  return f;
}

// t_reply(code, reason): literal arguments are checked at load.
Result<void> fixupReply(std::vector<FuncArg>& args, std::shared_ptr<void>&) {
  if (args[1].kind == FuncArg::Kind::Str && args[1].str.find_first_of("\r\n") != std::string::npos)
    return fail("t_reply: reason phrase must not contain a line break");
  return fixupIntArg("t_reply", args[0], 100, 699, "reply code");
}

int handleReply(ScriptContext& ctx, const std::vector<FuncArg>& args, const void*) {
  int64_t code = 0;
  if (!intArg(ctx, args[0], code) || code < 100 || code > 699) {
    ctx.core.log(kLogErr, kModule, "t_reply: reply code from " + args[0].str + " is not a number in 100..699");
    return -1;
  }
  Value reason = args[1].eval(ctx);
  std::string text = reason.text();
  if (text.find_first_of("\r\n") != std::string::npos) {
    ctx.core.log(kLogErr, kModule, "t_reply: reason phrase from " + args[1].str + " contains a line break");
    return -1;
  }
  return layer ? layer->reply(ctx, int(code), text) : -1;
}

// t_is_set("branch_route" | "failure_route" | "onreply_route"): the kind is checked at load.
Result<void> fixupIsSet(std::vector<FuncArg>& args, std::shared_ptr<void>& fixed) {
  const FuncArg& a = args[0];
  RouteKind kind;
  if (a.kind == FuncArg::Kind::Str && a.str == "branch_route")
    kind = RouteKind::Branch;
  else if (a.kind == FuncArg::Kind::Str && a.str == "failure_route")
    kind = RouteKind::Failure;
  else if (a.kind == FuncArg::Kind::Str && a.str == "onreply_route")
    kind = RouteKind::OnReply;
  else
    return fail("t_is_set takes \"branch_route\", \"failure_route\" or \"onreply_route\", not " + a.str);
  fixed = std::make_shared<RouteKind>(kind);
  return {};
}

int handleIsSet(ScriptContext& ctx, const std::vector<FuncArg>&, const void* fixed) {
  return layer && layer->isSet(ctx, *static_cast<const RouteKind*>(fixed)) ? 1 : -1;
}

TmApi tmApi{
    [](ScriptContext& ctx, int code, std::string_view reason) { return layer ? layer->replyIfTransaction(ctx, code, reason) : 0; },
    [](ScriptContext& ctx) { return layer && layer->answered(ctx); }};

// t_set_fr(invite_ms[, other_ms]).
Result<void> fixupSetFr(std::vector<FuncArg>& args, std::shared_ptr<void>&) {
  for (auto& a : args)
    if (auto ms = fixupIntArg("t_set_fr", a, 0, 86400000, "timeout (ms)"); !ms) return ms;
  return {};
}

int handleSetFr(ScriptContext& ctx, const std::vector<FuncArg>& args, const void*) {
  int64_t inv = 0, fr = 0;
  if (!intArg(ctx, args[0], inv) || (args.size() > 1 && !intArg(ctx, args[1], fr)) || inv < 0 || fr < 0) {
    ctx.core.log(kLogErr, kModule, "t_set_fr: timeouts must be milliseconds");
    return -1;
  }
  if (layer) layer->setFr(ctx, inv, fr);
  return 1;
}

ModuleExports makeExports() {
  ModuleExports e;
  e.name = "tm";
  e.params.push_back(intParam("t1", &config.t1, 10, 60000));
  e.params.push_back(intParam("t2", &config.t2, 10, 600000));
  e.params.push_back(intParam("fr_timer", &config.frTimer, 10, 86400000));
  e.params.push_back(intParam("fr_inv_timer", &config.frInvTimer, 10, 86400000));
  // Kamailio's modes 0 (every reply competes) and 3 (a new serial leg discards the earlier
  // replies); 1 and 2 are refused rather than run as something else.
  e.params.push_back({"failure_reply_mode", ParamType::Int, [](const ParamValue& v) -> Result<void> {
                        if (v.num != 0 && v.num != 3)
                          return fail("tm: failure_reply_mode " + std::to_string(v.num) +
                                      " is not supported (0: all replies compete; 3: a new leg in failure_route "
                                      "discards the earlier replies)");
                        config.failureReplyMode = int(v.num);
                        return {};
                      }});

  e.functions.push_back(scriptFunction(
      "t_relay", 0, 0,
      [](ScriptContext& ctx, const std::vector<FuncArg>&, const void*) { return layer ? layer->relay(ctx, RelayRequest{}) : -1; },
      kRequestRoute));
  e.functions.push_back(relayTo("t_relay", Proto::None));
  e.functions.push_back(relayTo("t_relay_to_udp", Proto::UDP));
  e.functions.push_back(relayTo("t_relay_to_tcp", Proto::TCP));
  e.functions.push_back(relayTo("t_relay_to_tls", Proto::TLS));
  e.functions.push_back(routeSetter("t_on_reply", RouteKind::OnReply));
  e.functions.push_back(routeSetter("t_on_failure", RouteKind::Failure));
  e.functions.push_back(routeSetter("t_on_branch", RouteKind::Branch));
  e.functions.push_back(scriptFunction("t_is_set", 1, 1, handleIsSet, kAnyRoute, fixupIsSet));
  e.functions.push_back(scriptFunction(
      "t_is_canceled", 0, 0,
      [](ScriptContext& ctx, const std::vector<FuncArg>&, const void*) { return layer ? layer->isCanceled(ctx) : -1; },
      kRequestRoute | kBranchRoute));
  e.functions.push_back(scriptFunction(
      "t_precheck_trans", 0, 0,
      [](ScriptContext& ctx, const std::vector<FuncArg>&, const void*) { return layer ? layer->precheckTrans(ctx) : -1; },
      kRequestRoute));

  e.functions.push_back(scriptFunction("t_reply", 2, 2, handleReply, kRequestRoute, fixupReply));
  e.functions.push_back(scriptFunction(
      "t_check_trans", 0, 0,
      [](ScriptContext& ctx, const std::vector<FuncArg>&, const void*) { return layer ? layer->checkTrans(ctx) : -1; }));
  e.functions.push_back(scriptFunction(
      "t_newtran", 0, 0,
      [](ScriptContext& ctx, const std::vector<FuncArg>&, const void*) { return layer ? layer->newTran(ctx) : -1; },
      kRequestRoute));
  e.functions.push_back(scriptFunction("t_set_fr", 1, 2, handleSetFr, kRequestRoute, fixupSetFr));

  RpcMethod stats;
  stats.name = "tm.stats";
  stats.help = "Open transactions, the bytes they hold (and per transaction), transactions since start";
  stats.call = [](const std::vector<RpcValue>&) -> RpcValue {
    TmStats s = layer ? layer->stats() : TmStats{};
    RpcStruct r;
    r.emplace_back("transactions", int64_t(s.transactions));
    r.emplace_back("bytes", int64_t(s.bytes));
    r.emplace_back("bytes_per_transaction", int64_t(s.transactions ? s.bytes / s.transactions : 0));
    r.emplace_back("created", int64_t(s.created));
    return RpcValue(std::move(r));
  };
  e.rpcs.push_back(stats);

  e.init = [](CoreApi& core) -> Result<void> {
    if (config.t2 < config.t1)
      return fail("tm: t2 (" + std::to_string(config.t2) + ") is below t1 (" + std::to_string(config.t1) + ")");
    layer = std::make_unique<TransactionLayer>(core, config);
    core.addMetricsProvider("tm", [](MetricsWriter& w) {
      if (layer) layer->metrics().write(w, layer->stats().bytes);
    });
    loadCore = &core;
    return {};
  };
  e.workerInit = [](CoreApi&, int worker) -> Result<void> {
    if (layer) layer->addWorker(worker);
    return {};
  };
  e.destroy = [] {
    layer.reset();
    loadCore = nullptr;
  };
  e.api = [](const std::string& name) -> void* { return name == "tm" ? &tmApi : nullptr; };
  e.onRequestIn = [](ScriptContext& ctx) { return layer && layer->onRequest(ctx); };
  e.onReplyIn = [](ScriptContext& ctx) { return layer && layer->onReply(ctx); };
  return e;
}

}  // namespace
}  // namespace sipsd::tm

SIPSD_MODULE_EXPORTS(sipsd::tm::makeExports)

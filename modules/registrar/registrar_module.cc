// The registrar module: save("location") answers REGISTER (RFC 3261 §10.3) and stores the
// bindings through usrloc, lookup("location") turns an AoR request URI into the contact and
// where it is reachable, registered("location") tests for bindings.
#include <algorithm>
#include <chrono>
#include <memory>
#include <string>

#include "core/module_api.h"
#include "core/module_helpers.h"
#include "core/parser/msg_parser.h"
#include "core/proxy/reply_builder.h"
#include "modules/registrar/binding_update.h"
#include "modules/registrar/registrar_metrics.h"
#include "modules/usrloc/location_api.h"

namespace sipsd::registrar {
namespace {

constexpr std::string_view kModule = "registrar";

using usrloc::Binding;
using usrloc::LocationApi;
using usrloc::RecordPtr;

struct State {
  RegistrarParams params;
  LocationApi* loc = nullptr;
  CoreApi* core = nullptr;
  SelectFn certSubject;      // @tls.peer (subject CN) when the tls module is loaded
  SelectFn certFingerprint;  // @tls.peer.fingerprint
  RegistrarMetrics metrics;
};

State& state() {
  static State s;
  return s;
}

int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The request and where it came from, kept for a reply sent after the script run.
struct PendingRegister {
  std::string raw;
  ReceiveInfo rcv;
};

void sendReply(CoreApi& core, const SipMsg& msg, const ReceiveInfo& rcv, int code, std::string_view reason,
               const std::string& extra) {
  SipReplyOptions opt;
  opt.extraHeaders = extra;
  std::string out, err;
  if (!buildSipReply(msg, rcv, code, reason, opt, out, err)) {
    core.log(kLogErr, kModule, "cannot answer REGISTER from " + rcv.src.str() + ": " + err);
    return;
  }
  ScriptContext c(const_cast<SipMsg&>(msg), rcv, core);
  if (!core.sendReply(c, out))
    core.log(kLogNotice, kModule, "sending the " + std::to_string(code) + " to " + rcv.src.str() + " failed");
}

void replyLater(const PendingRegister& p, const usrloc::UpdateOutcome& o) {
  CoreApi& core = *state().core;
  SipMsg msg;
  std::string err;
  if (!parseMessage(p.raw, msg, err)) return;
  std::string extra = o.extraHeaders;
  if (o.code == 200) extra += BindingUpdate::contactHeaders(o.record.get(), unixNow());
  if (o.code >= 500)
    core.log(kLogErr, kModule, "REGISTER from " + p.rcv.src.str() + " answered " + std::to_string(o.code) + " " + o.reason);
  sendReply(core, msg, p.rcv, o.code, o.reason, extra);
}

std::string protoText(Proto p) {
  switch (p) {
    case Proto::UDP: return "udp";
    case Proto::TCP: return "tcp";
    case Proto::TLS: return "tls";
    default: return std::string(protoName(p));
  }
}

bool isStream(const std::string& proto) { return proto == "tcp" || proto == "tls"; }

Result<void> tableFixup(const char* fn, std::vector<FuncArg>& args) {
  if (args[0].kind != FuncArg::Kind::Str || args[0].str != "location")
    return fail(std::string(fn) + ": unknown location table '" + args[0].str + "' (the table is \"location\")");
  return {};
}

int save(ScriptContext& ctx) {
  State& st = state();
  SipMsg& msg = ctx.msg;
  if (msg.kind != SipMsg::Kind::Request || msg.method != "REGISTER") {
    st.core->log(kLogErr, kModule, "save(): only REGISTER requests can be saved (got " + std::string(msg.method) + ")");
    return -1;
  }
  auto req = std::make_shared<RegisterRequest>();
  std::string err;
  if (!RegisterRequest::parse(msg, *req, err)) {
    st.core->log(kLogNotice, kModule, "REGISTER from " + ctx.rcv.src.str() + ": " + err);
    sendReply(*st.core, msg, ctx.rcv, 400, err, {});
    ctx.replied = true;
    return -1;
  }
  std::string aor = st.loc->aorOf(req->toUri);
  if (aor.empty()) {
    sendReply(*st.core, msg, ctx.rcv, 400, "Bad To URI", {});
    ctx.replied = true;
    return -1;
  }
  auto src = std::make_shared<RegisterSource>();
  src->proto = protoText(ctx.rcv.proto);
  src->source = ctx.rcv.src.str();
  src->connId = isStream(src->proto) ? ctx.rcv.connId : 0;
  src->node = st.loc->nodeAddress();
  if (st.certSubject) src->certSubject = st.certSubject(ctx).text();
  if (st.certFingerprint) src->certFingerprint = st.certFingerprint(ctx).text();
  src->cflags = ctx.bflags;

  auto pending = std::make_shared<PendingRegister>();
  pending->raw.assign(msg.buf);
  pending->rcv = ctx.rcv;
  pending->rcv.session = nullptr;  // the connection may be gone when the answer is sent
  RegistrarParams params = st.params;
  st.loc->update(
      std::move(aor),
      [req, src, params](const usrloc::AorRecord* cur) {
        return BindingUpdate::compute(*req, *src, cur, unixNow(), params);
      },
      [pending](const usrloc::UpdateOutcome& o) { replyLater(*pending, o); });
  ctx.replied = true;
  return 1;
}

// Where a binding is reached: through the node holding its connection (cluster), over its
// own open connection, or (empty) at its Contact.
std::string destinationOf(const Binding& b, const State& st) {
  if (!b.node.empty() && b.node != st.loc->nodeAddress()) return b.node;
  if (isStream(b.proto) && st.core->connectionOpen(b.connId)) return "sip:" + b.source + ";transport=" + b.proto;
  return {};
}

std::string_view requestUri(const ScriptContext& ctx) {
  return ctx.newRuri.empty() ? ctx.msg.ruri : std::string_view(ctx.newRuri);
}

std::vector<const Binding*> liveBindings(const RecordPtr& rec, int64_t now) {
  std::vector<const Binding*> v;
  if (!rec) return v;
  for (const Binding& b : rec->bindings)
    if (b.expires > now) v.push_back(&b);
  // Highest q first; among equals the most recently registered.
  std::stable_sort(v.begin(), v.end(), [](const Binding* a, const Binding* b) {
    int qa = a->q < 0 ? 1000 : a->q, qb = b->q < 0 ? 1000 : b->q;
    return qa != qb ? qa > qb : a->updated > b->updated;
  });
  return v;
}

int lookup(ScriptContext& ctx) {
  State& st = state();
  if (!ctx.msg.isRequest() || ctx.msg.isHttp()) return -1;
  std::string ruri(requestUri(ctx));
  std::string aor = st.loc->aorOf(ruri);
  int worker = ctx.rcv.worker;
  int64_t now = unixNow();
  if (!st.loc->nodeAddress().empty()) {
    // Another node routed a request for one of this node's phones here, with its contact as
    // the request URI (README: cluster): deliver to that binding only, over its connection,
    // never fork again (no loops between nodes).
    size_t idx = 0;
    RecordPtr byContact = st.loc->getByContact(worker, ruri, idx);
    if (byContact && byContact->bindings[idx].expires > now) {
      ctx.dstUri = destinationOf(byContact->bindings[idx], st);
      ctx.bflags = byContact->bindings[idx].cflags;
      ctx.extraBranches.clear();
      return 1;
    }
  }
  RecordPtr rec = aor.empty() ? nullptr : st.loc->get(worker, aor);
  std::vector<const Binding*> live = liveBindings(rec, now);
  if (live.empty()) return -1;
  ctx.newRuri = live[0]->contact;
  ctx.dstUri = destinationOf(*live[0], st);
  ctx.bflags = live[0]->cflags;  // Kamailio: the contact's saved flags become its branch's
  ctx.extraBranches.clear();
  for (size_t i = 1; i < live.size(); ++i)
    ctx.extraBranches.push_back({live[i]->contact, destinationOf(*live[i], st), live[i]->cflags});
  return 1;
}

int registered(ScriptContext& ctx) {
  State& st = state();
  std::string aor = st.loc->aorOf(requestUri(ctx));
  if (aor.empty()) return -1;
  return liveBindings(st.loc->get(ctx.rcv.worker, aor), unixNow()).empty() ? -1 : 1;
}

FunctionExport function(const char* name, int (*fn)(ScriptContext&)) {
  return scriptFunction(
      name, 1, 1, [fn](ScriptContext& ctx, const std::vector<FuncArg>&, const void*) { return fn(ctx); }, kRequestRoute,
      [name](std::vector<FuncArg>& args, std::shared_ptr<void>&) { return tableFixup(name, args); });
}

ParamExport seconds(const char* name, uint32_t RegistrarParams::*field) {
  return {name, ParamType::Int, [name, field](const ParamValue& v) -> Result<void> {
            if (!v.isInt || v.num < 0 || v.num > 0x7fffffff) return fail(std::string(name) + " expects a number >= 0");
            state().params.*field = uint32_t(v.num);
            return {};
          }};
}

Result<void> init(CoreApi& core) {
  State& st = state();
  st.core = &core;
  st.loc = static_cast<LocationApi*>(core.moduleApi("usrloc", "location"));
  if (!st.loc) return fail("the registrar keeps its bindings in usrloc: add loadmodule \"usrloc\"");
  const RegistrarParams& p = st.params;
  if (p.defaultExpires == 0) return fail("default_expires must be > 0");
  if (p.maxExpires && p.minExpires > p.maxExpires)
    return fail("min_expires (" + std::to_string(p.minExpires) + ") is above max_expires (" + std::to_string(p.maxExpires) + ")");
  // The peer certificate is stored with the binding when TLS is there (protocol-neutral: the
  // selects are the tls module's; without it the fields stay empty).
  if (auto fn = core.resolveSelect({{"tls", -1}, {"peer", -1}})) st.certSubject = std::move(fn).value();
  if (auto fn = core.resolveSelect({{"tls", -1}, {"peer", -1}, {"fingerprint", -1}})) st.certFingerprint = std::move(fn).value();
  // Every final answer to a REGISTER, ours (save()) or the script's (sl_reply 403), is counted.
  core.addReplyObserver([](const ScriptContext& ctx, int status) {
    if (ctx.msg.isRequest() && ctx.msg.method == "REGISTER") state().metrics.replied(status);
  });
  core.addMetricsProvider("registrar", [](MetricsWriter& w) { state().metrics.write(w); });
  return {};
}

// A Kamailio registrar setting whose only value sipsd runs is the one its behaviour already
// has (`accepted`); another value is refused with what is missing (`missing`).
ParamExport onlyValue(const char* name, int64_t accepted, const char* missing) {
  return {name, ParamType::Int, [name, accepted, missing](const ParamValue& v) -> Result<void> {
            if (v.num != accepted)
              return fail(std::string(name) + " " + std::to_string(v.num) + " is not supported: " + missing + " (only " +
                          std::to_string(accepted) + ", what sipsd does, is accepted)");
            return {};
          }};
}

ModuleExports makeExports() {
  ModuleExports e;
  e.name = "registrar";
  e.params.push_back(seconds("default_expires", &RegistrarParams::defaultExpires));
  e.params.push_back(seconds("min_expires", &RegistrarParams::minExpires));
  e.params.push_back(seconds("max_expires", &RegistrarParams::maxExpires));
  e.params.push_back(seconds("max_contacts", &RegistrarParams::maxContacts));
  e.params.push_back(onlyValue("method_filtering", 0, "sipsd does not store the methods a contact allows"));
  e.params.push_back(onlyValue("use_path", 0, "sipsd does not store Path headers"));
  e.params.push_back(onlyValue("gruu_enabled", 0, "sipsd has no GRUU"));
  // path_mode only matters with use_path 1 (Kamailio ignores it otherwise, as sipsd does).
  e.params.push_back({"path_mode", ParamType::Int, [](const ParamValue& v) -> Result<void> {
                        if (v.num < 0 || v.num > 2) return fail("path_mode takes 0, 1 or 2");
                        return {};
                      }});
  e.functions.push_back(function("save", &save));
  e.functions.push_back(function("lookup", &lookup));
  e.functions.push_back(function("registered", &registered));
  e.init = &init;
  return e;
}

}  // namespace
}  // namespace sipsd::registrar

SIPSD_MODULE_EXPORTS(sipsd::registrar::makeExports)

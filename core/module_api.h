// The versioned module ABI: what a module exports and what the core offers it.
// A module is a shared object with one C entry point:
//   extern "C" const sipsd::ModuleExports* sipsd_module_exports();
// Modules and core are built by the same compiler from this tree, so C++ types cross the
// boundary; the ABI version guards against loading a module built for another core.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/net/local_addresses.h"
#include "core/metrics/metrics_registry.h"
#include "core/net/transport.h"
#include "core/result.h"
#include "core/rpc_value.h"
#include "core/script_context.h"
#include "core/source_loc.h"
#include "core/value.h"

namespace sipsd {

constexpr int kModuleAbiVersion = 1;

// ---- selects -------------------------------------------------------------------------
struct SelectPart {
  std::string name;
  int index = -1;  // -1 when no [N] was given
};
using SelectFn = std::function<Value(ScriptContext&)>;
// Resolves a full select path (parts[0] is the root the module registered) at config load:
// the closure to run per message, or why the path is not valid.
using SelectResolver = std::function<Result<SelectFn>(const std::vector<SelectPart>& parts)>;

struct SelectExport {
  std::string root;  // "tls", "xmlrpc", "http", ...
  SelectResolver resolve;
};

// ---- functions -----------------------------------------------------------------------
struct FuncArg {
  enum class Kind : uint8_t { Str, Int, Select } kind = Kind::Str;
  std::string str;   // literal text (also the select's text form for diagnostics)
  int64_t num = 0;
  SelectFn select;   // for Kind::Select

  // The argument's value for this message (literals or the select's result).
  Value eval(ScriptContext& ctx) const {
    switch (kind) {
      case Kind::Str: return Value::view(str);
      case Kind::Int: return Value::integer(num);
      case Kind::Select: return select(ctx);
    }
    return Value();
  }
};

// Return convention (SER): > 0 true, < 0 false, 0 stop the script (like exit).
using FunctionHandler = std::function<int(ScriptContext&, const std::vector<FuncArg>& args, const void* fixed)>;
// Checks/converts arguments at load; fails with the reason (the checker prefixes "NAME(): ").
using FunctionFixup = std::function<Result<void>(std::vector<FuncArg>& args, std::shared_ptr<void>& fixed)>;

// kBranchRoute: tm's branch_route[NAME] (it edits one outgoing branch); a request function that
// makes sense there opts in with kRequestRoute | kBranchRoute.
enum RouteMask : unsigned { kRequestRoute = 1, kOnReplyRoute = 2, kBranchRoute = 4, kAnyRoute = 7 };

struct FunctionExport {
  std::string name;
  int minArgs = 0;
  int maxArgs = 0;
  FunctionFixup fixup;      // may be empty
  FunctionHandler handler;
  unsigned routes = kAnyRoute;
  // Index of an argument that names a route of kind `routeArgKind` (t_on_failure("NAME")), or -1.
  // The checker resolves it at load (an unknown name is an error at the call) and hands the
  // handler an Int argument holding the route's index for CoreApi::runRoute().
  int routeArg = -1;
  RouteKind routeArgKind = RouteKind::Request;
  // Bit i set: argument i, when a string literal, is a format string whose `$pv` and `@select`
  // references the checker resolves at load and interpolates per message (xlog).
  unsigned formatArgs = 0;
};

// ---- params and config claims ----------------------------------------------------------
struct ParamValue {
  bool isInt = false;
  std::string str;
  int64_t num = 0;
  SourceLoc loc;
  std::string text() const { return isInt ? std::to_string(num) : str; }
};

enum class ParamType : uint8_t { Str, Int, Any };

struct ParamExport {
  std::string name;
  ParamType type = ParamType::Any;
  std::function<Result<void>(const ParamValue&)> set;  // fails with the reason the value is refused
};

// `name { key=value ... }` or `name[SELECTOR] { ... }` blocks at top level (e.g. tls_domain[IP:PORT]).
struct CfgBlock {
  std::string kind;
  std::string selector;
  std::vector<std::pair<std::string, ParamValue>> items;
  SourceLoc loc;
};

// ---- RPC -----------------------------------------------------------------------------
struct RpcMethod {
  std::string name;
  std::string help;
  std::function<RpcValue(const std::vector<RpcValue>& params)> call;  // throws RpcFault
  // Optional, for answers too large to build at once (ul.dump): the same method as an
  // RpcStream, which dispatch_rpc writes in parts as the client reads. Throws RpcFault like
  // `call`; `call` stays set for callers that cannot stream (it can drain the stream: drainRpcStream).
  std::function<std::unique_ptr<RpcStream>(const std::vector<RpcValue>& params)> stream = nullptr;
};

// ---- what the core offers modules ----------------------------------------------------------
enum LogLevel : int { kLogErr = 0, kLogWarn = 1, kLogNotice = 2, kLogInfo = 3, kLogDebug = 4 };

// A one-shot timer on the event loop of the worker that made it (CoreApi::makeWorkerTimer).
// Only that worker may arm or cancel it; destroying it cancels it.
class WorkerTimer {
 public:
  virtual ~WorkerTimer() = default;
  virtual void arm(std::chrono::milliseconds after) = 0;  // replaces a pending deadline
  virtual void cancel() = 0;
};

// Where CoreApi::prepareRelay sends a request: the destination as given, else $du, else the
// request URI ($ru when the script set it). `branch` is the branch of the Via the core inserts
// (empty: the stateless branch forward() uses).
struct RelayRequest {
  std::optional<std::string_view> host;
  std::optional<uint16_t> port;
  Proto proto = Proto::None;  // None: as the URI says
  std::string_view branch;
};

// A relayed request ready to go: the exact bytes and where they go.
struct RelayTarget {
  Proto proto = Proto::UDP;
  SockAddr dest;
  std::string data;
  ConnectOptions connect;
};

// Called on the calling worker, at once or after a DNS lookup: with a target, or with null and
// the status the sender is owed (400 bad URI, 478 unresolvable, 483 Max-Forwards, 503 no transport).
using RelayDone = std::function<void(RelayTarget* target, int code, std::string_view reason)>;

class CoreApi {
 public:
  virtual ~CoreApi() = default;
  virtual void log(int level, std::string_view module, std::string_view text) = 0;
  virtual int logLevel() const = 0;
  virtual int workerCount() const = 0;
  // Directory of the main config file; relative paths in config resolve against it.
  virtual const std::string& configDir() const = 0;
  // Run `fn` every `every` on the main (non-worker) timer thread.
  virtual void addTimer(std::chrono::milliseconds every, std::function<void()> fn) = 0;
  // Send `data` back to where the message in `ctx` came from (same connection or UDP socket).
  virtual bool sendReply(ScriptContext& ctx, std::string_view data) = 0;
  // Close the connection a message came on, after queued data is flushed.
  virtual void closeConnection(ScriptContext& ctx) = 0;
  // Close any connection by its id (tls.kill), after queued data is flushed; false if unknown.
  virtual bool closeConnectionById(uint64_t connId) { (void)connId; return false; }
  // Registered RPC methods (core and modules).
  virtual const std::vector<RpcMethod>& rpcMethods() const = 0;
  virtual void requestShutdown() = 0;
  // ---- added for usrloc/registrar (defaults keep other CoreApi implementations building) ----
  // The worker index of the calling thread, -1 outside the workers.
  virtual int currentWorker() const { return -1; }
  // Runs fn on worker `worker`'s loop thread (message passing between workers; FIFO per sender).
  virtual bool postToWorker(int worker, std::function<void()> fn) { (void)worker; (void)fn; return false; }
  // Whether the TCP/TLS connection with this id is still open.
  virtual bool connectionOpen(uint64_t connId) const { (void)connId; return false; }
  // Resolves a select another module registered (e.g. {"tls","peer","fingerprint"}) for use
  // outside the script; fails when nobody provides it.
  virtual Result<SelectFn> resolveSelect(const std::vector<SelectPart>& parts) {
    (void)parts;
    return fail("no select registry");
  }
  // The object a loaded module offers other modules under `name` (ModuleExports::api), or null.
  virtual void* moduleApi(const std::string& module, const std::string& name) { (void)module; (void)name; return nullptr; }
  // The listen= addresses of one protocol, canonical "ip:port" (tls checks its domains against them).
  virtual std::vector<std::string> listenAddresses(Proto proto) const { (void)proto; return {}; }

  // ---- worker services and protocol-neutral sending, for stateful modules (tm) ----
  // A one-shot timer on the calling worker's event loop; null when not called on a worker.
  virtual std::unique_ptr<WorkerTimer> makeWorkerTimer(std::function<void()> fn) { (void)fn; return nullptr; }
  // Runs route `index` of the compiled script (see FunctionExport::routeArg) on ctx; returns as
  // script::runRoute (0: the script stopped).
  virtual int runRoute(int index, ScriptContext& ctx) { (void)index; (void)ctx; return 1; }
  // Builds the request in ctx for relaying exactly as forward() does (Via with `branch`, $ru in
  // the request line, Max-Forwards, received/rport), picks and resolves the destination, and
  // hands the result to `done` (see RelayDone). Nothing is sent.
  virtual void prepareRelay(ScriptContext& ctx, const RelayRequest& req, RelayDone done) {
    (void)ctx; (void)req;
    done(nullptr, 503, "Service Unavailable");
  }
  // A datagram from our UDP listen socket of to's family; false when it cannot be sent now.
  virtual bool sendUdp(const SockAddr& to, std::string_view data) { (void)to; (void)data; return false; }
  // Over TCP/TLS (connection reuse, non-blocking connect and handshake) or UDP; `done` (may be
  // empty) runs on the calling worker with the outcome (see Server::sendTo).
  using SendOutcome = std::function<void(const Result<void>& sent)>;
  virtual void sendTo(Proto proto, const SockAddr& to, std::string data, const ConnectOptions& opt, SendOutcome done) {
    (void)proto; (void)to; (void)data; (void)opt;
    if (done) done(fail("not running"));
  }
  // Queues data on a live connection (by id); false if it is gone.
  virtual bool sendOnConnection(uint64_t connId, std::string data) { (void)connId; (void)data; return false; }
  // The local address of our listen socket a message to a destination of proto/family leaves
  // from (what a Via names).
  virtual std::optional<SockAddr> localAddressFor(Proto proto, int family) const { (void)proto; (void)family; return std::nullopt; }
  // Relays a reply statelessly by its next Via, as the core does for replies no module took.
  virtual void relayReply(ScriptContext& ctx) { (void)ctx; }
  // "Is this us?" (myself, is_myself(), rr's Route check): host, port (0: any of ours) and proto
  // (None: any) against our listen addresses, their advertise= names and alias= entries.
  virtual bool isMyself(std::string_view host, uint16_t port, Proto proto) const {
    (void)host, (void)port, (void)proto;
    return false;
  }
  // The same for a SIP URI ("sip:h:p;transport=tls") or "host[:port]".
  virtual bool uriIsMyself(std::string_view uriOrHost) const { (void)uriOrHost; return false; }
  // How we name our socket `local` over proto in Via and Record-Route (advertise= or its address).
  virtual SocketName socketName(Proto proto, const SockAddr& local) const {
    (void)proto;
    return {local.ip(), local.port()};
  }
  // Metrics (GET /metrics, http_metrics()): `fn` writes the module's families at each scrape,
  // on the scraping worker's thread, so it only reads (atomics, snapshots). Ignored under -c.
  virtual void addMetricsProvider(std::string owner, MetricsProvider fn) { (void)owner; (void)fn; }
  // Every provider's families as Prometheus text ("" when the server is not running).
  virtual std::string renderMetrics() { return {}; }
  // Called with every reply sendReply() sends (its status), on the sending thread; add in init()
  // only (read without a lock afterwards). The registrar counts REGISTER answers with it.
  using ReplyObserver = std::function<void(const ScriptContext& ctx, int status)>;
  virtual void addReplyObserver(ReplyObserver fn) { (void)fn; }
  // Streamed replies (an RPC answer written as the client reads it): fn(room) runs once, on the
  // connection's worker and on a later turn of its loop (never inside this call), when at most
  // a quarter of tcp_max_send_queue is queued on it; room = the bytes it may queue then without
  // reaching the bound. false when the connection is gone; fn is dropped unrun if it closes first.
  virtual bool whenDrained(uint64_t connId, std::function<void(size_t room)> fn) {
    (void)connId; (void)fn;
    return false;
  }
  // sendUdp() that also reports a refusal that comes later: with udp_send_batch the datagram
  // leaves at the end of the worker's loop round, so the kernel's answer is not known on return.
  // false: it cannot leave at all (then `sent` is not called); else `sent`, when set, may run on
  // this worker with the kernel's answer: 0 when it took the datagram, else the errno (possibly
  // before this returns: a full round's queue is sent at once). Passed to the batch as it is, so
  // a small lambda costs no allocation.
  using UdpSent = std::function<void(int err)>;
  virtual bool sendUdpReported(const SockAddr& to, std::string_view data, UdpSent sent) {
    (void)sent;
    return sendUdp(to, data);
  }
};

// ---- what a module exports ------------------------------------------------------------------
struct ModuleExports {
  int abiVersion = kModuleAbiVersion;
  std::string name;
  std::vector<ParamExport> params;
  std::vector<FunctionExport> functions;
  std::vector<SelectExport> selects;
  std::vector<RpcMethod> rpcs;
  // Transports this module serves, one per protocol (core/net/transport.h); the core looks
  // them up by protocol in its TransportRegistry and never by module.
  std::vector<TransportExport> transports;

  // Global `name=value` assignments the core does not know (e.g. tls_certificate=): true when
  // the module takes it, false when it is not the module's, a failure on bad input.
  std::function<Result<bool>(const std::string& name, const ParamValue& v)> claimGlobal;
  std::function<Result<bool>(const CfgBlock& block)> claimBlock;

  // Lifecycle. init runs after all params/claims (config check included: `sipsd -c`).
  // workerInit runs only in the running server (never under `sipsd -c`), after every module's
  // init, once the workers exist and their listeners are bound but before any worker thread
  // runs: on the main thread (not the worker's), once per worker index 0..children-1 in that
  // order, before sipsd logs "running with N workers". No message reaches a worker before every
  // hook has run. A failure stops sipsd. reload runs on SIGHUP; destroy when the loaded config is freed, in
  // reverse load order, for modules whose init ran. (README.md "Modules" says the same.)
  std::function<Result<void>(CoreApi&)> init;
  std::function<Result<void>(CoreApi&, int worker)> workerInit;
  std::function<void()> destroy;
  std::function<Result<void>()> reload;
  // An interface this module offers other modules (CoreApi::moduleApi), e.g. usrloc's "location".
  std::function<void*(const std::string& name)> api;

  // Message hooks, run on the receiving worker before the script (requests) or before
  // onreply_route's relay (replies): return true when the module took the message (a
  // retransmission absorbed, a reply to a transaction it owns), so nothing else handles it.
  std::function<bool(ScriptContext&)> onRequestIn;
  std::function<bool(ScriptContext&)> onReplyIn;
};

}  // namespace sipsd

extern "C" {
using SipsdModuleEntry = const sipsd::ModuleExports* (*)();
}

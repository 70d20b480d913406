#include "core/server/core_runtime.h"

#include <event2/event.h>

#include "core/config/loaded_config.h"
#include "core/event/libevent.h"
#include "core/log.h"
#include "core/net/conn_index.h"
#include "core/net/server.h"
#include "core/net/worker.h"
#include "core/proxy/stateless_proxy.h"
#include "core/script/executor.h"

namespace sipsd {

// A libevent timer on the worker loop that made it. The runtime frees every live one when the
// engine goes away (detach), before the event bases are freed, so a module may keep its timers
// until its destroy hook.
class LoopTimer : public WorkerTimer {
 public:
  LoopTimer(event_base* base, std::function<void()> fn, std::function<void(LoopTimer*)> forget)
      : fn_(std::move(fn)), forget_(std::move(forget)) {
    ev_.reset(evtimer_new(base, &LoopTimer::fire, this));
  }
  ~LoopTimer() override { forget_(this); }
  void arm(std::chrono::milliseconds after) override {
    if (!ev_) return;
    long ms = long(std::max<int64_t>(0, after.count()));
    timeval tv{ms / 1000, (ms % 1000) * 1000};
    evtimer_add(ev_.get(), &tv);
  }
  void cancel() override {
    if (ev_) evtimer_del(ev_.get());
  }
  void release() { ev_.reset(); }

 private:
  static void fire(evutil_socket_t, short, void* self) { static_cast<LoopTimer*>(self)->fn_(); }
  std::function<void()> fn_;
  std::function<void(LoopTimer*)> forget_;
  ev::EventPtr ev_;
};

CoreRuntime::CoreRuntime(LoadedConfig& cfg) : cfg_(cfg) {
  metricsRegistry_.add("core", [this](MetricsWriter& w) {
    if (Server* s = server_) metrics_.write(w, *s);
  });
}

void CoreRuntime::attach(Server* server) {
  std::lock_guard<std::mutex> lock(mu_);
  server_ = server;
  for (auto& [every, fn] : pendingTimers_) server_->addTimer(every, std::move(fn));
  pendingTimers_.clear();
}

void CoreRuntime::detach() {
  std::lock_guard<std::mutex> lock(mu_);
  server_ = nullptr;
  for (LoopTimer* t : loopTimers_) t->release();
  loopTimers_.clear();
}

void CoreRuntime::log(int level, std::string_view module, std::string_view text) {
  logging::write(level, module, text);
}

int CoreRuntime::logLevel() const { return logging::level(); }

int CoreRuntime::workerCount() const { return server_ ? server_->workerCount() : 0; }

const std::string& CoreRuntime::configDir() const { return cfg_.configDir; }

std::vector<std::string> CoreRuntime::listenAddresses(Proto proto) const {
  return listenAddressesOf(cfg_.settings.listens, proto);
}

void CoreRuntime::addTimer(std::chrono::milliseconds every, std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (server_)
    server_->addTimer(every, std::move(fn));
  else
    pendingTimers_.emplace_back(every, std::move(fn));
}

bool CoreRuntime::sendReply(ScriptContext& ctx, std::string_view data) {
  if (!server_) return false;
  if (int status = CoreMetrics::statusOf(data)) {
    metrics_.replySent(status);
    for (const auto& o : replyObservers_) o(ctx, status);
  }
  if (ctx.rcv.proto == Proto::UDP) return server_->sendUdp(ctx.rcv.dst, ctx.rcv.src, data);
  return server_->sendOnConnection(ctx.rcv.connId, std::string(data));
}

void CoreRuntime::closeConnection(ScriptContext& ctx) {
  if (server_ && ctx.rcv.connId) server_->closeConnection(ctx.rcv.connId);
}

bool CoreRuntime::closeConnectionById(uint64_t connId) {
  return server_ && connId && server_->closeConnection(connId);
}

const std::vector<RpcMethod>& CoreRuntime::rpcMethods() const { return cfg_.registry.rpcs(); }

void CoreRuntime::requestShutdown() {
  // Asynchronous: an RPC that asks for it still gets its answer sent (queues are flushed).
  if (server_) server_->requestStop(std::chrono::milliseconds(2000));
}

int CoreRuntime::currentWorker() const { return server_ ? server_->currentWorker() : -1; }

bool CoreRuntime::postToWorker(int worker, std::function<void()> fn) {
  if (!server_ || worker < 0 || worker >= server_->workerCount()) return false;
  server_->worker(worker)->loop().post(std::move(fn));
  return true;
}

std::unique_ptr<WorkerTimer> CoreRuntime::makeWorkerTimer(std::function<void()> fn) {
  Worker* w = Worker::current();
  if (!server_ || !w || &w->server() != server_) return nullptr;
  auto t = std::make_unique<LoopTimer>(w->loop().base(), std::move(fn), [this](LoopTimer* gone) {
    std::lock_guard<std::mutex> lock(mu_);
    loopTimers_.erase(gone);
  });
  std::lock_guard<std::mutex> lock(mu_);
  loopTimers_.insert(t.get());
  return t;
}

int CoreRuntime::runRoute(int index, ScriptContext& ctx) {
  if (!cfg_.script) return 1;
  return script::runRoute(*cfg_.script, index, ctx);
}

void CoreRuntime::prepareRelay(ScriptContext& ctx, const RelayRequest& req, RelayDone done) {
  if (!proxy_ || !server_) {
    done(nullptr, 503, "Service Unavailable");
    return;
  }
  proxy_->prepareRelay(ctx, req, std::move(done));
}

bool CoreRuntime::sendUdp(const SockAddr& to, std::string_view data) {
  return proxy_ && server_ && proxy_->sendDatagram(to, data);
}

bool CoreRuntime::sendUdpReported(const SockAddr& to, std::string_view data, UdpSent sent) {
  return proxy_ && server_ && proxy_->sendDatagram(to, data, std::move(sent));
}

void CoreRuntime::sendTo(Proto proto, const SockAddr& to, std::string data, const ConnectOptions& opt,
                         SendOutcome done) {
  if (!server_) {
    if (done) done(fail("not running"));
    return;
  }
  // The server reports (ok, error text) inside the core; modules get a Result. Sends nobody
  // waits for stay without a callback.
  SendDone serverDone;
  if (done)
    serverDone = [done = std::move(done)](bool ok, const std::string& err) {
      done(ok ? Result<void>() : Result<void>(fail(err)));
    };
  server_->sendTo(proto, to, std::move(data), opt, std::move(serverDone));
}

bool CoreRuntime::sendOnConnection(uint64_t connId, std::string data) {
  return server_ && server_->sendOnConnection(connId, std::move(data));
}

std::optional<SockAddr> CoreRuntime::localAddressFor(Proto proto, int family) const {
  if (!proxy_ || !server_) return std::nullopt;
  return proxy_->localFor(proto, family);
}

void CoreRuntime::relayReply(ScriptContext& ctx) {
  if (proxy_ && server_) proxy_->relayReply(ctx);
}

bool CoreRuntime::connectionOpen(uint64_t connId) const {
  return server_ && connId && server_->index().contains(connId);
}

Result<SelectFn> CoreRuntime::resolveSelect(const std::vector<SelectPart>& parts) {
  if (parts.empty()) return fail("empty select");
  const SelectExport* s = cfg_.registry.select(parts[0].name);
  if (!s) return fail("no module provides @" + parts[0].name);
  return s->resolve(parts);
}

void* CoreRuntime::moduleApi(const std::string& module, const std::string& name) {
  const ModuleExports* m = cfg_.registry.module(module);
  return m && m->api ? m->api(name) : nullptr;
}

}  // namespace sipsd

namespace sipsd {

bool CoreRuntime::isMyself(std::string_view host, uint16_t port, Proto proto) const {
  return server_ && server_->localAddresses().isMyself(host, port, proto);
}

bool CoreRuntime::uriIsMyself(std::string_view uriOrHost) const {
  return server_ && server_->localAddresses().uriIsMyself(uriOrHost);
}

SocketName CoreRuntime::socketName(Proto proto, const SockAddr& local) const {
  if (server_) return server_->localAddresses().nameOf(proto, local);
  return CoreApi::socketName(proto, local);
}

void CoreRuntime::addMetricsProvider(std::string owner, MetricsProvider fn) {
  metricsRegistry_.add(std::move(owner), std::move(fn));
}

std::string CoreRuntime::renderMetrics() { return metricsRegistry_.render(); }

void CoreRuntime::addReplyObserver(ReplyObserver fn) { replyObservers_.push_back(std::move(fn)); }

bool CoreRuntime::whenDrained(uint64_t connId, std::function<void(size_t room)> fn) {
  return server_ && connId && server_->whenDrained(connId, std::move(fn));
}

}  // namespace sipsd

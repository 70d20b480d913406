#include "core/server/core_runtime.h"

#include "core/config/loaded_config.h"
#include "core/log.h"
#include "core/net/conn_index.h"
#include "core/net/server.h"
#include "core/net/worker.h"

namespace sipsd {

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
  if (int status = CoreMetrics::statusOf(data)) metrics_.replySent(status);
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

bool CoreRuntime::connectionOpen(uint64_t connId) const {
  return server_ && connId && server_->index().contains(connId);
}

std::string CoreRuntime::resolveSelect(const std::vector<SelectPart>& parts, SelectFn& out) {
  if (parts.empty()) return "empty select";
  const SelectExport* s = cfg_.registry.select(parts[0].name);
  if (!s) return "no module provides @" + parts[0].name;
  return s->resolve(parts, out);
}

void* CoreRuntime::moduleApi(const std::string& module, const std::string& name) {
  const ModuleExports* m = cfg_.registry.module(module);
  return m && m->api ? m->api(name) : nullptr;
}

}  // namespace sipsd

namespace sipsd {

void CoreRuntime::addMetricsProvider(std::string owner, MetricsProvider fn) {
  metricsRegistry_.add(std::move(owner), std::move(fn));
}

std::string CoreRuntime::renderMetrics() { return metricsRegistry_.render(); }

}  // namespace sipsd

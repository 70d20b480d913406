// The CoreApi of the running server: what modules may ask of the core (logging, timers,
// replies on the connection a message came on, RPC list, shutdown). Created before the engine
// (modules are initialised while the config loads) and attached to it once it exists.
#pragma once
#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/module_api.h"
#include "core/server/core_metrics.h"

namespace sipsd {

class LoadedConfig;
class Server;
class StatelessProxy;
class LoopTimer;

class CoreRuntime : public CoreApi {
 public:
  explicit CoreRuntime(LoadedConfig& cfg);

  // Hands the engine over; timers added before this start now.
  void attach(Server* server);
  void detach();

  void log(int level, std::string_view module, std::string_view text) override;
  int logLevel() const override;
  int workerCount() const override;
  const std::string& configDir() const override;
  void addTimer(std::chrono::milliseconds every, std::function<void()> fn) override;
  bool sendReply(ScriptContext& ctx, std::string_view data) override;
  void closeConnection(ScriptContext& ctx) override;
  bool closeConnectionById(uint64_t connId) override;
  const std::vector<RpcMethod>& rpcMethods() const override;
  void requestShutdown() override;
  int currentWorker() const override;
  bool postToWorker(int worker, std::function<void()> fn) override;
  bool connectionOpen(uint64_t connId) const override;
  Result<SelectFn> resolveSelect(const std::vector<SelectPart>& parts) override;
  void* moduleApi(const std::string& module, const std::string& name) override;
  std::vector<std::string> listenAddresses(Proto proto) const override;
  std::unique_ptr<WorkerTimer> makeWorkerTimer(std::function<void()> fn) override;
  int runRoute(int index, ScriptContext& ctx) override;
  void prepareRelay(ScriptContext& ctx, const RelayRequest& req, RelayDone done) override;
  bool sendUdp(const SockAddr& to, std::string_view data) override;
  bool sendUdpReported(const SockAddr& to, std::string_view data, UdpSent sent) override;
  void sendTo(Proto proto, const SockAddr& to, std::string data, const ConnectOptions& opt, SendOutcome done) override;
  bool sendOnConnection(uint64_t connId, std::string data) override;
  std::optional<SockAddr> localAddressFor(Proto proto, int family) const override;
  void relayReply(ScriptContext& ctx) override;

  // The stateless proxy behind prepareRelay/sendUdp (set before the engine starts).
  void setProxy(StatelessProxy* proxy) { proxy_ = proxy; }
  bool isMyself(std::string_view host, uint16_t port, Proto proto) const override;
  bool uriIsMyself(std::string_view uriOrHost) const override;
  SocketName socketName(Proto proto, const SockAddr& local) const override;
  void addMetricsProvider(std::string owner, MetricsProvider fn) override;
  std::string renderMetrics() override;
  CoreMetrics& metrics() { return metrics_; }
  void addReplyObserver(ReplyObserver fn) override;
  bool whenDrained(uint64_t connId, std::function<void(size_t room)> fn) override;

 private:
  LoadedConfig& cfg_;
  Server* server_ = nullptr;
  StatelessProxy* proxy_ = nullptr;
  std::set<LoopTimer*> loopTimers_;  // made by makeWorkerTimer, freed at detach (guarded by mu_)
  std::mutex mu_;  // guards pending timers (module init runs before the engine exists)
  std::vector<std::pair<std::chrono::milliseconds, std::function<void()>>> pendingTimers_;
  CoreMetrics metrics_;
  MetricsRegistry metricsRegistry_;  // the core's provider first, then the modules'
  std::vector<ReplyObserver> replyObservers_;  // filled by module init, before workers run
};

}  // namespace sipsd

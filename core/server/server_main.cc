#include "core/server/server_main.h"

#include <event2/event.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include "core/log.h"
#include "core/net/server.h"
#include "core/proxy/stateless_proxy.h"
#include "core/rpc/core_rpcs.h"
#include "core/server/core_runtime.h"
#include "core/server/message_dispatcher.h"
#include "core/server/sd_notify.h"

namespace sipsd {
namespace {

void logCore(int level, const std::string& text) { logging::write(level, "core", text); }

ServerOptions serverOptions(const LoadedConfig& cfg) {
  const CoreSettings& s = cfg.settings;
  ServerOptions o;
  o.workers = s.children;
  for (const auto& l : s.listens) {
    o.listens.push_back(ListenSpec{l.proto, l.addr});
    o.advertised.push_back(SocketName{l.advertiseHost, l.advertisePort});
  }
  for (const auto& a : s.aliases) o.aliases.push_back({a.proto, a.host, a.port});
  o.connectionLifetime = std::chrono::seconds(s.tcpConnectionLifetime);
  o.maxConnections = size_t(s.tcpMaxConnections);
  o.connectTimeout = std::chrono::seconds(s.tcpConnectTimeout);
  o.sendTimeout = std::chrono::seconds(s.tcpSendTimeout);
  o.maxMessageSize = s.tcpMaxMessageSize;
  o.maxSendQueue = s.tcpMaxSendQueue;
  o.msgReadTimeout = std::chrono::seconds(s.tcpMsgReadTimeout);
  o.maxConnectionsPerIp = size_t(s.tcpMaxConnectionsPerIp);
  o.connectBackoff = std::chrono::seconds(s.tcpConnectBackoff);
  o.connectBackoffMax = std::chrono::seconds(s.tcpConnectBackoffMax);
  o.udpReplySteering = s.udpReplySteering;
  o.udpSendBatch = s.udpSendBatch;
  o.transports = cfg.registry.transports();
  return o;
}

std::string versionText() {
  return std::string("sipsd ") + SIPSD_VERSION + " (" + OpenSSL_version(OPENSSL_VERSION) + ", libevent " +
         event_get_version() + ")";
}

RpcValue statsValue(const Server& server) {
  std::vector<RpcWorkerStats> ws;
  for (const auto& s : server.stats()) {
    RpcWorkerStats r;
    r.connections = s.connectionsOpen;
    r.messagesIn = s.messagesIn;
    r.messagesOut = s.messagesOut;
    r.errors = s.errors;
    r.refused = s.rejected + s.refusedPerIp + s.refusedNoFd;
    r.evicted = s.evicted;
    r.timedOut = s.timedOut;
    r.httpOverUdp = s.httpOverUdp;
    ws.push_back(r);
  }
  return coreStatsValue(ws);
}

// core.stats totals on one line, for a signal's log entry.
std::string statsLine(const Server& server) {
  WorkerStats t;
  for (const auto& s : server.stats()) {
    t.connectionsOpen += s.connectionsOpen;
    t.messagesIn += s.messagesIn;
    t.messagesOut += s.messagesOut;
    t.errors += s.errors;
    t.rejected += s.rejected + s.refusedPerIp + s.refusedNoFd;
    t.evicted += s.evicted;
    t.timedOut += s.timedOut;
  }
  return "connections=" + std::to_string(t.connectionsOpen) + " messages_in=" + std::to_string(t.messagesIn) +
         " messages_out=" + std::to_string(t.messagesOut) + " errors=" + std::to_string(t.errors) +
         " refused=" + std::to_string(t.rejected) + " evicted=" + std::to_string(t.evicted) +
         " timed_out=" + std::to_string(t.timedOut);
}

void reloadModules(const LoadedConfig& cfg) {
  for (const ModuleExports* m : cfg.registry.modules()) {
    if (!m->reload) continue;
    if (auto done = m->reload())
      logCore(kLogNotice, "SIGHUP: module " + m->name + " reloaded");
    else
      logCore(kLogErr, "SIGHUP: module " + m->name + " reload failed, keeping the running configuration: " + done.error());
  }
}

}  // namespace

ServerRunner::ServerRunner() = default;
ServerRunner::~ServerRunner() = default;

void ServerRunner::prepare(LoadOptions& options) {
  proxy_ = std::make_unique<StatelessProxy>();
  options.proxy = proxy_.get();
  options.makeCoreApi = [](LoadedConfig& cfg) { return std::make_unique<CoreRuntime>(cfg); };
}

int ServerRunner::run(LoadedConfig& cfg) {
  auto& runtime = static_cast<CoreRuntime&>(*cfg.coreApi);

  // Signals are taken synchronously by one thread; workers (started below) inherit the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  // Kamailio habit: `kill -USR1` dumps memory stats there. Their default action would kill
  // sipsd without a word; here they log the core counters instead.
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  MessageDispatcher dispatcher(cfg, *proxy_);
  dispatcher.setMetrics(&runtime.metrics());
  Server server(serverOptions(cfg),
                [&dispatcher](std::string_view raw, const ReceiveInfo& rcv) { dispatcher.onMessage(raw, rcv); });

  CoreRpcEnv env;
  env.shutdown = [&runtime] { runtime.requestShutdown(); };
  env.stats = [&server] { return statsValue(server); };
  env.methods = [&cfg]() -> const std::vector<RpcMethod>& { return cfg.registry.rpcs(); };
  env.started = std::chrono::steady_clock::now();
  env.version = versionText();
  for (auto& m : coreRpcMethods(env)) {
    if (auto err = cfg.registry.addRpc(m, "core"); !err.empty()) {
      logCore(kLogErr, err);
      return 1;
    }
  }

  runtime.attach(&server);
  runtime.setProxy(proxy_.get());
  proxy_->attach(&server);
  // Worker-init hooks run before any worker thread reads a socket (see Server::start).
  auto initWorkers = [&cfg, &runtime, &server]() -> std::string {
    for (const ModuleExports* m : cfg.registry.modules()) {
      if (!m->workerInit) continue;
      for (int w = 0; w < server.workerCount(); ++w)
        if (auto done = m->workerInit(runtime, w); !done)
          return "module " + m->name + ": worker " + std::to_string(w) + " init failed: " + done.error();
    }
    return "";
  };
  if (std::string err = server.start(initWorkers); !err.empty()) {
    logCore(kLogErr, "cannot start: " + err);
    runtime.detach();
    return 1;
  }
  std::string where;
  for (const auto& l : server.listenAddresses())
    where += std::string(where.empty() ? "" : ", ") + std::string(protoName(l.proto)) + ":" + l.addr.str();
  logCore(kLogNotice, versionText() + " running with " + std::to_string(server.workerCount()) +
                          " workers on " + where);
  // systemd (Type=notify): every worker has bound its listeners, so clients are accepted now.
  const SdNotify notify;
  std::atomic<bool> stopNotified{false};
  auto tellSystemd = [&notify](const std::string& state) {
    if (std::string err = notify.send(state); !err.empty()) logCore(kLogWarn, "sd_notify: " + err);
  };
  tellSystemd("READY=1\nSTATUS=running with " + std::to_string(server.workerCount()) + " workers on " + where);

  std::atomic<bool> stopped{false};
  std::thread signals([&] {
    timespec tick{0, 200 * 1000 * 1000};
    while (!stopped.load()) {
      int sig = sigtimedwait(&set, nullptr, &tick);
      if (sig == SIGHUP) {
        tellSystemd(SdNotify::reloadingState());
        reloadModules(cfg);
        tellSystemd("READY=1");
      } else if (sig == SIGUSR1 || sig == SIGUSR2) {
        logCore(kLogNotice, std::string(sig == SIGUSR1 ? "SIGUSR1" : "SIGUSR2") +
                                " received (not a stop signal; use SIGTERM): " + statsLine(server));
      } else if (sig == SIGTERM || sig == SIGINT) {
        logCore(kLogNotice, std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") + ", stopping");
        if (!stopNotified.exchange(true)) tellSystemd("STOPPING=1");
        server.requestStop(std::chrono::milliseconds(2000));
      }
    }
  });
  server.wait();
  stopped = true;
  signals.join();
  if (!stopNotified.exchange(true)) tellSystemd("STOPPING=1");  // stopped by core.kill
  runtime.detach();
  logCore(kLogNotice, "stopped");
  return 0;
}

}  // namespace sipsd

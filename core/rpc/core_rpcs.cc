// The core RPC methods; see core_rpcs.h.
#include "core/rpc/core_rpcs.h"

#include <algorithm>
#include <ctime>

namespace sipsd {

namespace {

void expectNoParams(const std::string& method, const std::vector<RpcValue>& params) {
  if (!params.empty())
    throw RpcFault(kRpcInvalidParams, method + " takes no parameters (got " + std::to_string(params.size()) + ")");
}

// ISO 8601 in UTC: what a log line or a monitoring script can compare across hosts.
std::string isoUtc(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

RpcStruct workerEntry(int64_t index, const RpcWorkerStats& w) {
  RpcStruct s;
  if (index >= 0) s.emplace_back("worker", index);
  s.emplace_back("connections", w.connections);
  s.emplace_back("messages_in", w.messagesIn);
  s.emplace_back("messages_out", w.messagesOut);
  s.emplace_back("errors", w.errors);
  s.emplace_back("refused", w.refused);
  s.emplace_back("evicted", w.evicted);
  s.emplace_back("timed_out", w.timedOut);
  s.emplace_back("http_over_udp", w.httpOverUdp);
  return s;
}

}  // namespace

RpcValue coreStatsValue(const std::vector<RpcWorkerStats>& workers) {
  RpcWorkerStats total;
  RpcArray list;
  list.reserve(workers.size());
  for (size_t i = 0; i < workers.size(); ++i) {
    const RpcWorkerStats& w = workers[i];
    total.connections += w.connections;
    total.messagesIn += w.messagesIn;
    total.messagesOut += w.messagesOut;
    total.errors += w.errors;
    total.refused += w.refused;
    total.evicted += w.evicted;
    total.timedOut += w.timedOut;
    total.httpOverUdp += w.httpOverUdp;
    list.emplace_back(workerEntry(int64_t(i), w));
  }
  RpcStruct s = workerEntry(-1, total);
  s.emplace_back("workers", std::move(list));
  return s;
}

std::vector<RpcMethod> coreRpcMethods(const CoreRpcEnv& env) {
  std::vector<RpcMethod> m;

  m.push_back({"core.version", "Returns the version string of the running sipsd.",
               [version = env.version](const std::vector<RpcValue>& p) -> RpcValue {
                 expectNoParams("core.version", p);
                 return version;
               }});

  m.push_back({"core.uptime",
               "Returns a struct: now and up_since (ISO 8601, UTC) and uptime (whole seconds).",
               [started = env.started](const std::vector<RpcValue>& p) -> RpcValue {
                 expectNoParams("core.uptime", p);
                 // Uptime from the monotonic clock so a wall-clock step cannot make it negative.
                 auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
                 std::time_t now = std::time(nullptr);
                 RpcStruct s;
                 s.emplace_back("now", isoUtc(now));
                 s.emplace_back("up_since", isoUtc(now - std::time_t(up.count())));
                 s.emplace_back("uptime", int64_t(up.count()));
                 return s;
               }});

  m.push_back({"core.kill", "Stops sipsd gracefully (listeners close, queued data is flushed).",
               [shutdown = env.shutdown](const std::vector<RpcValue>& p) -> RpcValue {
                 expectNoParams("core.kill", p);
                 if (!shutdown) throw RpcFault(kRpcInternalError, "core.kill: shutdown is not available");
                 // shutdown() only schedules the stop, so this answer still reaches the caller.
                 shutdown();
                 return std::string("shutting down");
               }});

  m.push_back({"core.stats",
               "Returns connection and message counters: totals and one entry per worker "
               "(connections, messages_in, messages_out, errors, refused, evicted, timed_out, http_over_udp).",
               [stats = env.stats](const std::vector<RpcValue>& p) -> RpcValue {
                 expectNoParams("core.stats", p);
                 if (!stats) throw RpcFault(kRpcInternalError, "core.stats: statistics are not available");
                 return stats();
               }});

  m.push_back({"system.listMethods", "Returns the names of all RPC methods, sorted.",
               [methods = env.methods](const std::vector<RpcValue>& p) -> RpcValue {
                 expectNoParams("system.listMethods", p);
                 std::vector<std::string> names;
                 if (methods)
                   for (const RpcMethod& r : methods()) names.push_back(r.name);
                 std::sort(names.begin(), names.end());
                 RpcArray a;
                 a.reserve(names.size());
                 for (auto& n : names) a.emplace_back(std::move(n));
                 return a;
               }});

  m.push_back({"system.methodHelp", "system.methodHelp(name): returns the help text of an RPC method.",
               [methods = env.methods](const std::vector<RpcValue>& p) -> RpcValue {
                 if (p.size() != 1 || !std::holds_alternative<std::string>(p[0].v))
                   throw RpcFault(kRpcInvalidParams, "system.methodHelp takes one string parameter: the method name");
                 const std::string& name = std::get<std::string>(p[0].v);
                 if (methods)
                   for (const RpcMethod& r : methods())
                     if (r.name == name) return r.help;
                 throw RpcFault(kRpcMethodNotFound, "no such method: " + name);
               }});

  return m;
}

}  // namespace sipsd

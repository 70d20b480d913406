// The core's own RPC methods (SPEC §6): core.version, core.uptime, core.kill, core.stats,
// system.listMethods, system.methodHelp. The engine supplies what they report through
// CoreRpcEnv, so this file knows nothing about workers or connections.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/module_api.h"
#include "core/rpc_value.h"

namespace sipsd {

struct CoreRpcEnv {
  // Starts a graceful stop. Must only schedule it: core.kill returns its answer after calling
  // this, and the caller has to receive that answer before the listeners go away.
  std::function<void()> shutdown;
  // The core.stats value; build it with coreStatsValue() so every caller sees one shape.
  std::function<RpcValue()> stats;
  // Every registered RPC (core and modules), for system.listMethods / system.methodHelp.
  std::function<const std::vector<RpcMethod>&()> methods;
  std::chrono::steady_clock::time_point started;
  std::string version;  // e.g. "sipsd 0.1.0 (OpenSSL 3.0.x, libevent 2.1.x)"
};

// Counters of one worker (event loop) at the moment of the snapshot.
struct RpcWorkerStats {
  uint64_t connections = 0;   // open TCP/TLS connections owned by the worker
  uint64_t messagesIn = 0;    // messages parsed (SIP and HTTP)
  uint64_t messagesOut = 0;   // messages sent (forwarded, replies)
  uint64_t errors = 0;        // malformed input, failed sends, failed handshakes
  // Hardening counters (issue 9): connections refused at accept (table full, per-IP limit, out
  // of file descriptors), connections evicted to make room, connections cut because a message
  // or handshake did not complete in time, HTTP requests dropped on a datagram listener.
  uint64_t refused = 0;
  uint64_t evicted = 0;
  uint64_t timedOut = 0;
  uint64_t httpOverUdp = 0;
};

// The core.stats answer: totals first, then one entry per worker:
//   { connections, messages_in, messages_out, errors, refused, evicted, timed_out, http_over_udp,
//     workers: [ { worker, connections, messages_in, ... http_over_udp }, ... ] }
RpcValue coreStatsValue(const std::vector<RpcWorkerStats>& workers);

std::vector<RpcMethod> coreRpcMethods(const CoreRpcEnv& env);

}  // namespace sipsd

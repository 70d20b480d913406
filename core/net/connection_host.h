// ConnectionHost: what a Connection needs from the worker that owns it — the worker's
// counters, its per-thread read buffers, its settings, and the callbacks by which a connection
// hands over complete messages and reports that it was established or has closed. The worker
// implements it; a Connection never sees the worker's table, loop or other connections.
// Everything here is used on the owner worker's thread only, so nothing is locked.
#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/log.h"
#include "core/log_throttle.h"
#include "core/net/sock_addr.h"

namespace sipsd {

class Connection;
using SteadyClock = std::chrono::steady_clock;

// Log levels as in debug= (core/module_api.h LogLevel), for the engine's own lines.
namespace netlog {
constexpr int kErr = 0, kWarn = 1, kNotice = 2, kInfo = 3, kDebug = 4;
inline void write(int level, const std::string& text) {
  if (logging::enabled(level)) logging::write(level, "net", text);
}
}  // namespace netlog

// One worker's traffic counters: written by its thread, read by any (core.stats, metrics).
struct NetCounters {
  std::atomic<uint64_t> open{0}, accepted{0}, connected{0}, msgIn{0}, msgOut{0}, bytesIn{0}, bytesOut{0},
      errors{0}, stalled{0}, idle{0}, rejected{0};
  std::atomic<uint64_t> httpOverUdp{0};  // HTTP requests dropped on a datagram listener
  std::atomic<uint64_t> refusedPerIp{0}, refusedNoFd{0}, evicted{0}, timedOut{0};
  std::array<std::atomic<uint64_t>, kProtoCount> openBy{};  // `open` by protocol (metrics)
};

// What a closing connection was, captured before its socket went.
struct ClosedAs {
  bool unusedOutbound = false;  // outbound, never usable: its connect, handshake or the peer's verdict failed
  bool pastConnect = false;     // the TCP connect had completed (the handshake or verdict failed)
};

class ConnectionHost {
 public:
  virtual ~ConnectionHost() = default;

  // A complete message framed on c (`msg` is valid during the call only).
  virtual void dispatch(Connection& c, std::string_view msg) = 0;
  // c completed its first message or keep-alive (it is no longer an eviction candidate).
  virtual void firstMessage(Connection& c) = 0;
  // c finished its connect/handshake: count it; with a session, an outbound one then awaits
  // the peer's verdict (Connection::awaitVerdict), else it is usable at once (confirmed).
  virtual void established(Connection& c) = 0;
  // Outbound c is usable (the peer accepted us): tell those waiting to send.
  virtual void confirmed(Connection& c) = 0;
  // c has closed its socket; the host drops it from its tables and frees it later (never
  // inside this call, which may run from c's own callbacks). `reason` is for those waiting.
  virtual void closed(Connection& c, const std::string& reason, const ClosedAs& as) = 0;

  // Shared by every connection of the worker: one thread, one read at a time.
  NetCounters counters;
  std::string readBuf;                     // socket reads
  std::string plainBuf;                    // what the session decrypted from one read
  SteadyClock::time_point readTime{};      // when the read being processed began (one clock call per read)
  LogThrottle inputLog;                    // framing and transport errors of peers
  size_t maxSendQueue = 1 << 20;           // bytes queued per connection before it is closed

  // c is about to write outside its own read: true when the host calls c.endRoundCork() at the
  // end of its loop round instead, so that what the round sends to c goes out in one write.
  virtual bool corkUntilRoundEnd(Connection& c) { (void)c; return false; }
};

}  // namespace sipsd

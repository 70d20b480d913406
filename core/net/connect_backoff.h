// A worker's negative cache of outbound destinations whose connect or TLS handshake failed
// (issue 9): while a destination backs off, a send to it fails at once with the reason the last
// attempt failed with, instead of opening a new connection. A UDP sender retransmits a request
// every 500 ms or faster; without this each retransmission would cost a connect and a handshake
// and still get no answer. Owned by one worker thread, so it is never locked; consulted only
// when a new connection would be opened, never for sends on open connections.
#pragma once
#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>

#include "core/net/sock_addr.h"

namespace sipsd {

class ConnectBackoff {
 public:
  using Clock = std::chrono::steady_clock;

  // base: how long a destination is avoided after its first failure (0: never); each failure
  // of the first attempt after a back-off doubles it, up to cap. A destination whose last
  // failure is older than cap starts again at base.
  ConnectBackoff(std::chrono::milliseconds base, std::chrono::milliseconds cap, size_t maxEntries = 4096);

  bool enabled() const { return base_.count() > 0; }
  // The reason sends to (proto, to, domainKey) fail with while it backs off; null when a
  // connection may be opened.
  const std::string* blocked(Proto proto, const SockAddr& to, const std::string& domainKey, Clock::time_point now) const;
  // A connection to the destination failed before it was usable: back off. Returns the period.
  std::chrono::milliseconds failed(Proto proto, const SockAddr& to, const std::string& domainKey, std::string reason,
                                   Clock::time_point now);
  // A connection to the destination works: forget its failures.
  void succeeded(Proto proto, const SockAddr& to, const std::string& domainKey);
  size_t size() const { return entries_.size(); }

  // The reply-worthy text for a connection that failed at its TCP connect or TLS handshake,
  // e.g. "TLS handshake to 127.0.0.1:5071 failed (tlsv13 alert certificate required)": a 503's
  // reason phrase. Only the last part of `why` (the close reason) is kept, bounded and printable;
  // the whole of it goes to the log.
  static std::string failureText(const SockAddr& to, bool handshake, std::string_view why);
  // Whether `err` (a SendDone error) is such a text, so a proxy may use it as a reason phrase.
  static bool isFailureText(const std::string& err);

 private:
  struct Key {
    Proto proto;
    SockAddr addr;
    std::string domainKey;  // the client TLS domain: a failure with one identity says nothing of another
    bool operator==(const Key& o) const { return proto == o.proto && addr == o.addr && domainKey == o.domainKey; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  struct Entry {
    Clock::time_point until;
    std::chrono::milliseconds period;
    std::string reason;
  };
  // Drops entries whose failure is older than cap; at the bound, also the entry ending soonest.
  void prune(Clock::time_point now);

  std::chrono::milliseconds base_, cap_;
  size_t maxEntries_;
  std::unordered_map<Key, Entry, KeyHash> entries_;
};

}  // namespace sipsd

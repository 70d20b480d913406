// The live TLS sessions of a module, for tls.list / tls.info. The mutex is taken only when a
// session is created or destroyed and by the RPCs, never per message.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>

namespace sipsd::tls {

class TlsSession;

class SessionRegistry {
 public:
  void add(uint64_t key, const TlsSession* s);
  void remove(uint64_t key);
  size_t size() const;
  // Calls `fn` for every session while holding the lock (sessions cannot go away meanwhile).
  void forEach(const std::function<void(const TlsSession&)>& fn) const;
  // A registry key for sessions that have no connection id (tests, early failures).
  uint64_t nextKey() { return nextKey_.fetch_add(1); }

 private:
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, const TlsSession*> sessions_;
  std::atomic<uint64_t> nextKey_{1};
};

}  // namespace sipsd::tls

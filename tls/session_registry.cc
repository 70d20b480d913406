// Registry of live sessions.
#include "tls/session_registry.h"

namespace sipsd::tls {

void SessionRegistry::add(uint64_t key, const TlsSession* s) {
  std::lock_guard lk(mu_);
  sessions_[key] = s;
}

void SessionRegistry::remove(uint64_t key) {
  std::lock_guard lk(mu_);
  sessions_.erase(key);
}

size_t SessionRegistry::size() const {
  std::lock_guard lk(mu_);
  return sessions_.size();
}

void SessionRegistry::forEach(const std::function<void(const TlsSession&)>& fn) const {
  std::lock_guard lk(mu_);
  for (const auto& [k, s] : sessions_) fn(*s);
}

}  // namespace sipsd::tls

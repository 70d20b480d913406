// Per-source-IP connection counts (see ip_limiter.h).
#include "core/net/ip_limiter.h"

namespace sipsd {

IpLimiter::Key IpLimiter::keyOf(const SockAddr& a) {
  Key k;
  k.family = uint8_t(a.family());
  if (a.family() == AF_INET) {
    std::memcpy(k.addr, &reinterpret_cast<const sockaddr_in*>(a.sa())->sin_addr, 4);
  } else if (a.family() == AF_INET6) {
    std::memcpy(k.addr, &reinterpret_cast<const sockaddr_in6*>(a.sa())->sin6_addr, 16);
  }
  return k;
}

size_t IpLimiter::KeyHash::operator()(const Key& k) const {
  // FNV-1a over the address bytes: cheap, and the family byte keeps v4 and v6 apart.
  uint64_t h = 1469598103934665603ULL ^ k.family;
  for (uint8_t b : k.addr) h = (h ^ b) * 1099511628211ULL;
  return size_t(h ^ (h >> 29));
}

bool IpLimiter::acquire(const SockAddr& peer, size_t limit) {
  if (limit == 0) return true;
  Key k = keyOf(peer);
  Shard& s = shardOf(k);
  std::lock_guard<std::mutex> lk(s.mu);
  uint32_t& n = s.counts[k];
  if (n >= limit) {
    if (n == 0) s.counts.erase(k);
    return false;
  }
  ++n;
  return true;
}

void IpLimiter::release(const SockAddr& peer) {
  Key k = keyOf(peer);
  Shard& s = shardOf(k);
  std::lock_guard<std::mutex> lk(s.mu);
  auto it = s.counts.find(k);
  if (it == s.counts.end()) return;
  if (--it->second == 0) s.counts.erase(it);
}

size_t IpLimiter::count(const SockAddr& peer) const {
  Key k = keyOf(peer);
  const Shard& s = shardOf(k);
  std::lock_guard<std::mutex> lk(s.mu);
  auto it = s.counts.find(k);
  return it == s.counts.end() ? 0 : it->second;
}

}  // namespace sipsd

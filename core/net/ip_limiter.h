// Per-source-IP count of inbound TCP/TLS connections across all workers, for
// tcp_max_connections_per_ip: one peer address cannot take the whole connection table.
// Touched once at accept and once at close (never per message); sharded so workers accepting
// at the same time rarely share a lock.
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "core/net/sock_addr.h"

namespace sipsd {

class IpLimiter {
 public:
  // Takes a slot for `peer`'s IP when it holds fewer than `limit` (0: no limit, always true).
  bool acquire(const SockAddr& peer, size_t limit);
  // Gives back a slot taken by acquire().
  void release(const SockAddr& peer);
  // Connections counted for `peer`'s IP now (for tests and logs).
  size_t count(const SockAddr& peer) const;

 private:
  struct Key {
    uint8_t family = 0;
    uint8_t addr[16] = {};
    bool operator==(const Key& o) const { return family == o.family && std::memcmp(addr, o.addr, 16) == 0; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<Key, uint32_t, KeyHash> counts;
  };
  static Key keyOf(const SockAddr& a);
  Shard& shardOf(const Key& k) { return shards_[KeyHash()(k) % shards_.size()]; }
  const Shard& shardOf(const Key& k) const { return shards_[KeyHash()(k) % shards_.size()]; }

  std::array<Shard, 16> shards_;
};

}  // namespace sipsd

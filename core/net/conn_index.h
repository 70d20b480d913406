// The cross-worker connection index: which connection ids are alive, and which connections
// lead to a remote ip:port (for replies and RFC 5923 style reuse). Read-mostly and sharded;
// it is touched when connections open or close and when a send looks for a reusable
// connection, never per received message. A connection id carries its owner worker in the
// top 16 bits, so finding the owner needs no lookup at all.
#pragma once
#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/net/sock_addr.h"

namespace sipsd {

class ConnIndex {
 public:
  static uint64_t makeId(int worker, uint64_t seq) { return (uint64_t(worker + 1) << 48) | (seq & 0xffffffffffffULL); }
  static int ownerOf(uint64_t id) { return int(id >> 48) - 1; }

  void add(uint64_t id, Proto proto, const SockAddr& remote, const std::string& reuseKey);
  void remove(uint64_t id, Proto proto, const SockAddr& remote);
  bool contains(uint64_t id) const;
  // A live connection to `remote` over proto opened with this reuse key (0 if none).
  uint64_t find(Proto proto, const SockAddr& remote, const std::string& reuseKey) const;
  // Any live connection to `remote` over proto, whatever it was opened with (replies go back
  // on the connection a request came on, RFC 3261 §18.2.2). 0 if none.
  uint64_t findAny(Proto proto, const SockAddr& remote) const;

 private:
  static constexpr size_t kShards = 16;
  struct Entry {
    uint64_t id;
    Proto proto;
    std::string key;
  };
  struct IdShard {
    mutable std::mutex mu;
    std::unordered_set<uint64_t> ids;
  };
  struct RemoteShard {
    mutable std::mutex mu;
    std::unordered_map<SockAddr, std::vector<Entry>, SockAddrHash> byRemote;
  };
  std::array<IdShard, kShards> ids_;
  std::array<RemoteShard, kShards> remotes_;
};

}  // namespace sipsd

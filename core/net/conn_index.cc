// ConnIndex: sharded maps of live connection ids and remote addresses (see conn_index.h).
#include "core/net/conn_index.h"

#include <algorithm>

namespace sipsd {

void ConnIndex::add(uint64_t id, Proto proto, const SockAddr& remote, const std::string& reuseKey) {
  {
    auto& s = ids_[id % kShards];
    std::lock_guard<std::mutex> lk(s.mu);
    s.ids.insert(id);
  }
  auto& r = remotes_[SockAddrHash()(remote) % kShards];
  std::lock_guard<std::mutex> lk(r.mu);
  r.byRemote[remote].push_back(Entry{id, proto, reuseKey});
}

void ConnIndex::remove(uint64_t id, Proto proto, const SockAddr& remote) {
  (void)proto;
  {
    auto& s = ids_[id % kShards];
    std::lock_guard<std::mutex> lk(s.mu);
    s.ids.erase(id);
  }
  auto& r = remotes_[SockAddrHash()(remote) % kShards];
  std::lock_guard<std::mutex> lk(r.mu);
  auto it = r.byRemote.find(remote);
  if (it == r.byRemote.end()) return;
  auto& v = it->second;
  v.erase(std::remove_if(v.begin(), v.end(), [&](const Entry& e) { return e.id == id; }), v.end());
  if (v.empty()) r.byRemote.erase(it);
}

bool ConnIndex::contains(uint64_t id) const {
  auto& s = ids_[id % kShards];
  std::lock_guard<std::mutex> lk(s.mu);
  return s.ids.count(id) != 0;
}

uint64_t ConnIndex::find(Proto proto, const SockAddr& remote, const std::string& reuseKey) const {
  auto& r = remotes_[SockAddrHash()(remote) % kShards];
  std::lock_guard<std::mutex> lk(r.mu);
  auto it = r.byRemote.find(remote);
  if (it == r.byRemote.end()) return 0;
  for (const Entry& e : it->second)
    if (e.proto == proto && e.key == reuseKey) return e.id;
  return 0;
}

uint64_t ConnIndex::findAny(Proto proto, const SockAddr& remote) const {
  auto& r = remotes_[SockAddrHash()(remote) % kShards];
  std::lock_guard<std::mutex> lk(r.mu);
  auto it = r.byRemote.find(remote);
  if (it == r.byRemote.end()) return 0;
  for (const Entry& e : it->second)
    if (e.proto == proto) return e.id;
  return 0;
}

}  // namespace sipsd

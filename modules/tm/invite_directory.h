// Which worker owns an open INVITE server transaction, for the requests that must reach it but
// may arrive on another worker: a CANCEL (or the ACK for a non-2xx, or a retransmission) sent
// over another connection or from another source port than its INVITE. A fixed table of atomic
// words indexed by the transaction key's hash: the owner writes its slot when it creates the
// transaction and clears it when it frees it (one relaxed store each, no lock); a worker that
// misses locally reads the slot and posts the request to the worker named there, which checks
// the full key. A slot holds the upper 56 bits of the hash and the worker, so a slot taken over
// by another INVITE (two open keys with the same index) only makes the older one unreachable
// from other workers — the request is then handled as unmatched, as without the table.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>

namespace sipsd::tm {

class InviteDirectory {
 public:
  static constexpr size_t kSlots = size_t(1) << 16;  // 512 KB; a hint table, not exhaustive

  InviteDirectory() : slots_(new std::atomic<uint64_t>[kSlots]) {
    for (size_t i = 0; i < kSlots; ++i) slots_[i].store(0, std::memory_order_relaxed);
  }

  void publish(uint64_t hash, int worker) {
    slot(hash).store(tag(hash, worker), std::memory_order_relaxed);
  }
  void retract(uint64_t hash, int worker) {
    uint64_t mine = tag(hash, worker);
    slot(hash).compare_exchange_strong(mine, 0, std::memory_order_relaxed);
  }
  // The worker that published `hash`, or -1.
  int owner(uint64_t hash) const {
    uint64_t v = slots_[hash & (kSlots - 1)].load(std::memory_order_relaxed);
    if (v == 0 || (v >> 8) != (hash >> 8)) return -1;
    return int(v & 0xff) - 1;
  }

 private:
  static uint64_t tag(uint64_t hash, int worker) { return (hash >> 8 << 8) | uint64_t(worker + 1); }
  std::atomic<uint64_t>& slot(uint64_t hash) { return slots_[hash & (kSlots - 1)]; }
  std::unique_ptr<std::atomic<uint64_t>[]> slots_;
};

}  // namespace sipsd::tm

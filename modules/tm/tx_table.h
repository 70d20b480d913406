// One worker's transactions by id, and the finished ones kept for reuse.
//
// An id is (sequence << 24 | slot): the slot indexes a flat array, so a lookup (every reply,
// every timer) is one array read and one compare of the full id, which also rejects a late
// reply for an earlier transaction that had the same slot. It replaced an
// unordered_map<uint64_t, unique_ptr<Transaction>>: a node allocation per transaction, rehashes
// as the table grew, and a bucket-chain walk per lookup.
//
// Finished transactions go to a free list (one for INVITE, one for the other methods, whose
// buffers differ in size) instead of back to malloc: a new transaction then reuses the object,
// its branch vector and the heap blocks of its strings (request, key, replies), which removes
// most of tm's mallocs per call and keeps a worker's heap from churning. The lists are bounded
// (kPoolMax objects each) and a string larger than kKeepBytes is released before an object is
// kept, so what the lists hold is bounded too (at most 2 * kPoolMax * ~(6 * kKeepBytes)).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "modules/tm/transaction.h"

namespace sipsd::tm {

class TxTable {
 public:
  static constexpr int kSlotBits = 24;  // 16M open transactions per worker
  static constexpr uint32_t kMaxSlots = uint32_t(1) << kSlotBits;
  static constexpr size_t kPoolMax = 512;    // finished objects kept per list
  static constexpr size_t kKeepBytes = 4096;  // larger string buffers are not kept

  // `seq`: the first sequence number (random per start, so branches differ across restarts).
  explicit TxTable(uint64_t seq = 1) : seq_(seq) {}

  // A new transaction with a fresh id (every other field as a new Transaction), or null when
  // every slot is taken.
  Transaction* create(bool invite);
  // The open transaction with this id, or null.
  Transaction* find(uint64_t id) const {
    const uint64_t slot = slotOf(id);
    if (slot >= slots_.size()) return nullptr;
    Transaction* tx = slots_[slot].get();
    return tx && tx->id == id ? tx : nullptr;
  }
  // The open transaction in `slot` (TimerHeap entries name slots), or null.
  Transaction* atSlot(uint32_t slot) const { return slot < slots_.size() ? slots_[slot].get() : nullptr; }
  // Ends tx (found by its id): its slot is free, the object kept for reuse or freed.
  void release(Transaction* tx);

  size_t size() const { return open_; }
  size_t pooled() const { return pool_[0].size() + pool_[1].size(); }

  static uint32_t slotOf(uint64_t id) { return uint32_t(id & (kMaxSlots - 1)); }

 private:
  std::vector<std::unique_ptr<Transaction>> slots_;
  std::vector<uint32_t> freeSlots_;  // LIFO: recently freed slots are warm in the cache
  std::vector<std::unique_ptr<Transaction>> pool_[2];  // [invite]
  size_t open_ = 0;
  uint64_t seq_;
};

}  // namespace sipsd::tm

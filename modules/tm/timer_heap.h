// Deadlines of one worker's transactions: an indexed 4-ary min-heap of (due, slot) with at most
// one entry per transaction slot (tx_table.h), and each slot's position in the heap, so a
// transaction's deadline is moved or removed in place in O(log n).
// It replaced a heap that pushed a new entry on every reschedule and skipped stale ones when
// they surfaced: an INVITE left ~5 entries behind, the stale ones due up to fr_inv_timer
// (120 s) later, so at a few thousand calls/s the heap held over a million entries, kept
// doubling its array (fresh pages: page faults and a memmove of megabytes) and every pop walked
// ~20 levels of cache-cold entries. Here the heap holds the open transactions that have a
// deadline and nothing else; positions live in a dense array by slot, not in the transactions,
// so sifting does not touch transaction memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sipsd::tm {

class TimerHeap {
 public:
  // Sets (adds or moves) the deadline of `slot`.
  void set(uint32_t slot, int64_t due);
  // Removes the deadline of `slot` if it has one.
  void remove(uint32_t slot);
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  int64_t nextDue() const { return heap_.front().due; }
  // Removes the earliest deadline due at or before `now` and returns its slot; false when none is.
  bool popDue(int64_t now, uint32_t& slot);
  // The deadline of `slot`, or 0 when it has none.
  int64_t dueOf(uint32_t slot) const;

 private:
  struct Entry {
    int64_t due;
    uint32_t slot;
  };
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr size_t kArity = 4;

  void place(size_t i, Entry e);
  void siftUp(size_t i, Entry e);
  void siftDown(size_t i, Entry e);
  void removeAt(size_t i);

  std::vector<Entry> heap_;
  std::vector<uint32_t> pos_;  // by slot: index in heap_, kNone when absent
};

}  // namespace sipsd::tm

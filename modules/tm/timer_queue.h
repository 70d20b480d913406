// Deadlines of one worker's transactions: a min-heap of (due time, transaction id, stamp).
// A transaction keeps one entry for its earliest deadline; rescheduling pushes a new entry and
// the old one is skipped when it surfaces (its stamp no longer matches), so cancel and re-arm
// are O(log n) without searching the heap. One WorkerTimer per worker is armed at the top.
#pragma once
#include <cstdint>
#include <queue>
#include <vector>

namespace sipsd::tm {

class TimerQueue {
 public:
  struct Entry {
    int64_t due;    // ms on the steady clock
    uint64_t id;    // transaction id
    uint64_t stamp; // the schedule it belongs to
    bool operator>(const Entry& o) const { return due > o.due; }
  };

  // Adds an entry and returns its stamp (the caller remembers it as the live one).
  uint64_t push(int64_t due, uint64_t id) {
    uint64_t stamp = ++lastStamp_;
    heap_.push(Entry{due, id, stamp});
    return stamp;
  }
  bool empty() const { return heap_.empty(); }
  int64_t nextDue() const { return heap_.top().due; }
  // Pops the next entry due at or before `now`; false when none is.
  bool popDue(int64_t now, Entry& out) {
    if (heap_.empty() || heap_.top().due > now) return false;
    out = heap_.top();
    heap_.pop();
    return true;
  }
  size_t size() const { return heap_.size(); }

 private:
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_;
  uint64_t lastStamp_ = 0;
};

}  // namespace sipsd::tm

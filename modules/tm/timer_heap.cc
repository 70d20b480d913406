// TimerHeap: a 4-ary heap (four 16-byte children share a cache line, and it is half as deep as
// a binary one), sifted with a hole (each level moves one entry and updates its position once).
#include "modules/tm/timer_heap.h"

namespace sipsd::tm {

void TimerHeap::place(size_t i, Entry e) {
  heap_[i] = e;
  pos_[e.slot] = uint32_t(i);
}

void TimerHeap::siftUp(size_t i, Entry e) {
  while (i > 0) {
    size_t parent = (i - 1) / kArity;
    if (heap_[parent].due <= e.due) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, e);
}

void TimerHeap::siftDown(size_t i, Entry e) {
  const size_t n = heap_.size();
  for (;;) {
    const size_t first = kArity * i + 1;
    if (first >= n) break;
    size_t child = first;
    const size_t last = first + kArity < n ? first + kArity : n;
    for (size_t c = first + 1; c < last; ++c)
      if (heap_[c].due < heap_[child].due) child = c;
    if (heap_[child].due >= e.due) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, e);
}

void TimerHeap::set(uint32_t slot, int64_t due) {
  if (slot >= pos_.size()) pos_.resize(size_t(slot) + 1 > pos_.size() * 2 ? size_t(slot) + 1 : pos_.size() * 2, kNone);
  uint32_t at = pos_[slot];
  if (at == kNone) {
    heap_.push_back(Entry{due, slot});
    siftUp(heap_.size() - 1, Entry{due, slot});
    return;
  }
  const int64_t old = heap_[at].due;
  if (due < old)
    siftUp(at, Entry{due, slot});
  else if (due > old)
    siftDown(at, Entry{due, slot});
}

void TimerHeap::removeAt(size_t i) {
  pos_[heap_[i].slot] = kNone;
  Entry last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return;  // it was the last one
  // The last entry fills the hole: up if it is earlier than the hole's parent, else down.
  if (i > 0 && last.due < heap_[(i - 1) / kArity].due)
    siftUp(i, last);
  else
    siftDown(i, last);
}

void TimerHeap::remove(uint32_t slot) {
  if (slot >= pos_.size() || pos_[slot] == kNone) return;
  removeAt(pos_[slot]);
}

bool TimerHeap::popDue(int64_t now, uint32_t& slot) {
  if (heap_.empty() || heap_.front().due > now) return false;
  slot = heap_.front().slot;
  removeAt(0);
  return true;
}

int64_t TimerHeap::dueOf(uint32_t slot) const {
  if (slot >= pos_.size() || pos_[slot] == kNone) return 0;
  return heap_[pos_[slot]].due;
}

}  // namespace sipsd::tm

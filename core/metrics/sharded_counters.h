// Counters for the hot path without locks or shared cache lines: each thread (in practice each
// worker, which is one thread) adds to its own row with a relaxed atomic add; a scrape sums the
// rows. Threads beyond kShards share rows, which stays correct (the adds are atomic).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace sipsd {

class ShardedCounters {
 public:
  explicit ShardedCounters(size_t count)
      : count_(count), lines_((count + kPerLine - 1) / kPerLine), rows_(new Line[kShards * lines_]) {}

  void add(size_t which, uint64_t n = 1) {
    rows_[row() * lines_ + which / kPerLine].v[which % kPerLine].fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t sum(size_t which) const {
    uint64_t s = 0;
    for (size_t r = 0; r < kShards; ++r) s += rows_[r * lines_ + which / kPerLine].v[which % kPerLine].load(std::memory_order_relaxed);
    return s;
  }
  size_t size() const { return count_; }

 private:
  static constexpr size_t kShards = 32;
  static constexpr size_t kPerLine = 8;  // 8 x 8 bytes: one cache line
  struct alignas(64) Line {
    std::atomic<uint64_t> v[kPerLine] = {};
  };
  // The calling thread's row, handed out round-robin on its first add.
  static size_t row() {
    static std::atomic<size_t> next{0};
    thread_local const size_t mine = next.fetch_add(1, std::memory_order_relaxed) % kShards;
    return mine;
  }

  size_t count_;
  size_t lines_;
  std::unique_ptr<Line[]> rows_;
};

}  // namespace sipsd

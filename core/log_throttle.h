// Rate limiting for log lines caused by network input (refused connections, dropped datagrams,
// malformed messages): the first event is logged at once, later ones at most once per interval
// with a count of those not logged, so a flood costs a few lines instead of one per packet.
// Not thread-safe: each worker (or thread_local user) keeps its own.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace sipsd {

class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LogThrottle(std::chrono::milliseconds interval = std::chrono::seconds(1)) : interval_(interval) {}

  // Counts one event. True when this one should be logged now; then append note() to the line.
  bool allow(Clock::time_point now = Clock::now()) {
    ++count_;
    if (logged_ && now - last_ < interval_) {
      ++suppressed_;
      return false;
    }
    logged_ = true;
    last_ = now;
    return true;
  }

  // " (N more since the last line)" for the events counted but not logged, then resets that
  // count; "" when there were none.
  std::string note() {
    if (suppressed_ == 0) return {};
    std::string s = " (" + std::to_string(suppressed_) + " more not logged in the last " + intervalText() + ")";
    suppressed_ = 0;
    return s;
  }

  // For a periodic sweep: when events were suppressed and the interval has passed, the count
  // that a summary line should report (and resets it); else 0. Keeps the last burst visible
  // even when no further event comes to carry note().
  uint64_t takeOverdue(Clock::time_point now = Clock::now()) {
    if (suppressed_ == 0 || now - last_ < interval_) return 0;
    uint64_t n = suppressed_;
    suppressed_ = 0;
    last_ = now;
    return n;
  }

  uint64_t total() const { return count_; }
  std::string intervalText() const {
    auto ms = interval_.count();
    return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
  }

 private:
  std::chrono::milliseconds interval_;
  Clock::time_point last_{};
  bool logged_ = false;
  uint64_t suppressed_ = 0;
  uint64_t count_ = 0;
};

}  // namespace sipsd

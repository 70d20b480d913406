// What the load threads of sipsd-bench share: the operation budget (count or deadline) and the
// phase barriers whose completion step stamps the measured interval (wall clock, server CPU,
// client CPU) while every thread is parked, so the interval covers exactly the load phase. With
// --warmup a warm-up phase comes first, between one more barrier: its tickets run until its own
// deadline and take nothing from the count.
#pragma once
#include "bench_options.h"

#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <optional>

namespace sipsd::bench {

using Clock = std::chrono::steady_clock;

class RunControl;

struct PhaseMark {
  RunControl* rc;
  void operator()() noexcept;
};

class RunControl {
 public:
  RunControl(const BenchOptions& opt, int threads);

  // Blocks until every load thread arrived. Without a warm-up the first call starts the measured
  // interval and sets the deadline, the second ends it; with one (--warmup), the first starts
  // the warm-up, the second ends it and starts the measured interval, the third ends that.
  void arriveAndWait() { barrier_.arrive_and_wait(); }

  // One more operation may start (warm-up and duration mode: before the phase's deadline;
  // count mode: budget left).
  bool takeTicket(Clock::time_point now) {
    if (warming_) return now < deadline_;
    if (counted_) return budget_.fetch_sub(1, std::memory_order_relaxed) > 0;
    return now < deadline_;
  }

  Clock::time_point start() const { return start_; }
  Clock::time_point end() const { return end_; }
  std::optional<double> serverCpuStart() const { return serverCpuStart_; }
  std::optional<double> serverCpuEnd() const { return serverCpuEnd_; }
  double clientCpu() const { return clientCpuEnd_ - clientCpuStart_; }

 private:
  friend struct PhaseMark;
  void mark() noexcept;

  const BenchOptions& opt_;
  const bool counted_;
  std::atomic<std::int64_t> budget_;
  std::barrier<PhaseMark> barrier_;
  int phase_ = 0;
  bool warming_ = false;  // between the warm-up's barriers (written while every thread is parked)
  Clock::time_point start_{}, end_{}, deadline_{};
  std::optional<double> serverCpuStart_, serverCpuEnd_;
  double clientCpuStart_ = 0, clientCpuEnd_ = 0;
};

}  // namespace sipsd::bench

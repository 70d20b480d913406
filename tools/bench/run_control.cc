// Phase stamps and operation budget shared by the load threads (see run_control.h).
#include "run_control.h"

#include "proc_stats.h"

namespace sipsd::bench {

void PhaseMark::operator()() noexcept { rc->mark(); }

RunControl::RunControl(const BenchOptions& opt, int threads)
    : opt_(opt), counted_(opt.count > 0), budget_(opt.count), barrier_(threads, PhaseMark{this}) {}

void RunControl::mark() noexcept {
  const auto now = Clock::now();
  std::optional<double> cpu;
  if (opt_.serverPid > 0) cpu = processCpuSeconds(opt_.serverPid);
  if (phase_ == 0) {
    start_ = now;
    deadline_ = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt_.duration));
    serverCpuStart_ = cpu;
    clientCpuStart_ = selfCpuSeconds();
  } else if (phase_ == 1) {
    end_ = now;
    serverCpuEnd_ = cpu;
    clientCpuEnd_ = selfCpuSeconds();
  }
  ++phase_;
}

}  // namespace sipsd::bench

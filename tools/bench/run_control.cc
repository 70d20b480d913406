// Phase stamps and operation budget shared by the load threads (see run_control.h).
#include "run_control.h"

#include "proc_stats.h"

#include <cstdio>

namespace sipsd::bench {

void PhaseMark::operator()() noexcept { rc->mark(); }

RunControl::RunControl(const BenchOptions& opt, int threads)
    : opt_(opt), counted_(opt.count > 0), budget_(opt.count), barrier_(threads, PhaseMark{this}) {}

namespace {

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

}  // namespace

void RunControl::mark() noexcept {
  const bool warm = opt_.warmup > 0;
  if (warm && phase_ == 0) {
    warming_ = true;
    deadline_ = Clock::now() + seconds(opt_.warmup);
    ++phase_;
    return;
  }
  const int phase = phase_ - (warm ? 1 : 0);
  if (phase == 0 && warm) {
    warming_ = false;
    if (opt_.warmupWait) {
      // The caller samples what it measures itself (e.g. a server's process group) now; any
      // line, or the end of stdin, goes on.
      std::fputs("warmed-up\n", stdout);
      std::fflush(stdout);
      char line[64];
      (void)!std::fgets(line, sizeof line, stdin);
    }
  }
  const auto now = Clock::now();
  std::optional<double> cpu;
  if (opt_.serverPid > 0) cpu = processCpuSeconds(opt_.serverPid);
  if (phase == 0) {
    start_ = now;
    deadline_ = now + seconds(opt_.duration);
    serverCpuStart_ = cpu;
    clientCpuStart_ = selfCpuSeconds();
  } else if (phase == 1) {
    end_ = now;
    serverCpuEnd_ = cpu;
    clientCpuEnd_ = selfCpuSeconds();
  }
  ++phase_;
}

}  // namespace sipsd::bench

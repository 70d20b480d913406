// Reads another process's CPU time and resident memory from /proc, for server-side cost figures.
#pragma once
#include <optional>
#include <sys/types.h>

namespace sipsd::bench {

// utime+stime of all threads (alive and exited) of `pid`, in seconds, from /proc/PID/stat.
// Resolution is one clock tick (usually 10 ms).  nullopt when the process is gone.
std::optional<double> processCpuSeconds(pid_t pid);

// VmRSS of `pid` in KiB from /proc/PID/status, or nullopt.
std::optional<long> processRssKib(pid_t pid);

// This process's own CPU time (user+system) in seconds.
double selfCpuSeconds();

}  // namespace sipsd::bench

// A log-linear latency histogram (about 3% precision, fixed memory), one per load thread,
// merged at the end for p50/p99.  Recording is a few integer operations: no allocation.
#pragma once
#include <array>
#include <cstdint>

namespace sipsd::bench {

class LatencyHistogram {
 public:
  void record(std::uint64_t ns);
  void merge(const LatencyHistogram& other);
  std::uint64_t count() const { return count_; }
  // The latency (ns) below which `q` (0..1) of the samples fall; 0 when empty.
  std::uint64_t percentile(double q) const;

 private:
  static constexpr int kSubBits = 5;                 // 32 linear sub-buckets per power of two
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = (64 - kSubBits + 1) * kSub;
  static int indexOf(std::uint64_t ns);
  static std::uint64_t upperBound(int index);
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
};

}  // namespace sipsd::bench

// Log-linear latency histogram (see latency_histogram.h).
#include "latency_histogram.h"

#include <bit>

namespace sipsd::bench {

int LatencyHistogram::indexOf(std::uint64_t ns) {
  if (ns < kSub) return static_cast<int>(ns);
  const int msb = 63 - std::countl_zero(ns);         // >= kSubBits
  const int shift = msb - kSubBits;
  const auto sub = static_cast<int>((ns >> shift) & (kSub - 1));
  return (shift + 1) * kSub + sub;
}

std::uint64_t LatencyHistogram::upperBound(int index) {
  if (index < kSub) return static_cast<std::uint64_t>(index);
  const int shift = index / kSub - 1;
  const auto sub = static_cast<std::uint64_t>(index % kSub);
  return ((kSub + sub + 1) << shift) - 1;
}

void LatencyHistogram::record(std::uint64_t ns) {
  ++counts_[static_cast<std::size_t>(indexOf(ns))];
  ++count_;
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
}

std::uint64_t LatencyHistogram::percentile(double q) const {
  if (count_ == 0) return 0;
  auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_));
  if (rank >= count_) rank = count_ - 1;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen > rank) return upperBound(static_cast<int>(i));
  }
  return upperBound(kBuckets - 1);
}

}  // namespace sipsd::bench

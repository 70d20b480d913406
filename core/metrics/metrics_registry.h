// The providers a scrape asks, in registration order (the core first, then modules as they
// initialise). Registration and scrapes take a mutex; neither is on the message path.
#pragma once
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/metrics/metrics_writer.h"

namespace sipsd {

using MetricsProvider = std::function<void(MetricsWriter&)>;

class MetricsRegistry {
 public:
  void add(std::string owner, MetricsProvider fn);
  // Every provider's families, as Prometheus text.
  std::string render() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, MetricsProvider>> providers_;
};

}  // namespace sipsd

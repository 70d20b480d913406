#include "core/metrics/metrics_registry.h"

namespace sipsd {

void MetricsRegistry::add(std::string owner, MetricsProvider fn) {
  std::lock_guard lk(mu_);
  providers_.emplace_back(std::move(owner), std::move(fn));
}

std::string MetricsRegistry::render() const {
  MetricsWriter w;
  std::lock_guard lk(mu_);
  for (const auto& [owner, fn] : providers_) fn(w);
  return w.text();
}

}  // namespace sipsd

#include "tls/tls_ops.h"

#include <chrono>
#include <ctime>

#include "tls/tls_metrics.h"
#include "tls/tls_module.h"

namespace sipsd::tls {

int TlsOps::days() const { return m_.globals().expiryWarningDays; }

void TlsOps::check() {
  if (days() <= 0) return;
  if (auto set = m_.transport().current()) monitor_->check(*set, days(), int64_t(std::time(nullptr)));
}

void TlsOps::start(CoreApi& core) {
  check();
  if (started_) return;
  started_ = true;
  core.addMetricsProvider("tls", [this](MetricsWriter& w) {
    auto set = m_.transport().current();
    TlsMetrics::instance().write(w, set.get(), days(), int64_t(std::time(nullptr)));
  });
  core.addTimer(std::chrono::seconds(60), [this] { check(); });
}

}  // namespace sipsd::tls

#include "tls/tls_ops.h"

#include <chrono>
#include <ctime>

#include "tls/tls_metrics.h"
#include "tls/tls_module.h"

namespace sipsd::tls {

std::vector<ParamExport> TlsOps::params() {
  std::vector<ParamExport> p;
  p.push_back({"expiry_warning_days", ParamType::Any, [this](const ParamValue& v) {
                 auto n = parseInt(v);
                 if (!n || *n < 0 || *n > 3650) return "expiry_warning_days must be 0..3650, not '" + v.text() + "'";
                 days_ = int(*n);
                 return std::string();
               }});
  return p;
}

void TlsOps::check() {
  if (days_ <= 0) return;
  if (auto set = m_.transport().current()) monitor_->check(*set, days_, int64_t(std::time(nullptr)));
}

void TlsOps::start(CoreApi& core) {
  check();
  if (started_) return;
  started_ = true;
  core.addMetricsProvider("tls", [this](MetricsWriter& w) {
    auto set = m_.transport().current();
    TlsMetrics::instance().write(w, set.get(), days_, int64_t(std::time(nullptr)));
  });
  core.addTimer(std::chrono::seconds(60), [this] { check(); });
}

}  // namespace sipsd::tls

// Operations glue of the tls module: the expiry_warning_days parameter, the metrics provider
// (handshakes, reloads, expiry gauges) and the expiry check (at start, then every minute).
#pragma once
#include <memory>
#include <vector>

#include "core/module_api.h"
#include "tls/expiry_monitor.h"

namespace sipsd::tls {

class TlsModule;

class TlsOps {
 public:
  explicit TlsOps(TlsModule& m) : m_(m) {}
  std::vector<ParamExport> params();
  // With the core at init (also under `sipsd -c`, which then warns about what is due).
  void start(CoreApi& core);
  int expiryWarningDays() const { return days_; }

 private:
  void check();

  TlsModule& m_;
  int days_ = 14;
  bool started_ = false;
  std::shared_ptr<ExpiryMonitor> monitor_ = std::make_shared<ExpiryMonitor>();
};

}  // namespace sipsd::tls

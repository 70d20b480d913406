// Operations glue of the tls module: expiry warnings (expiry_warning_days), the metrics provider
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
  // With the core at init (also under `sipsd -c`, which then warns about what is due).
  void start(CoreApi& core);
  int expiryWarningDays() const { return days(); }

 private:
  void check();
  int days() const;  // expiry_warning_days (a setting of tls/setting_table.h)

  TlsModule& m_;
  bool started_ = false;
  std::shared_ptr<ExpiryMonitor> monitor_ = std::make_shared<ExpiryMonitor>();
};

}  // namespace sipsd::tls

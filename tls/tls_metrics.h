// The TLS module's metrics: handshakes by side and outcome (counted per worker, summed at
// scrape), reloads, and per domain the certificate's notAfter and the CRLs' nextUpdate as
// Unix-time gauges with an expiry-warning flag (expiry_warning_days).
#pragma once
#include <cstdint>
#include <string>

#include "core/metrics/metrics_writer.h"
#include "core/metrics/sharded_counters.h"
#include "tls/tls_config.h"

namespace sipsd::tls {

class TlsDomainSet;

enum class HandshakeOutcome : uint8_t {
  Ok, Revoked, Expired, UnknownCa, NoCertificate, VerifyFailed, Timeout, Aborted, Protocol, Count
};

class TlsMetrics {
 public:
  // One per process: sessions count into it from every worker.
  static TlsMetrics& instance();

  void handshake(Side side, HandshakeOutcome o) { c_.add(size_t(side) * kOutcomes + size_t(o)); }
  void reload(bool ok) { c_.add(2 * kOutcomes + (ok ? 0 : 1)); }
  uint64_t handshakes(Side side, HandshakeOutcome o) const { return c_.sum(size_t(side) * kOutcomes + size_t(o)); }

  // Why a handshake failed: the first certificate verification error (X509_V_ERR_*, 0 if none)
  // and the OpenSSL reason of the failure (ERR_GET_REASON).
  static HandshakeOutcome classify(int verifyErr, int sslReason);
  static const char* outcomeName(HandshakeOutcome o);

  // Families for a scrape; `set` may be null (TLS disabled or not built).
  void write(MetricsWriter& w, const TlsDomainSet* set, int expiryWarningDays, int64_t now) const;

 private:
  static constexpr size_t kOutcomes = size_t(HandshakeOutcome::Count);
  ShardedCounters c_{2 * kOutcomes + 2};
};

}  // namespace sipsd::tls

// Expiry of what a TLS domain relies on: each domain's certificate (notAfter) and the CRLs in
// its trust store (nextUpdate). An operator is warned in the log expiry_warning_days before
// (default 14) and again each day until it is renewed; the same data feeds the metrics.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sipsd::tls {

class TlsDomainSet;

struct ExpiryItem {
  std::string domain;  // "server:default"
  std::string kind;    // "certificate" or "crl"
  std::string name;    // certificate subject CN / CRL issuer CN
  int64_t when = 0;    // Unix time of notAfter / nextUpdate (0: none, e.g. a CRL without one)
};

class ExpiryMonitor {
 public:
  static std::vector<ExpiryItem> collect(const TlsDomainSet& set);
  static bool due(const ExpiryItem& it, int days, int64_t now) { return it.when > 0 && it.when - now < int64_t(days) * 86400; }

  // Logs a warning for each certificate within `days` of its notAfter (or past it), at most once
  // a day per item (CRLs: TlsModule::checkCrlDates). Returns how many it logged.
  int check(const TlsDomainSet& set, int days, int64_t now);

 private:
  std::map<std::string, int64_t> lastLogged_;  // item key -> when it was last logged
};

}  // namespace sipsd::tls

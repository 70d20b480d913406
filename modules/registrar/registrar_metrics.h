// The registrar's metrics: REGISTER requests answered here, accepted (2xx) or refused by code
// (the script's own refusals, e.g. the certificate rule's 403, included: every REGISTER reply
// sent through the core is counted). Per-worker counters summed at scrape (ShardedCounters).
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/metrics/metrics_writer.h"
#include "core/metrics/sharded_counters.h"

namespace sipsd::registrar {

class RegistrarMetrics {
 public:
  // A final reply to a REGISTER was sent (provisional ones are not counted).
  void replied(int status) {
    if (status >= 200) c_.add(slotOf(status));
  }
  uint64_t count(size_t slot) const { return c_.sum(slot); }
  void write(MetricsWriter& w) const;

  // The refusal codes counted on their own; anything else is "other".
  static constexpr int kCodes[] = {400, 401, 403, 404, 407, 423, 480, 500, 503};
  static constexpr size_t kAccepted = 0;
  static constexpr size_t kOther = 1 + sizeof(kCodes) / sizeof(kCodes[0]);
  static size_t slotOf(int status);

 private:
  ShardedCounters c_{kOther + 1};
};

}  // namespace sipsd::registrar

// tm's counters for GET /metrics: transactions created and freed by type (active = the
// difference), replies relayed upstream by class, retransmissions tm sent or absorbed, and
// branches ended by fr_timer / fr_inv_timer. Counted per worker thread without locks
// (ShardedCounters), summed when scraped.
#pragma once
#include <cstdint>

#include "core/metrics/metrics_writer.h"
#include "core/metrics/sharded_counters.h"

namespace sipsd::tm {

class TmMetrics {
 public:
  enum Retrans : uint8_t { kRequestSent, kReplySent, kRequestAbsorbed };

  void created(bool invite) { c_.add(invite ? 0 : 1); }
  void freed(bool invite) { c_.add(invite ? 2 : 3); }
  void relayed(int status) {
    if (status >= 100 && status < 700) c_.add(4 + size_t(status / 100 - 1));
  }
  void retransmission(Retrans kind) { c_.add(10 + size_t(kind)); }
  void timeout(bool frInv) { c_.add(frInv ? 14 : 13); }

  uint64_t createdCount(bool invite) const { return c_.sum(invite ? 0 : 1); }
  uint64_t activeCount(bool invite) const;

  // Writes the families; `bytes` is the memory the open transactions hold now.
  void write(MetricsWriter& w, uint64_t bytes) const;

 private:
  ShardedCounters c_{15};
};

}  // namespace sipsd::tm

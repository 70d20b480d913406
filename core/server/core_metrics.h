// The core's metrics: connections by transport and messages in/out (the workers' own counters,
// summed at scrape time) and SIP replies by class, counted here per worker without locks.
#pragma once
#include <string_view>

#include "core/metrics/metrics_writer.h"
#include "core/metrics/sharded_counters.h"

namespace sipsd {

class Server;

class CoreMetrics {
 public:
  // A reply sipsd generated (sl_reply, t_reply, 400s ...): counted when it is sent.
  void replySent(int status) { count(0, status); }
  // A reply that arrived (relayed or absorbed by a module).
  void replyReceived(int status) { count(6, status); }
  // The status code of a SIP reply's wire text ("SIP/2.0 200 OK..."), 0 when it is not one.
  static int statusOf(std::string_view data);
  void write(MetricsWriter& w, const Server& server) const;

 private:
  void count(size_t base, int status) {
    if (status >= 100 && status < 700) counters_.add(base + size_t(status / 100 - 1));
  }
  ShardedCounters counters_{12};  // [0..5] local 1xx..6xx, [6..11] received
};

}  // namespace sipsd

#include "core/server/core_metrics.h"

#include <array>

#include "core/net/server.h"

namespace sipsd {

int CoreMetrics::statusOf(std::string_view d) {
  if (d.size() < 12 || d.substr(0, 8) != "SIP/2.0 ") return 0;
  int s = 0;
  for (size_t i = 8; i < 11; ++i) {
    if (d[i] < '0' || d[i] > '9') return 0;
    s = s * 10 + (d[i] - '0');
  }
  return s;
}

void CoreMetrics::write(MetricsWriter& w, const Server& server) const {
  std::array<uint64_t, kProtoCount> byProto{};
  uint64_t in = 0, out = 0, accepted = 0, connected = 0, errors = 0;
  for (const WorkerStats& s : server.stats()) {
    for (size_t i = 0; i < kProtoCount; ++i) byProto[i] += s.connectionsByProto[i];
    in += s.messagesIn;
    out += s.messagesOut;
    accepted += s.accepted;
    connected += s.connected;
    errors += s.errors;
  }
  w.family("sipsd_workers", "gauge", "Worker threads (children).");
  w.sample("sipsd_workers", {}, int64_t(server.workerCount()));
  w.family("sipsd_connections", "gauge", "Open stream connections by transport.");
  for (size_t i = 0; i < kProtoCount; ++i)
    if (isStreamProto(Proto(i))) w.sample("sipsd_connections", {{"transport", protoToken(Proto(i))}}, byProto[i]);
  w.family("sipsd_connections_opened_total", "counter", "Stream connections accepted (inbound) and established (outbound).");
  w.sample("sipsd_connections_opened_total", {{"direction", "inbound"}}, accepted);
  w.sample("sipsd_connections_opened_total", {{"direction", "outbound"}}, connected);
  w.family("sipsd_messages_total", "counter", "SIP/HTTP messages received (complete) and sent (accepted for delivery).");
  w.sample("sipsd_messages_total", {{"direction", "in"}}, in);
  w.sample("sipsd_messages_total", {{"direction", "out"}}, out);
  w.family("sipsd_errors_total", "counter", "Framing errors, failed handshakes and connects, dropped datagrams.");
  w.sample("sipsd_errors_total", {}, errors);
  static const char* const kClass[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "6xx"};
  w.family("sipsd_sip_replies_total", "counter",
           "SIP replies by class: origin=local were generated here, origin=received arrived from peers.");
  for (size_t i = 0; i < 6; ++i) w.sample("sipsd_sip_replies_total", {{"origin", "local"}, {"class", kClass[i]}}, counters_.sum(i));
  for (size_t i = 0; i < 6; ++i) w.sample("sipsd_sip_replies_total", {{"origin", "received"}, {"class", kClass[i]}}, counters_.sum(6 + i));
}

}  // namespace sipsd

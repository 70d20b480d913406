#include "modules/tm/tm_metrics.h"

namespace sipsd::tm {

uint64_t TmMetrics::activeCount(bool invite) const {
  // Summed separately, so a scrape racing a worker may see a free before its create.
  uint64_t made = c_.sum(invite ? 0 : 1), gone = c_.sum(invite ? 2 : 3);
  return made > gone ? made - gone : 0;
}

void TmMetrics::write(MetricsWriter& w, uint64_t bytes) const {
  static const char* const kType[] = {"invite", "non_invite"};
  w.family("sipsd_tm_transactions_created_total", "counter", "Transactions tm created (t_relay, t_reply, t_newtran) by type.");
  for (int i = 0; i < 2; ++i) w.sample("sipsd_tm_transactions_created_total", {{"type", kType[i]}}, createdCount(i == 0));
  w.family("sipsd_tm_transactions_active", "gauge", "Transactions open now (including the wait after completion) by type.");
  for (int i = 0; i < 2; ++i) w.sample("sipsd_tm_transactions_active", {{"type", kType[i]}}, activeCount(i == 0));
  w.family("sipsd_tm_transaction_bytes", "gauge", "Memory held by the open transactions.");
  w.sample("sipsd_tm_transaction_bytes", {}, bytes);
  w.family("sipsd_tm_replies_relayed_total", "counter",
           "Replies from branches relayed upstream by class (local replies such as 100 Trying or 408 not included).");
  static const char* const kClass[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "6xx"};
  for (size_t i = 0; i < 6; ++i) w.sample("sipsd_tm_replies_relayed_total", {{"class", kClass[i]}}, c_.sum(4 + i));
  w.family("sipsd_tm_retransmissions_total", "counter",
           "Retransmissions: request = tm resent a request on a UDP branch (timers A/E), reply = tm resent a final "
           "reply upstream (timer G), absorbed = a retransmitted request tm answered itself.");
  w.sample("sipsd_tm_retransmissions_total", {{"kind", "request"}}, c_.sum(10 + kRequestSent));
  w.sample("sipsd_tm_retransmissions_total", {{"kind", "reply"}}, c_.sum(10 + kReplySent));
  w.sample("sipsd_tm_retransmissions_total", {{"kind", "absorbed"}}, c_.sum(10 + kRequestAbsorbed));
  w.family("sipsd_tm_timeouts_total", "counter",
           "Branches ended with a local 408: timer = fr (no reply within fr_timer) or fr_inv (a provisional but no "
           "final within fr_inv_timer).");
  w.sample("sipsd_tm_timeouts_total", {{"timer", "fr"}}, c_.sum(13));
  w.sample("sipsd_tm_timeouts_total", {{"timer", "fr_inv"}}, c_.sum(14));
}

}  // namespace sipsd::tm

// The one place libevent handles are wrapped for RAII (after Envoy's common/event/libevent.h).
// Internal: included by .cc files and internal headers only, never by public headers, so users
// of the engine do not see libevent (as transmission's utils-ev.h does).
#pragma once
#include <event2/dns.h>
#include <event2/event.h>

#include <memory>

namespace sipsd::ev {

struct BaseDeleter {
  void operator()(event_base* b) const { event_base_free(b); }
};
struct EventDeleter {
  void operator()(event* e) const { event_free(e); }
};
// Pending requests are failed (callbacks run with EVUTIL_EAI_CANCEL) so their contexts are freed.
struct DnsBaseDeleter {
  void operator()(evdns_base* d) const { evdns_base_free(d, 1); }
};

using BasePtr = std::unique_ptr<event_base, BaseDeleter>;
using EventPtr = std::unique_ptr<event, EventDeleter>;
using DnsBasePtr = std::unique_ptr<evdns_base, DnsBaseDeleter>;

}  // namespace sipsd::ev

// Non-blocking host name resolution on an EventLoop (evdns: /etc/hosts, then A/AAAA).
#pragma once
#include <functional>
#include <optional>
#include <string>

#include "core/net/sock_addr.h"

namespace sipsd {

class EventLoop;

// The address (port 0) or an error text. Runs on the loop's thread, never inside the call.
using ResolveCallback = std::function<void(std::optional<SockAddr> addrNoPort, std::string err)>;

// Must be called on `loop`'s thread. IP literals ("1.2.3.4", "::1", "[::1]") are answered
// without a query. Requests still pending when the loop is destroyed are dropped silently.
void resolveHost(EventLoop& loop, const std::string& host, ResolveCallback cb);

}  // namespace sipsd

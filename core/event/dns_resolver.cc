// resolveHost: evdns_getaddrinfo with the callback carried in a heap context (see dns_resolver.h).
#include "core/event/dns_resolver.h"

#include <netdb.h>

#include <cstring>

#include "core/event/event_loop.h"
#include "core/event/libevent.h"

namespace sipsd {
namespace {

struct Request {
  EventLoop* loop;
  std::string host;
  ResolveCallback cb;
};

void onResolved(int result, evutil_addrinfo* res, void* arg) {
  std::unique_ptr<Request> req(static_cast<Request*>(arg));
  if (result == EVUTIL_EAI_CANCEL) {
    if (res) evutil_freeaddrinfo(res);
    return;  // the loop is going away: nobody is left to tell
  }
  std::optional<SockAddr> addr;
  std::string err;
  if (result != 0) {
    err = "cannot resolve " + req->host + ": " + evutil_gai_strerror(result);
  } else {
    for (evutil_addrinfo* ai = res; ai; ai = ai->ai_next) {
      if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6) {
        addr = SockAddr(ai->ai_addr, socklen_t(ai->ai_addrlen));
        break;
      }
    }
    if (!addr) err = "cannot resolve " + req->host + ": no IPv4/IPv6 address";
  }
  if (res) evutil_freeaddrinfo(res);
  // evdns may answer synchronously (hosts file); hop through the loop so callers never re-enter.
  req->loop->post([cb = std::move(req->cb), addr, err] { cb(addr, err); });
}

}  // namespace

void resolveHost(EventLoop& loop, const std::string& host, ResolveCallback cb) {
  if (auto lit = SockAddr::fromIpPort(host, 0)) {
    loop.post([cb = std::move(cb), a = *lit] { cb(a, ""); });
    return;
  }
  evdns_base* dns = loop.dns();
  if (!dns) {
    loop.post([cb = std::move(cb), host] { cb(std::nullopt, "cannot resolve " + host + ": no resolver"); });
    return;
  }
  evutil_addrinfo hints;
  std::memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  auto* req = new Request{&loop, host, std::move(cb)};
  evdns_getaddrinfo(dns, host.c_str(), nullptr, &hints, onResolved, req);
}

}  // namespace sipsd

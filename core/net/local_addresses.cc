// LocalAddresses: our listen/advertise/alias set (see local_addresses.h).
#include "core/net/local_addresses.h"

#include <ifaddrs.h>

#include "core/parser/param_list.h"
#include "core/parser/uri_parser.h"
#include "core/util/strings.h"

namespace sipsd {

namespace {

std::string_view unbracket(std::string_view h) {
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') return h.substr(1, h.size() - 2);
  return h;
}

bool sameHost(std::string_view a, std::string_view b) {
  a = unbracket(a);
  b = unbracket(b);
  if (str::iequals(a, b)) return true;
  // Different spellings of one address ("::1" and "0:0::1").
  auto x = SockAddr::fromIpPort(a, 0), y = SockAddr::fromIpPort(b, 0);
  return x && y && x->sameIp(*y);
}

bool isWildcard(const SockAddr& a) {
  static const SockAddr any4 = *SockAddr::fromIpPort("0.0.0.0", 0), any6 = *SockAddr::fromIpPort("::", 0);
  return a.sameIp(any4) || a.sameIp(any6);
}

bool protoOk(Proto want, Proto have) { return want == Proto::None || have == Proto::None || want == have; }

}  // namespace

LocalAddresses::LocalAddresses(std::vector<Listen> listens, std::vector<Alias> aliases)
    : listens_(std::move(listens)), aliases_(std::move(aliases)) {
  bool wildcard = false;
  for (const auto& l : listens_) wildcard = wildcard || isWildcard(l.bound);
  if (!wildcard) return;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6)) continue;
    socklen_t len = i->ifa_addr->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    interfaceIps_.emplace_back(i->ifa_addr, len);
  }
  freeifaddrs(list);
}

bool LocalAddresses::isMyself(std::string_view host, uint16_t port, Proto proto) const {
  if (host.empty()) return false;
  auto ip = SockAddr::fromIpPort(unbracket(host), 0);
  for (const auto& l : listens_) {
    if (!protoOk(proto, l.proto)) continue;
    bool portOk = port == 0 || port == l.bound.port();
    if (portOk && ip && ip->sameIp(l.bound)) return true;
    if (portOk && ip && isWildcard(l.bound) && l.bound.family() == ip->family())
      for (const auto& a : interfaceIps_)
        if (a.sameIp(*ip)) return true;
    if (!l.advHost.empty() && (port == 0 || port == (l.advPort ? l.advPort : l.bound.port())) &&
        sameHost(host, l.advHost))
      return true;
  }
  for (const auto& a : aliases_)
    if (protoOk(proto, a.proto) && (a.port == 0 || port == 0 || a.port == port) && sameHost(host, a.host)) return true;
  return false;
}

SocketName LocalAddresses::nameOf(Proto proto, const SockAddr& local) const {
  // The listen of that proto first; a Via may name another transport's socket when there is
  // no listener of the outgoing one (see StatelessProxy::localFor).
  for (int pass = 0; pass < 2; ++pass)
    for (const auto& l : listens_)
      if ((pass == 1 || l.proto == proto) && l.bound == local)
        return l.advHost.empty() ? SocketName{local.ip(), local.port()}
                                 : SocketName{l.advHost, l.advPort ? l.advPort : l.bound.port()};
  return {local.ip(), local.port()};
}

bool LocalAddresses::uriIsMyself(std::string_view text) const {
  if (text.size() >= 2 && text.front() == '<' && text.back() == '>') text = text.substr(1, text.size() - 2);
  SipUri uri;
  std::string err;
  bool isUri = text.find(':') != std::string_view::npos &&
               (str::istartsWith(text, "sip:") || str::istartsWith(text, "sips:"));
  if (isUri) {
    if (!parseUri(text, uri, err) || uri.scheme == SipUri::Scheme::Tel) return false;
    Proto proto = Proto::None;
    if (auto t = findParam(uri.params, "transport"))
      if (auto p = protoFromName(*t)) proto = *p;
    if (uri.scheme == SipUri::Scheme::Sips && proto != Proto::None) proto = Proto::TLS;
    return isMyself(uri.host, uri.port, proto);
  }
  // host, host:port, [v6], [v6]:port, bare v6
  std::string_view host = text;
  uint16_t port = 0;
  size_t colon = text.rfind(':');
  bool bareV6 = text.front() != '[' && text.find(':') != colon;
  if (colon != std::string_view::npos && !bareV6 && (text.front() != '[' || text[colon - 1] == ']')) {
    unsigned n = 0;
    std::string_view p = text.substr(colon + 1);
    if (p.empty() || p.size() > 5) return false;
    for (char c : p) {
      if (c < '0' || c > '9') return false;
      n = n * 10 + unsigned(c - '0');
    }
    if (n > 65535) return false;
    port = uint16_t(n);
    host = text.substr(0, colon);
  }
  return isMyself(host, port, Proto::None);
}

}  // namespace sipsd

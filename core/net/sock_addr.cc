#include "core/net/sock_addr.h"

#include <arpa/inet.h>

#include <cstring>
#include <functional>

#include "core/util/strings.h"

namespace sipsd {

std::string_view protoName(Proto p) {
  switch (p) {
    case Proto::UDP: return "UDP";
    case Proto::TCP: return "TCP";
    case Proto::TLS: return "TLS";
    case Proto::None: break;
  }
  return "";
}

std::string_view protoToken(Proto p) {
  switch (p) {
    case Proto::UDP: return "udp";
    case Proto::TCP: return "tcp";
    case Proto::TLS: return "tls";
    case Proto::None: break;
  }
  return "";
}

std::optional<Proto> protoFromName(std::string_view s) {
  if (str::iequals(s, "udp")) return Proto::UDP;
  if (str::iequals(s, "tcp")) return Proto::TCP;
  if (str::iequals(s, "tls")) return Proto::TLS;
  return std::nullopt;
}

SockAddr::SockAddr(const sockaddr* sa, socklen_t len) {
  if (len > sizeof(ss_)) len = sizeof(ss_);
  std::memcpy(&ss_, sa, len);
  len_ = len;
}

std::optional<SockAddr> SockAddr::fromIpPort(std::string_view ip, uint16_t port) {
  if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  // inet_pton wants a C string: a stack copy, since this runs several times per relayed
  // message. No address text is this long (IPv6 with a dotted IPv4 tail is at most 45).
  char s[64];
  if (ip.size() >= sizeof s) return std::nullopt;
  ip.copy(s, ip.size());
  s[ip.size()] = '\0';
  SockAddr a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.ss_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.ss_);
  if (inet_pton(AF_INET, s, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.len_ = sizeof(sockaddr_in);
    return a;
  }
  if (inet_pton(AF_INET6, s, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.len_ = sizeof(sockaddr_in6);
    return a;
  }
  return std::nullopt;
}

std::optional<SockAddr> SockAddr::fromString(std::string_view s) {
  size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view ip = s.substr(0, colon), port = s.substr(colon + 1);
  if (ip.find(':') != std::string_view::npos && !(ip.front() == '[' && ip.back() == ']')) return std::nullopt;
  unsigned p = 0;
  if (port.empty() || port.size() > 5) return std::nullopt;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    p = p * 10 + unsigned(c - '0');
  }
  if (p > 65535) return std::nullopt;
  return fromIpPort(ip, uint16_t(p));
}

std::string SockAddr::ip() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (family() == AF_INET) {
    // By hand: glibc's inet_ntop formats IPv4 with sprintf, and the proxy asks for the text of
    // a source address several times per message (received=, Record-Route, logs).
    const auto* b = reinterpret_cast<const unsigned char*>(&reinterpret_cast<const sockaddr_in*>(&ss_)->sin_addr);
    char* p = buf;
    for (int i = 0; i < 4; ++i) {
      unsigned v = b[i];
      if (v >= 100) *p++ = char('0' + v / 100);
      if (v >= 10) *p++ = char('0' + v / 10 % 10);
      *p++ = char('0' + v % 10);
      if (i < 3) *p++ = '.';
    }
    return std::string(buf, size_t(p - buf));
  }
  if (family() == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss_)->sin6_addr, buf, sizeof buf);
  return buf;
}

uint16_t SockAddr::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&ss_)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss_)->sin6_port);
  return 0;
}

std::string SockAddr::str() const {
  // Appended piece by piece: GCC 12 -O3 warns (-Wrestrict, falsely) on chained operator+.
  std::string s;
  s.reserve(INET6_ADDRSTRLEN + 8);
  if (family() == AF_INET6) s += '[';
  s += ip();
  if (family() == AF_INET6) s += ']';
  s += ':';
  s += std::to_string(port());
  return s;
}

bool SockAddr::sameIp(const SockAddr& o) const {
  if (family() != o.family()) return false;
  if (family() == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(&ss_)->sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in*>(&o.ss_)->sin_addr.s_addr;
  if (family() == AF_INET6)
    return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(&ss_)->sin6_addr,
                       &reinterpret_cast<const sockaddr_in6*>(&o.ss_)->sin6_addr, 16) == 0;
  return false;
}

bool SockAddr::operator==(const SockAddr& o) const { return sameIp(o) && port() == o.port(); }

size_t SockAddrHash::operator()(const SockAddr& a) const {
  size_t h = std::hash<uint16_t>()(a.port());
  if (a.family() == AF_INET) {
    h ^= std::hash<uint32_t>()(reinterpret_cast<const sockaddr_in*>(a.sa())->sin_addr.s_addr) * 31;
  } else if (a.family() == AF_INET6) {
    const auto* b = reinterpret_cast<const unsigned char*>(&reinterpret_cast<const sockaddr_in6*>(a.sa())->sin6_addr);
    for (int i = 0; i < 16; ++i) h = h * 131 + b[i];
  }
  return h;
}

}  // namespace sipsd

// Address/network parsing and prefix matching.
#include "cfg/ip_net.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace sipsd::cfg {

std::optional<IpNet> IpNet::parse(std::string_view text, std::string& err) {
  std::string_view ip = text;
  std::optional<int> prefix;
  if (auto slash = text.rfind('/'); slash != std::string_view::npos) {
    ip = text.substr(0, slash);
    std::string_view p = text.substr(slash + 1);
    int n = -1;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), n);
    if (p.empty() || ec != std::errc() || ptr != p.data() + p.size()) {
      err = "bad prefix length '" + std::string(p) + "'";
      return std::nullopt;
    }
    prefix = n;
  }
  if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  IpNet net;
  std::string z(ip);
  if (inet_pton(AF_INET, z.c_str(), net.addr_.data()) == 1) {
    net.family_ = AF_INET;
    net.prefix_ = 32;
  } else if (inet_pton(AF_INET6, z.c_str(), net.addr_.data()) == 1) {
    net.family_ = AF_INET6;
    net.prefix_ = 128;
  } else {
    err = "'" + z + "' is not an IPv4 or IPv6 address";
    return std::nullopt;
  }
  if (prefix) {
    if (*prefix < 0 || *prefix > net.prefix_) {
      err = "prefix length /" + std::to_string(*prefix) + " is out of range for " +
            (net.family_ == AF_INET ? "IPv4 (0..32)" : "IPv6 (0..128)");
      return std::nullopt;
    }
    net.prefix_ = *prefix;
  }
  // Host bits set under the mask (10.1.2.3/8) are almost always a typo for the network.
  for (int bit = net.prefix_; bit < (net.family_ == AF_INET ? 32 : 128); ++bit) {
    if (net.addr_[size_t(bit / 8)] & (0x80 >> (bit % 8))) {
      err = "'" + std::string(text) + "' has host bits set beyond the /" + std::to_string(net.prefix_) + " prefix";
      return std::nullopt;
    }
  }
  return net;
}

bool IpNet::containsBytes(const uint8_t* bytes, int family) const {
  if (family != family_) return false;
  int full = prefix_ / 8;
  if (std::memcmp(bytes, addr_.data(), size_t(full)) != 0) return false;
  int rest = prefix_ % 8;
  if (rest == 0) return true;
  uint8_t mask = uint8_t(0xff << (8 - rest));
  return (bytes[full] & mask) == (addr_[size_t(full)] & mask);
}

bool IpNet::contains(const SockAddr& addr) const {
  if (addr.family() == AF_INET) {
    auto* sin = reinterpret_cast<const sockaddr_in*>(addr.sa());
    return containsBytes(reinterpret_cast<const uint8_t*>(&sin->sin_addr), AF_INET);
  }
  if (addr.family() == AF_INET6) {
    auto* sin6 = reinterpret_cast<const sockaddr_in6*>(addr.sa());
    const uint8_t* b = reinterpret_cast<const uint8_t*>(&sin6->sin6_addr);
    // An IPv4-mapped peer on a dual-stack socket still matches IPv4 networks.
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (family_ == AF_INET && std::memcmp(b, kMapped, 12) == 0) return containsBytes(b + 12, AF_INET);
    return containsBytes(b, AF_INET6);
  }
  return false;
}

bool IpNet::containsText(std::string_view ip) const {
  if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  if (ip.size() >= INET6_ADDRSTRLEN) return false;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, ip.data(), ip.size());
  buf[ip.size()] = '\0';
  uint8_t bytes[16];
  if (inet_pton(AF_INET, buf, bytes) == 1) return containsBytes(bytes, AF_INET);
  if (inet_pton(AF_INET6, buf, bytes) == 1) return containsBytes(bytes, AF_INET6);
  return false;
}

}  // namespace sipsd::cfg

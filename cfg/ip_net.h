// An IPv4/IPv6 address or network from the script (`10.0.0.0/8`, `[::1]`, `fe80::/10`),
// parsed and validated at config load and matched against socket addresses without allocating.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/net/sock_addr.h"

namespace sipsd::cfg {

class IpNet {
 public:
  // Accepts "a.b.c.d", "a.b.c.d/N", "[v6]", "[v6]/N", "v6", "v6/N". Sets `err` on failure.
  static std::optional<IpNet> parse(std::string_view text, std::string& err);

  bool contains(const SockAddr& addr) const;
  // `ip` as text ("1.2.3.4", "::1", "[::1]"); false when it is not an address.
  bool containsText(std::string_view ip) const;

  int family() const { return family_; }
  int prefix() const { return prefix_; }

 private:
  bool containsBytes(const uint8_t* bytes, int family) const;

  int family_ = 0;
  int prefix_ = 0;
  std::array<uint8_t, 16> addr_{};
};

}  // namespace sipsd::cfg

// IP:port parsing and formatting for the benchmark tools ("127.0.0.1:5060", "[::1]:5061").
#pragma once
#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>

namespace sipsd::bench {

struct NetAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&ss); }
  int family() const { return ss.ss_family; }
};

// Numeric IPv4 "a.b.c.d:port" or IPv6 "[x::y]:port"; port 0..65535.  nullopt on anything else.
std::optional<NetAddr> parseHostPort(std::string_view text);

// "a.b.c.d:port" / "[x::y]:port".
std::string formatHostPort(const sockaddr* sa);
// The IP alone, without brackets ("::1").
std::string formatIp(const sockaddr* sa);

}  // namespace sipsd::bench

// SockAddr's text forms: IPv4 is formatted by hand (not inet_ntop), so every digit count and
// the edges of the range are checked against the parser.
#include <doctest/doctest.h>

#include "core/net/sock_addr.h"

using namespace sipsd;

TEST_CASE("SockAddr::ip and str round-trip IPv4 and IPv6 addresses") {
  for (const char* ip : {"0.0.0.0", "127.0.0.1", "10.20.30.40", "9.99.100.255", "255.255.255.255", "1.0.10.100"}) {
    auto a = SockAddr::fromIpPort(ip, 5060);
    REQUIRE(a);
    CHECK(a->ip() == ip);
    CHECK(a->str() == std::string(ip) + ":5060");
  }
  auto v6 = SockAddr::fromIpPort("::1", 5061);
  REQUIRE(v6);
  CHECK(v6->ip() == "::1");
  CHECK(v6->str() == "[::1]:5061");
  CHECK(SockAddr().ip().empty());
}

// LocalAddresses: "is this us?" by listen address (port, transport), advertise name, alias;
// how a socket is named (advertise or its address).
#include <doctest/doctest.h>

#include "core/net/local_addresses.h"

using namespace sipsd;

namespace {
LocalAddresses sample() {
  std::vector<LocalAddresses::Listen> ls = {
      {Proto::UDP, *SockAddr::fromIpPort("10.0.0.1", 5060), "203.0.113.7", 5080},
      {Proto::TLS, *SockAddr::fromIpPort("10.0.0.1", 5061), "", 0},
      {Proto::TCP, *SockAddr::fromIpPort("::1", 5062), "", 0}};
  std::vector<LocalAddresses::Alias> as = {{Proto::None, "proxy.example.com", 0},
                                           {Proto::TLS, "tls.example.com", 5061}};
  return LocalAddresses(ls, as);
}
}  // namespace

TEST_CASE("listen addresses with port and transport") {
  LocalAddresses me = sample();
  CHECK(me.isMyself("10.0.0.1", 5060, Proto::UDP));
  CHECK(me.isMyself("10.0.0.1", 0, Proto::None));
  CHECK(me.isMyself("10.0.0.1", 5061, Proto::TLS));
  CHECK_FALSE(me.isMyself("10.0.0.1", 5061, Proto::UDP));
  CHECK_FALSE(me.isMyself("10.0.0.1", 5099, Proto::None));
  CHECK_FALSE(me.isMyself("10.0.0.2", 5060, Proto::None));
  CHECK(me.isMyself("[::1]", 5062, Proto::TCP));
  CHECK(me.isMyself("0:0::1", 5062, Proto::None));
}

TEST_CASE("advertise names and aliases") {
  LocalAddresses me = sample();
  CHECK(me.isMyself("203.0.113.7", 5080, Proto::UDP));
  CHECK_FALSE(me.isMyself("203.0.113.7", 5060, Proto::UDP));
  CHECK(me.isMyself("PROXY.example.com", 7000, Proto::TCP));
  CHECK(me.isMyself("tls.example.com", 5061, Proto::TLS));
  CHECK_FALSE(me.isMyself("tls.example.com", 5061, Proto::UDP));
  CHECK_FALSE(me.isMyself("other.example.com", 0, Proto::None));
}

TEST_CASE("URIs and host:port texts") {
  LocalAddresses me = sample();
  CHECK(me.uriIsMyself("sip:10.0.0.1:5061;transport=tls;lr"));
  CHECK(me.uriIsMyself("<sip:proxy.example.com;lr>"));
  CHECK(me.uriIsMyself("sip:alice@10.0.0.1"));
  CHECK_FALSE(me.uriIsMyself("sip:10.0.0.1:5060;transport=tls"));
  CHECK(me.uriIsMyself("10.0.0.1:5060"));
  CHECK(me.uriIsMyself("[::1]:5062"));
  CHECK(me.uriIsMyself("::1"));
  CHECK_FALSE(me.uriIsMyself("tel:+15551234"));
  CHECK_FALSE(me.uriIsMyself("sip:"));
}

TEST_CASE("a socket's name: advertise, else its address") {
  LocalAddresses me = sample();
  SocketName a = me.nameOf(Proto::UDP, *SockAddr::fromIpPort("10.0.0.1", 5060));
  CHECK(a.host == "203.0.113.7");
  CHECK(a.port == 5080);
  SocketName b = me.nameOf(Proto::TLS, *SockAddr::fromIpPort("10.0.0.1", 5061));
  CHECK(b.host == "10.0.0.1");
  CHECK(b.port == 5061);
}

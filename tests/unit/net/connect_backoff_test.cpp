// ConnectBackoff: the per-worker negative cache of destinations whose connect or handshake failed.
#include "core/net/connect_backoff.h"

#include <doctest/doctest.h>

using namespace sipsd;
using namespace std::chrono_literals;

namespace {
SockAddr addr(uint16_t port) { return *SockAddr::fromIpPort("127.0.0.1", port); }
}  // namespace

TEST_SUITE("unit") {
TEST_CASE("connect backoff: a failure blocks the destination for base, then lets one attempt through") {
  ConnectBackoff b(5000ms, 60000ms);
  const auto t0 = ConnectBackoff::Clock::now();
  CHECK(b.blocked(Proto::TLS, addr(5071), "client:default", t0) == nullptr);
  CHECK(b.failed(Proto::TLS, addr(5071), "client:default", "TLS handshake to 127.0.0.1:5071 failed", t0) == 5000ms);
  const std::string* why = b.blocked(Proto::TLS, addr(5071), "client:default", t0 + 4999ms);
  REQUIRE(why != nullptr);
  CHECK(*why == "TLS handshake to 127.0.0.1:5071 failed");
  CHECK(b.blocked(Proto::TLS, addr(5071), "client:default", t0 + 5000ms) == nullptr);
  // Another port, transport or client domain is another destination.
  CHECK(b.blocked(Proto::TLS, addr(5072), "client:default", t0 + 1s) == nullptr);
  CHECK(b.blocked(Proto::TCP, addr(5071), "client:default", t0 + 1s) == nullptr);
  CHECK(b.blocked(Proto::TLS, addr(5071), "client:127.0.0.1:5071", t0 + 1s) == nullptr);
}

TEST_CASE("connect backoff: failing again after a back-off doubles it up to the cap; success forgets") {
  ConnectBackoff b(5000ms, 12000ms);
  auto t = ConnectBackoff::Clock::now();
  CHECK(b.failed(Proto::TCP, addr(1), "", "x", t) == 5000ms);
  // An attempt already under way that fails inside the back-off changes nothing.
  CHECK(b.failed(Proto::TCP, addr(1), "", "x", t + 1s) == 5000ms);
  CHECK(b.blocked(Proto::TCP, addr(1), "", t + 5001ms) == nullptr);
  CHECK(b.failed(Proto::TCP, addr(1), "", "x", t + 6s) == 10000ms);
  CHECK(b.failed(Proto::TCP, addr(1), "", "x", t + 17s) == 12000ms);  // capped
  b.succeeded(Proto::TCP, addr(1), "");
  CHECK(b.size() == 0);
  CHECK(b.failed(Proto::TCP, addr(1), "", "x", t + 30s) == 5000ms);
  // A failure long (more than the cap) after the last back-off ended starts at base again.
  CHECK(b.failed(Proto::TCP, addr(1), "", "x", t + 36s) == 10000ms);
  CHECK(b.failed(Proto::TCP, addr(1), "", "x", t + 100s) == 5000ms);
}

TEST_CASE("connect backoff: 0 disables it; the table is bounded") {
  ConnectBackoff off(0ms, 60000ms);
  auto t = ConnectBackoff::Clock::now();
  off.failed(Proto::TCP, addr(1), "", "x", t);
  CHECK(off.blocked(Proto::TCP, addr(1), "", t) == nullptr);
  ConnectBackoff small(5000ms, 60000ms, 3);
  for (uint16_t p = 1; p <= 10; ++p) small.failed(Proto::TCP, addr(p), "", "x", t + std::chrono::milliseconds(p));
  CHECK(small.size() <= 3);
  CHECK(small.blocked(Proto::TCP, addr(10), "", t + 1s) != nullptr);  // the newest stays
}

TEST_CASE("connect backoff: the failure text is a clean reason phrase with the cause") {
  std::string t = ConnectBackoff::failureText(addr(5071), true,
                                              "TLS: TLS read failed with 127.0.0.1:5071 (client:default): "
                                              "error:0A00045C:SSL routines::tlsv13 alert certificate required");
  CHECK(t == "TLS handshake to 127.0.0.1:5071 failed (tlsv13 alert certificate required)");
  CHECK(ConnectBackoff::isFailureText(t));
  CHECK(ConnectBackoff::failureText(addr(5060), false, "connect failed: Connection refused") ==
        "TCP connect to 127.0.0.1:5060 failed (Connection refused)");
  CHECK(ConnectBackoff::failureText(addr(5060), false, "x:\r\n\x1b[31m") == "TCP connect to 127.0.0.1:5060 failed (???[31m)");
  CHECK(!ConnectBackoff::isFailureText("tcp_max_connections (2048) reached"));
}
}

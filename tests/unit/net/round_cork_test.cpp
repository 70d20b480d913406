// The round cork of stream connections (ConnectionHost::corkUntilRoundEnd): what one loop round
// sends to a connection outside that connection's own read — replies relayed from a UDP peer
// to a TCP/TLS caller — is written once at the round's end, in order, and still flushed before
// a close asked for in the same round. With udp_send_batch off every send is written at once.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <vector>

#include "core/net/server.h"
#include "net_test_util.h"

using namespace sipsd;
using namespace sipsd::test;

namespace {

SockAddr loopback(uint16_t port = 0) { return *SockAddr::fromIpPort("127.0.0.1", port); }

std::string reply(int i, const std::string& tag) {
  return sipMessage("SIP/2.0 200 OK", tag + "-" + std::to_string(i));
}

// A caller on TCP registers its connection with one message; each UDP datagram then makes the
// worker send three messages to that connection (and close it when the datagram says so).
struct Relay {
  std::atomic<uint64_t> conn{0};
  std::unique_ptr<Server> srv;

  explicit Relay(bool batch) {
    ServerOptions o;
    o.workers = 1;  // the TCP connection and the UDP socket share one worker (and its rounds)
    o.listens = {{Proto::TCP, loopback()}, {Proto::UDP, loopback()}};
    o.udpSendBatch = batch;
    srv = std::make_unique<Server>(std::move(o), [this](std::string_view raw, const ReceiveInfo& rcv) {
      if (rcv.proto == Proto::TCP) {
        conn = rcv.connId;
        return;
      }
      std::string tag(raw.substr(raw.rfind('\n') + 1));
      bool close = tag.rfind("close", 0) == 0;
      for (int i = 0; i < 3; ++i) CHECK(srv->sendOnConnection(conn, reply(i, tag)));
      if (close) CHECK(srv->closeConnection(conn));
    });
  }
};

}  // namespace

TEST_SUITE("unit") {

TEST_CASE("round cork: a round's sends to a stream connection leave in one write, in order, before a close") {
  for (bool batch : {true, false}) {
    CAPTURE(batch);
    Relay r(batch);
    REQUIRE(r.srv->start() == "");
    TestClient caller(*r.srv->listenAddressFor(Proto::TCP, AF_INET));
    REQUIRE(caller.connected());
    REQUIRE(caller.sendAll(sipMessage("REGISTER sip:x SIP/2.0", "me")));
    REQUIRE(waitUntil([&] { return r.conn.load() != 0; }));

    SockAddr udp = *r.srv->listenAddressFor(Proto::UDP, AF_INET);
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    std::string trigger = sipMessage("MESSAGE sip:x SIP/2.0", "round1");
    ::sendto(fd, trigger.data(), trigger.size(), 0, udp.sa(), udp.len());
    std::string all = reply(0, "round1") + reply(1, "round1") + reply(2, "round1");
    if (batch) {
      // One write of the three: the first read sees them all.
      auto got = caller.readSome();
      REQUIRE(got);
      CHECK(*got == all);
    } else {
      for (int i = 0; i < 3; ++i) CHECK(caller.readMessage() == reply(i, "round1"));
    }

    // Sent, then closed, in one round: the three arrive, then the end of the connection.
    trigger = sipMessage("MESSAGE sip:x SIP/2.0", "close2");
    ::sendto(fd, trigger.data(), trigger.size(), 0, udp.sa(), udp.len());
    for (int i = 0; i < 3; ++i) CHECK(caller.readMessage() == reply(i, "close2"));
    CHECK(caller.waitClosed());
    ::close(fd);
    r.srv->stop(std::chrono::milliseconds(500));
  }
}

}  // TEST_SUITE

// The engine's promise: a worker is never blocked. A peer that sends requests but never reads
// fills its TCP window with large replies; on the same single worker, other connections keep
// getting answers at normal speed, and the stalled one is cut at its queue bound or send timeout.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "core/net/server.h"
#include "net_test_util.h"

using namespace sipsd;
using namespace sipsd::test;

namespace {

constexpr size_t kBigReply = 256 * 1024;

std::unique_ptr<Server> stallServer(ServerOptions o, Server*& self) {
  auto srv = std::make_unique<Server>(std::move(o), [&self](std::string_view raw, const ReceiveInfo& rcv) {
    // "BIG" requests get a large reply, everything else an echo.
    if (raw.find("\r\n\r\nBIG") != std::string_view::npos)
      self->sendOnConnection(rcv.connId, sipMessage("SIP/2.0 200 OK", std::string(kBigReply, 'b')));
    else
      self->sendOnConnection(rcv.connId, std::string(raw));
  });
  self = srv.get();
  return srv;
}

// Runs `clients` request/response loops until `stop`; returns the worst round trip seen.
struct Pingers {
  std::atomic<bool> stop{false};
  std::atomic<int> rounds{0};
  std::atomic<int> failures{0};
  std::atomic<long> worstUs{0};
  std::vector<std::thread> threads;

  Pingers(const SockAddr& addr, int clients) {
    for (int i = 0; i < clients; ++i)
      threads.emplace_back([this, addr, i] {
        TestClient c(addr);
        if (!c.connected()) {
          ++failures;
          return;
        }
        std::string m = sipMessage("OPTIONS sip:" + std::to_string(i) + " SIP/2.0", "ping");
        while (!stop) {
          auto t0 = std::chrono::steady_clock::now();
          if (!c.sendAll(m)) {
            ++failures;
            return;
          }
          auto r = c.readMessage();
          if (!r || *r != m) {
            ++failures;
            return;
          }
          long us = long(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
          long prev = worstUs.load();
          while (us > prev && !worstUs.compare_exchange_weak(prev, us)) {
          }
          ++rounds;
        }
      });
  }
  void finish() {
    stop = true;
    for (auto& t : threads) t.join();
  }
};

// The stalled peer: a small receive buffer, never reads, keeps asking for big replies.
void stallPeer(TestClient& s, int requests) {
  std::string big = sipMessage("MESSAGE sip:stall SIP/2.0", "BIG");
  for (int i = 0; i < requests; ++i)
    if (!s.sendAll(big)) break;
}

uint64_t stalledCount(const Server& srv) {
  uint64_t n = 0;
  for (auto& st : srv.stats()) n += st.closedStalled;
  return n;
}

}  // namespace

TEST_SUITE("unit") {

TEST_CASE("stall: a peer that stops reading is cut at the queue bound; others are served meanwhile") {
  ServerOptions o;
  o.workers = 1;  // everyone on the same worker: the strongest form of the test
  o.listens = {{Proto::TCP, *SockAddr::fromIpPort("127.0.0.1", 0)}};
  o.maxSendQueue = 2 << 20;
  o.sendTimeout = std::chrono::milliseconds(60000);  // only the queue bound can trigger
  Server* self = nullptr;
  auto srv = stallServer(o, self);
  REQUIRE(srv->start() == "");
  auto addr = *srv->listenAddressFor(Proto::TCP, 0);

  Pingers p(addr, 4);
  REQUIRE(waitUntil([&] { return p.rounds > 20; }));
  TestClient stalled(addr, 4096);
  REQUIRE(stalled.connected());
  int before = p.rounds;
  // 200 x 256 KiB = 50 MiB of replies: far beyond the socket buffers and the 2 MiB bound.
  stallPeer(stalled, 200);
  REQUIRE(waitUntil([&] { return stalledCount(*srv) == 1; }, std::chrono::milliseconds(10000)));
  int during = p.rounds - before;
  CHECK(stalled.waitClosed());
  // Others kept going the whole time.
  int mark = p.rounds;
  CHECK(waitUntil([&] { return p.rounds > mark + 50; }));
  p.finish();
  CHECK(p.failures == 0);
  MESSAGE("round trips during the stall: ", during, ", worst: ", p.worstUs.load(), " us");
  CHECK(p.worstUs.load() < 1000000);  // never held up behind the stalled peer
  srv->stop(std::chrono::milliseconds(500));
}

TEST_CASE("stall: a peer that stops reading is cut at the send timeout") {
  ServerOptions o;
  o.workers = 1;
  o.listens = {{Proto::TCP, *SockAddr::fromIpPort("127.0.0.1", 0)}};
  o.maxSendQueue = 256 << 20;  // only the timeout can trigger
  o.sendTimeout = std::chrono::milliseconds(400);
  Server* self = nullptr;
  auto srv = stallServer(o, self);
  REQUIRE(srv->start() == "");
  auto addr = *srv->listenAddressFor(Proto::TCP, 0);
  Pingers p(addr, 2);
  TestClient stalled(addr, 4096);
  REQUIRE(stalled.connected());
  // Enough to fill the kernel buffers so that data stays queued (a few MiB on loopback).
  REQUIRE(waitUntil([&] { return p.rounds > 5; }));
  stallPeer(stalled, 80);
  auto t0 = std::chrono::steady_clock::now();
  int before = p.rounds;
  REQUIRE(waitUntil([&] { return stalledCount(*srv) == 1; }, std::chrono::milliseconds(10000)));
  auto took = std::chrono::steady_clock::now() - t0;
  int during = p.rounds - before;
  CHECK(took >= std::chrono::milliseconds(300));
  CHECK(took < std::chrono::milliseconds(5000));
  // While the stalled peer held ~20 MiB of queued replies for 400 ms, the others kept going.
  MESSAGE("round trips while stalled: ", during);
  CHECK(during > 10);
  CHECK(stalled.waitClosed());
  int mark = p.rounds;
  CHECK(waitUntil([&] { return p.rounds > mark + 20; }));
  p.finish();
  CHECK(p.failures == 0);
  srv->stop(std::chrono::milliseconds(500));
}

}  // TEST_SUITE

TEST_SUITE("unit") {

TEST_CASE("stop: queued replies are flushed within the bound, then the connection closes") {
  ServerOptions o;
  o.workers = 1;
  o.listens = {{Proto::TCP, *SockAddr::fromIpPort("127.0.0.1", 0)}};
  o.maxSendQueue = 64 << 20;
  Server* self = nullptr;
  std::atomic<int> got{0};
  Server srv(o, [&](std::string_view, const ReceiveInfo& rcv) {
    // 16 big replies: far more than the socket buffers of a peer that is not reading yet.
    for (int i = 0; i < 16; ++i) self->sendOnConnection(rcv.connId, sipMessage("SIP/2.0 200 OK", std::string(kBigReply, 'f')));
    ++got;
  });
  self = &srv;
  REQUIRE(srv.start() == "");
  TestClient c(*srv.listenAddressFor(Proto::TCP, 0), 4096);
  REQUIRE(c.sendAll(sipMessage("MESSAGE sip:x SIP/2.0", "go")));
  REQUIRE(waitUntil([&] { return got == 1; }));
  std::thread stopper([&] { srv.stop(std::chrono::milliseconds(5000)); });
  for (int i = 0; i < 16; ++i) {
    auto m = c.readMessage();
    REQUIRE(m);
    CHECK(m->size() > kBigReply);
  }
  CHECK(c.waitClosed());
  stopper.join();
}

TEST_CASE("closeConnection: closes after the queued reply is written") {
  ServerOptions o;
  o.workers = 2;
  o.listens = {{Proto::TCP, *SockAddr::fromIpPort("127.0.0.1", 0)}};
  Server* self = nullptr;
  Server srv(o, [&](std::string_view raw, const ReceiveInfo& rcv) {
    self->sendOnConnection(rcv.connId, std::string(raw));
    CHECK(self->closeConnection(rcv.connId));
    CHECK(!self->sendOnConnection(rcv.connId, "late"));  // closing: nothing more is queued
  });
  self = &srv;
  REQUIRE(srv.start() == "");
  TestClient c(*srv.listenAddressFor(Proto::TCP, 0));
  std::string m = sipMessage("BYE sip:x SIP/2.0", "");
  REQUIRE(c.sendAll(m));
  auto r = c.readMessage();
  REQUIRE(r);
  CHECK(*r == m);
  CHECK(c.waitClosed());
  CHECK(waitUntil([&] { return srv.connectionCount() == 0; }));
  CHECK(!srv.closeConnection(12345));
  srv.stop(std::chrono::milliseconds(100));
}

}  // TEST_SUITE

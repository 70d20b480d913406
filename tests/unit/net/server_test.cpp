// Server end to end on loopback: TCP echo over many connections and workers, UDP, keep-alive
// pings, framing errors, IPv6, outbound sendTo with reuse, connect failures, connection limits,
// idle lifetime, cross-thread sends, DNS, timers and graceful stop.
#include "core/net/server.h"
#include "core/net/ip_limiter.h"

#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "net_test_util.h"

using namespace sipsd;
using namespace sipsd::test;

namespace {

SockAddr loopback(uint16_t port = 0) { return *SockAddr::fromIpPort("127.0.0.1", port); }

// Echo server: every message goes back where it came from.
struct EchoServer {
  std::atomic<int> messages{0};
  std::mutex mu;
  std::set<int> workersSeen;
  std::vector<ReceiveInfo> infos;
  std::unique_ptr<Server> srv;

  explicit EchoServer(ServerOptions o) {
    srv = std::make_unique<Server>(std::move(o), [this](std::string_view raw, const ReceiveInfo& rcv) {
      {
        std::lock_guard<std::mutex> lk(mu);
        workersSeen.insert(rcv.worker);
        infos.push_back(rcv);
      }
      CHECK(srv->currentWorker() == rcv.worker);
      ++messages;
      if (rcv.proto == Proto::UDP) srv->sendUdp(rcv.dst, rcv.src, raw);
      else srv->sendOnConnection(rcv.connId, std::string(raw));
    });
  }
};

ServerOptions opts(int workers, std::vector<ListenSpec> listens) {
  ServerOptions o;
  o.workers = workers;
  o.listens = std::move(listens);
  return o;
}

}  // namespace

TEST_SUITE("unit") {

TEST_CASE("server: TCP echo, many connections on 2 workers, pipelined messages") {
  EchoServer e(opts(2, {{Proto::TCP, loopback()}}));
  REQUIRE(e.srv->start() == "");
  auto addr = e.srv->listenAddressFor(Proto::TCP, AF_INET);
  REQUIRE(addr);
  CHECK(addr->port() != 0);
  constexpr int kClients = 40, kMsgs = 10;
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<TestClient>(*addr));
    REQUIRE(clients.back()->connected());
  }
  for (int i = 0; i < kClients; ++i) {
    std::string batch;
    for (int k = 0; k < kMsgs; ++k) batch += sipMessage("MESSAGE sip:" + std::to_string(i) + " SIP/2.0", std::to_string(k));
    REQUIRE(clients[size_t(i)]->sendAll(batch));
  }
  for (int i = 0; i < kClients; ++i)
    for (int k = 0; k < kMsgs; ++k) {
      auto m = clients[size_t(i)]->readMessage();
      REQUIRE(m);
      CHECK(*m == sipMessage("MESSAGE sip:" + std::to_string(i) + " SIP/2.0", std::to_string(k)));
    }
  CHECK(e.messages == kClients * kMsgs);
  {
    std::lock_guard<std::mutex> lk(e.mu);
    CHECK(e.workersSeen.size() == 2);  // SO_REUSEPORT spreads the accepts
    std::set<uint64_t> ids;
    for (auto& r : e.infos) {
      CHECK(r.proto == Proto::TCP);
      CHECK(r.connId != 0);
      CHECK(r.src.ip() == "127.0.0.1");
      CHECK(r.dst.port() == addr->port());
      CHECK(r.session == nullptr);
      ids.insert(r.connId);
    }
    CHECK(ids.size() == size_t(kClients));
  }
  uint64_t in = 0, open = 0;
  for (auto& s : e.srv->stats()) {
    in += s.messagesIn;
    open += s.connectionsOpen;
  }
  CHECK(in == uint64_t(kClients * kMsgs));
  CHECK(open == uint64_t(kClients));
  CHECK(e.srv->connectionCount() == size_t(kClients));
  clients.clear();
  CHECK(waitUntil([&] { return e.srv->connectionCount() == 0; }));
  e.srv->stop(std::chrono::milliseconds(1000));
}

TEST_CASE("server: UDP round trip on a port chosen with a probe socket") {
  uint16_t port = freePort(SOCK_DGRAM);
  ServerOptions o = opts(2, {{Proto::UDP, loopback(port)}});
  o.maxMessageSize = 4096;
  EchoServer e(o);
  REQUIRE(e.srv->start() == "");
  CHECK(e.srv->listenAddressFor(Proto::UDP, AF_INET)->port() == port);
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  SockAddr to = loopback(port);
  std::string m = sipMessage("OPTIONS sip:x SIP/2.0", "udp!");
  // A keep-alive and an oversize datagram are dropped, the message is answered.
  ::sendto(fd, "\r\n\r\n", 4, 0, to.sa(), to.len());
  std::string huge = sipMessage("MESSAGE sip:x SIP/2.0", std::string(10000, 'x'));
  ::sendto(fd, huge.data(), huge.size(), 0, to.sa(), to.len());
  ::sendto(fd, m.data(), m.size(), 0, to.sa(), to.len());
  char buf[2048];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  REQUIRE(n > 0);
  CHECK(std::string(buf, size_t(n)) == m);
  CHECK(e.messages == 1);
  {
    std::lock_guard<std::mutex> lk(e.mu);
    CHECK(e.infos[0].proto == Proto::UDP);
    CHECK(e.infos[0].connId == 0);
    CHECK(e.infos[0].dst.port() == port);
  }
  uint64_t errors = 0;
  for (auto& s : e.srv->stats()) errors += s.errors;
  CHECK(errors == 1);
  ::close(fd);
  e.srv->stop(std::chrono::milliseconds(500));
}

TEST_CASE("server: keep-alive ping answered; a framing error closes only that connection") {
  EchoServer e(opts(1, {{Proto::TCP, loopback()}}));
  REQUIRE(e.srv->start() == "");
  auto addr = *e.srv->listenAddressFor(Proto::TCP, 0);
  TestClient good(addr), bad(addr);
  REQUIRE(good.sendAll("\r\n\r\n"));
  auto pong = good.readSome();
  REQUIRE(pong);
  CHECK(*pong == "\r\n");
  REQUIRE(bad.sendAll("MESSAGE sip:x SIP/2.0\r\nContent-Length: -3\r\n\r\n"));
  CHECK(bad.waitClosed());
  std::string m = sipMessage("OPTIONS sip:x SIP/2.0", "still here");
  REQUIRE(good.sendAll(m));
  auto r = good.readMessage();
  REQUIRE(r);
  CHECK(*r == m);
  CHECK(e.messages == 1);
  e.srv->stop(std::chrono::milliseconds(500));
}

TEST_CASE("server: IPv6 loopback when available") {
  auto v6 = *SockAddr::fromIpPort("::1", 0);
  int probe = ::socket(AF_INET6, SOCK_STREAM, 0);
  bool have = probe >= 0 && ::bind(probe, v6.sa(), v6.len()) == 0;
  if (probe >= 0) ::close(probe);
  if (!have) {
    MESSAGE("no IPv6 loopback here; skipped");
    return;
  }
  EchoServer e(opts(2, {{Proto::TCP, v6}, {Proto::UDP, v6}, {Proto::TCP, loopback()}}));
  REQUIRE(e.srv->start() == "");
  auto a6 = e.srv->listenAddressFor(Proto::TCP, AF_INET6);
  REQUIRE(a6);
  CHECK(a6->str().rfind("[::1]:", 0) == 0);
  TestClient c(*a6);
  std::string m = sipMessage("OPTIONS sip:x SIP/2.0", "v6");
  REQUIRE(c.sendAll(m));
  auto r = c.readMessage();
  REQUIRE(r);
  CHECK(*r == m);
  {
    std::lock_guard<std::mutex> lk(e.mu);
    CHECK(e.infos[0].src.family() == AF_INET6);
  }
  e.srv->stop(std::chrono::milliseconds(500));
}

TEST_CASE("server: sendTo opens one outbound connection, reuses it, replies come back") {
  // B answers every request over the same connection.
  std::atomic<int> bGot{0};
  std::mutex mu;
  std::set<uint64_t> bConns;
  std::unique_ptr<Server> b;
  b = std::make_unique<Server>(opts(2, {{Proto::TCP, loopback()}}), [&](std::string_view raw, const ReceiveInfo& rcv) {
    {
      std::lock_guard<std::mutex> lk(mu);
      bConns.insert(rcv.connId);
    }
    ++bGot;
    b->sendOnConnection(rcv.connId, sipMessage("SIP/2.0 200 OK", std::string(raw.substr(raw.size() - 2))));
  });
  REQUIRE(b->start() == "");
  auto bAddr = *b->listenAddressFor(Proto::TCP, AF_INET);

  std::atomic<int> aReplies{0};
  std::atomic<uint64_t> aConn{0};
  Server a(opts(2, {{Proto::TCP, loopback()}}), [&](std::string_view raw, const ReceiveInfo& rcv) {
    if (raw.rfind("SIP/2.0 200", 0) == 0) {
      aConn = rcv.connId;
      ++aReplies;
    }
  });
  REQUIRE(a.start() == "");
  std::atomic<int> oks{0}, fails{0};
  auto done = [&](bool ok, const std::string& err) {
    if (ok) ++oks;
    else {
      ++fails;
      MESSAGE(err);
    }
  };
  a.sendTo(Proto::TCP, bAddr, sipMessage("MESSAGE sip:b SIP/2.0", "01"), {}, done);
  REQUIRE(waitUntil([&] { return oks + fails == 1; }));
  CHECK(oks == 1);
  // Further sends from outside the workers (posted to any worker) reuse the connection.
  for (int i = 2; i <= 9; ++i)
    a.sendTo(Proto::TCP, bAddr, sipMessage("MESSAGE sip:b SIP/2.0", "0" + std::to_string(i)), {}, done);
  REQUIRE(waitUntil([&] { return oks + fails == 9 && aReplies == 9; }));
  CHECK(fails == 0);
  CHECK(bGot == 9);
  {
    std::lock_guard<std::mutex> lk(mu);
    CHECK(bConns.size() == 1);
  }
  uint64_t connected = 0;
  for (auto& s : a.stats()) connected += s.connected;
  CHECK(connected == 1);
  // The reply arrived on A's outbound connection; A can send on it by id from any thread.
  CHECK(a.sendOnConnection(aConn, sipMessage("MESSAGE sip:b SIP/2.0", "10")));
  REQUIRE(waitUntil([&] { return bGot == 10; }));
  CHECK(!a.sendOnConnection(aConn + 1000, "x"));
  a.stop(std::chrono::milliseconds(500));
  b->stop(std::chrono::milliseconds(500));
}

TEST_CASE("server: connect refused and connect timeout report done(false)") {
  ServerOptions o = opts(1, {});
  o.connectTimeout = std::chrono::milliseconds(300);
  Server a(o, [](std::string_view, const ReceiveInfo&) {});
  REQUIRE(a.start() == "");
  std::atomic<int> calls{0};
  std::string why;
  std::mutex mu;
  SockAddr closed = loopback(freePort(SOCK_STREAM));
  a.sendTo(Proto::TCP, closed, "MESSAGE sip:x SIP/2.0\r\n\r\n", {}, [&](bool ok, const std::string& err) {
    CHECK(!ok);
    CHECK(a.currentWorker() == 0);
    std::lock_guard<std::mutex> lk(mu);
    why = err;
    ++calls;
  });
  REQUIRE(waitUntil([&] { return calls == 1; }));
  {
    std::lock_guard<std::mutex> lk(mu);
    CHECK(why.find("refused") != std::string::npos);
  }
  // A TEST-NET address that drops SYNs (or has no route): either way the send fails, within the timeout.
  auto t0 = std::chrono::steady_clock::now();
  a.sendTo(Proto::TCP, *SockAddr::fromIpPort("192.0.2.1", 5060), "x", {}, [&](bool ok, const std::string&) {
    CHECK(!ok);
    ++calls;
  });
  REQUIRE(waitUntil([&] { return calls == 2; }));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(3000));
  // No TLS transport: a clear error, nothing opened.
  a.sendTo(Proto::TLS, closed, "x", {}, [&](bool ok, const std::string& err) {
    CHECK(!ok);
    CHECK(err.find("no TLS transport") != std::string::npos);
    ++calls;
  });
  REQUIRE(waitUntil([&] { return calls == 3; }));
  CHECK(a.connectionCount() == 0);
  a.stop(std::chrono::milliseconds(200));
}

TEST_CASE("server: tcp_max_connections closes extra accepts; idle connections are closed") {
  ServerOptions o = opts(2, {{Proto::TCP, loopback()}});
  o.maxConnections = 3;
  o.connectionLifetime = std::chrono::seconds(1);
  EchoServer e(o);
  REQUIRE(e.srv->start() == "");
  auto addr = *e.srv->listenAddressFor(Proto::TCP, 0);
  std::vector<std::unique_ptr<TestClient>> cs;
  for (int i = 0; i < 3; ++i) {
    cs.push_back(std::make_unique<TestClient>(addr));
    // Wait until accepted so the count is exact.
    REQUIRE(waitUntil([&] { return e.srv->connectionCount() == size_t(i + 1); }));
    // A complete message each: they are not eviction candidates, so the extra one is refused.
    REQUIRE(cs.back()->sendAll("OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n"));
    REQUIRE(cs.back()->readMessage());
  }
  TestClient extra(addr);
  CHECK(extra.waitClosed());
  uint64_t rejected = 0;
  for (auto& s : e.srv->stats()) rejected += s.rejected;
  CHECK(rejected == 1);
  // The first three get closed after about a second without traffic.
  auto t0 = std::chrono::steady_clock::now();
  for (auto& c : cs) CHECK(c->waitClosed());
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took > std::chrono::milliseconds(700));
  CHECK(took < std::chrono::milliseconds(3000));
  uint64_t idle = 0;
  for (auto& s : e.srv->stats()) idle += s.closedIdle;
  CHECK(idle == 3);
  e.srv->stop(std::chrono::milliseconds(200));
}

TEST_CASE("server: a full table evicts the oldest connection without a complete message") {
  ServerOptions o = opts(1, {{Proto::TCP, loopback()}});
  o.maxConnections = 3;
  EchoServer e(o);
  REQUIRE(e.srv->start() == "");
  auto addr = *e.srv->listenAddressFor(Proto::TCP, 0);
  const std::string msg = "OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n";
  TestClient talker(addr);
  REQUIRE(waitUntil([&] { return e.srv->connectionCount() == 1; }));
  REQUIRE(talker.sendAll(msg));
  REQUIRE(talker.readMessage());
  TestClient silentOld(addr);
  REQUIRE(waitUntil([&] { return e.srv->connectionCount() == 2; }));
  TestClient trickler(addr);
  REQUIRE(waitUntil([&] { return e.srv->connectionCount() == 3; }));
  REQUIRE(trickler.sendAll("OPT"));  // bytes, but no complete message
  TestClient newcomer(addr);
  CHECK(silentOld.waitClosed());  // the oldest without a complete message goes
  REQUIRE(newcomer.sendAll(msg));
  CHECK(newcomer.readMessage());
  REQUIRE(talker.sendAll(msg));
  CHECK(talker.readMessage());  // a connection that completed a message is never evicted
  uint64_t evicted = 0, rejected = 0;
  for (auto& s : e.srv->stats()) evicted += s.evicted, rejected += s.rejected;
  CHECK(evicted == 1);
  CHECK(rejected == 0);
  e.srv->stop(std::chrono::milliseconds(200));
}

TEST_CASE("server: tcp_msg_read_timeout cuts a trickle; the idle timer ignores bytes without a message") {
  ServerOptions o = opts(1, {{Proto::TCP, loopback()}});
  o.msgReadTimeout = std::chrono::milliseconds(600);
  o.connectionLifetime = std::chrono::seconds(30);
  EchoServer e(o);
  REQUIRE(e.srv->start() == "");
  auto addr = *e.srv->listenAddressFor(Proto::TCP, 0);
  TestClient slow(addr);
  REQUIRE(slow.connected());
  auto t0 = std::chrono::steady_clock::now();
  const std::string msg = "OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n";
  bool closed = false;
  for (size_t i = 0; i < msg.size() && !closed; ++i) {
    closed = !slow.sendAll(msg.substr(i, 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the trickle itself is the test input
    if (std::chrono::steady_clock::now() - t0 > std::chrono::seconds(3)) break;
  }
  CHECK(slow.waitClosed());
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took < std::chrono::milliseconds(2500));
  uint64_t timedOut = 0;
  for (auto& s : e.srv->stats()) timedOut += s.timedOut;
  CHECK(timedOut == 1);
  CHECK(e.messages == 0);
  e.srv->stop(std::chrono::milliseconds(200));
}

TEST_CASE("server: tcp_max_connections_per_ip refuses the extra connections of one address") {
  ServerOptions o = opts(2, {{Proto::TCP, loopback()}});
  o.maxConnectionsPerIp = 2;
  EchoServer e(o);
  REQUIRE(e.srv->start() == "");
  auto addr = *e.srv->listenAddressFor(Proto::TCP, 0);
  TestClient a(addr), b(addr);
  REQUIRE(waitUntil([&] { return e.srv->connectionCount() == 2; }));
  TestClient c(addr);
  CHECK(c.waitClosed());
  uint64_t perIp = 0;
  for (auto& s : e.srv->stats()) perIp += s.refusedPerIp;
  CHECK(perIp == 1);
  CHECK(e.srv->ipLimiter().count(addr) == 2);
  e.srv->stop(std::chrono::milliseconds(200));
}

TEST_CASE("server: resolve literals and localhost; timers run off the workers") {
  Server a(opts(1, {}), [](std::string_view, const ReceiveInfo&) {});
  std::atomic<int> ticks{0};
  std::atomic<bool> onWorker{false};
  a.addTimer(std::chrono::milliseconds(20), [&] {
    if (a.currentWorker() != -1) onWorker = true;
    ++ticks;
  });
  REQUIRE(a.start() == "");
  CHECK(waitUntil([&] { return ticks >= 3; }));
  CHECK(!onWorker);
  std::atomic<int> answers{0};
  std::mutex mu;
  std::vector<std::string> got;
  auto cb = [&](std::optional<SockAddr> addr, std::string err) {
    std::lock_guard<std::mutex> lk(mu);
    got.push_back(addr ? addr->ip() : "ERR " + err);
    ++answers;
  };
  a.resolve("127.0.0.1", cb);
  a.resolve("[::1]", cb);
  REQUIRE(waitUntil([&] { return answers == 2; }));
  a.resolve("localhost", cb);  // /etc/hosts, answered without a query
  REQUIRE(waitUntil([&] { return answers == 3; }, std::chrono::milliseconds(10000)));
  std::lock_guard<std::mutex> lk(mu);
  CHECK(got[0] == "127.0.0.1");
  CHECK(got[1] == "::1");
  CHECK((got[2] == "127.0.0.1" || got[2] == "::1"));
  a.stop(std::chrono::milliseconds(100));
}

TEST_CASE("server: graceful stop from another thread ends wait(), closes clients and listeners") {
  EchoServer e(opts(2, {{Proto::TCP, loopback()}, {Proto::UDP, loopback()}}));
  REQUIRE(e.srv->start() == "");
  auto addr = *e.srv->listenAddressFor(Proto::TCP, 0);
  TestClient c(addr);
  std::string m = sipMessage("OPTIONS sip:x SIP/2.0", "");
  REQUIRE(c.sendAll(m));
  REQUIRE(c.readMessage());
  std::thread stopper([&] { e.srv->stop(std::chrono::milliseconds(1000)); });
  auto t0 = std::chrono::steady_clock::now();
  e.srv->wait();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1500));
  stopper.join();
  CHECK(c.waitClosed());
  TestClient late(addr);
  CHECK(!late.connected());
  e.srv->stop(std::chrono::milliseconds(10));  // idempotent
}

TEST_CASE("server: start errors name the address") {
  Server a(opts(1, {{Proto::TCP, *SockAddr::fromIpPort("192.0.2.55", 5060)}}), [](std::string_view, const ReceiveInfo&) {});
  std::string err = a.start();
  CHECK(err.find("192.0.2.55:5060") != std::string::npos);
  // A second server on a port the first one holds is refused, not silently shared (SO_REUSEPORT).
  Server first(opts(1, {{Proto::TCP, loopback()}}), [](std::string_view, const ReceiveInfo&) {});
  REQUIRE(first.start() == "");
  auto held = *first.listenAddressFor(Proto::TCP, 0);
  Server second(opts(2, {{Proto::TCP, held}}), [](std::string_view, const ReceiveInfo&) {});
  CHECK(second.start().find("address already in use") != std::string::npos);
  first.stop(std::chrono::milliseconds(100));
  Server b(opts(1, {{Proto::TLS, loopback()}}), [](std::string_view, const ReceiveInfo&) {});
  CHECK(b.start().find("no TLS transport") != std::string::npos);
}

TEST_CASE("server: a full table evicts another worker's slow peer when this worker has none") {
  // tcp_max_connections counts every worker, eviction candidates are per worker: a newcomer on a
  // worker whose connections all completed a message was refused while the other worker's slow
  // peers held the table (hardening_slow_peers: new TLS clients got EOF during a trickle flood).
  ServerOptions o = opts(2, {{Proto::TCP, loopback()}});
  o.maxConnections = 6;
  EchoServer e(o);
  REQUIRE(e.srv->start() == "");
  auto addr = *e.srv->listenAddressFor(Proto::TCP, 0);
  auto seen = [&](int w) {
    auto s = e.srv->stats()[size_t(w)];
    return s.accepted + s.rejected;
  };
  const std::string msg = "OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n";
  // Which worker takes a connection is the kernel's (SO_REUSEPORT) choice: a new client is
  // answered on worker 0 (not evictable then) and stays silent on worker 1.
  std::vector<std::unique_ptr<TestClient>> answered, silent;
  auto connect = [&]() -> int {
    uint64_t s0 = seen(0), s1 = seen(1);
    auto c = std::make_unique<TestClient>(addr);
    REQUIRE(waitUntil([&] { return seen(0) + seen(1) == s0 + s1 + 1; }));
    int w = seen(0) > s0 ? 0 : 1;
    if (w == 0) {
      REQUIRE(c->sendAll(msg));
      REQUIRE(c->readMessage());
      answered.push_back(std::move(c));
    } else {
      silent.push_back(std::move(c));
    }
    return w;
  };
  for (int i = 0; i < 200 && (answered.size() + silent.size() < 6 || answered.empty() || silent.empty()); ++i) {
    if (answered.size() + silent.size() == 6) {  // all on one worker so far: make room and retry
      auto& from = answered.empty() ? silent : answered;
      from.pop_back();
      REQUIRE(waitUntil([&] { return e.srv->connectionCount() == 5; }));
    }
    connect();
  }
  REQUIRE(answered.size() + silent.size() == 6);
  REQUIRE(!answered.empty());
  REQUIRE(!silent.empty());
  REQUIRE(waitUntil([&] { return e.srv->connectionCount() == 6; }));
  // Newcomers until one lands on worker 0, which has nothing to evict of its own.
  uint64_t evicted1 = e.srv->stats()[1].evicted;
  bool onZero = false;
  for (int i = 0; i < 64 && !onZero; ++i) {
    uint64_t s0 = seen(0), s1 = seen(1);
    auto c = std::make_unique<TestClient>(addr);
    REQUIRE(waitUntil([&] { return seen(0) + seen(1) == s0 + s1 + 1; }));
    if (seen(0) == s0) {  // worker 1 made room itself
      silent.push_back(std::move(c));
      evicted1 = e.srv->stats()[1].evicted;
      continue;
    }
    onZero = true;
    CHECK(c->sendAll(msg));
    CHECK(c->readMessage());  // served, not closed
    CHECK(waitUntil([&] { return e.srv->stats()[1].evicted == evicted1 + 1; }));
  }
  REQUIRE(onZero);
  uint64_t rejected = 0;
  for (auto& s : e.srv->stats()) rejected += s.rejected;
  CHECK(rejected == 0);
  CHECK(waitUntil([&] { return e.srv->connectionCount() <= 6; }));
  e.srv->stop(std::chrono::milliseconds(200));
}

}  // TEST_SUITE

// The Transport path with a fake transport: an XOR "cipher" behind a one-message handshake
// ("HELLO\n" -> "OK\n"), registered for plain TCP — the core treats any protocol a module
// registers a transport for alike, so the fake need not pretend to be TLS. Covers accept and connect hooks, decrypt -> framer, encrypt
// on send, sends queued before establishment, ReceiveInfo.session, close_notify on stop,
// clientDomainKey reuse rules and the handshake timeout.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <set>

#include "core/net/server.h"
#include "net_test_util.h"

using namespace sipsd;
using namespace sipsd::test;

namespace {

constexpr char kKey = 0x5a;
std::string xorBytes(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = char(c ^ kKey);
  return o;
}

class XorSession : public TransportSession {
 public:
  XorSession(bool client, std::atomic<int>& shutdowns, std::atomic<int>& closes)
      : client_(client), shutdowns_(shutdowns), closes_(closes) {}
  IoResult start(std::string& wire) override {
    wire += "HELLO\n";
    return {};
  }
  IoResult onReceive(std::string_view in, std::string& plain, std::string& wire) override {
    IoResult r;
    if (!established_) {
      hs_.append(in);
      const std::string want = client_ ? "OK\n" : "HELLO\n";
      if (hs_.size() < want.size()) {
        if (want.compare(0, hs_.size(), hs_) != 0) return {false, false, "bad handshake"};
        return r;
      }
      if (hs_.compare(0, want.size(), want) != 0) return {false, false, "bad handshake"};
      if (!client_) wire += "OK\n";
      established_ = true;
      r.justEstablished = true;
      wire += xorBytes(pending_);  // data queued by encrypt() before the handshake
      pending_.clear();
      in = std::string_view(hs_).substr(want.size());
      plain += xorBytes(in);
      return r;
    }
    plain += xorBytes(in);
    return r;
  }
  IoResult encrypt(std::string_view p, std::string& wire) override {
    if (!established_) pending_.append(p);
    else wire += xorBytes(p);
    return {};
  }
  void shutdown(std::string& wire) override {
    (void)wire;
    ++shutdowns_;
  }
  bool established() const override { return established_; }
  void onClosed(std::string_view) override { ++closes_; }

 private:
  bool client_;
  bool established_ = false;
  std::string hs_, pending_;
  std::atomic<int>& shutdowns_;
  std::atomic<int>& closes_;
};

class XorTransport : public Transport {
 public:
  std::atomic<int> accepts{0}, connects{0}, shutdowns{0}, closes{0};
  std::chrono::milliseconds hsTimeout{30000};
  SessionResult accept(const ConnEndpoints& ep) override {
    CHECK(ep.connId != 0);
    ++accepts;
    return std::unique_ptr<TransportSession>(std::make_unique<XorSession>(false, shutdowns, closes));
  }
  SessionResult connect(const ConnEndpoints&, const ConnectOptions&) override {
    ++connects;
    return std::unique_ptr<TransportSession>(std::make_unique<XorSession>(true, shutdowns, closes));
  }
  std::string clientDomainKey(const SockAddr&, const ConnectOptions& opt) override { return "dom:" + opt.profile; }
  std::chrono::milliseconds handshakeTimeout() const override { return hsTimeout; }
};

// A layer stacked on another (as WebSocket framing will sit on TLS): passes bytes through to
// the session it wraps and marks itself secure, so the tests can tell the layers apart.
class PassLayer : public TransportSession {
 public:
  explicit PassLayer(std::unique_ptr<TransportSession> lower) : lower_(std::move(lower)) {}
  IoResult start(std::string& wire) override { return lower_->start(wire); }
  IoResult onReceive(std::string_view in, std::string& plain, std::string& wire) override {
    return lower_->onReceive(in, plain, wire);
  }
  IoResult encrypt(std::string_view plain, std::string& wire) override { return lower_->encrypt(plain, wire); }
  void shutdown(std::string& wire) override { lower_->shutdown(wire); }
  bool established() const override { return lower_->established(); }
  void onClosed(std::string_view reason) override { lower_->onClosed(reason); }
  const TransportSession* lower() const override { return lower_.get(); }
  bool secure() const override { return true; }

 private:
  std::unique_ptr<TransportSession> lower_;
};

class StackedTransport : public XorTransport {
 public:
  SessionResult accept(const ConnEndpoints& ep) override {
    auto lower = XorTransport::accept(ep);
    if (!lower) return lower;
    return std::unique_ptr<TransportSession>(std::make_unique<PassLayer>(std::move(lower).value()));
  }
};

// A raw client speaking the fake protocol.
struct XorClient {
  TestClient c;
  StreamFramer framer{1 << 20};
  explicit XorClient(const SockAddr& a) : c(a) {}
  bool handshake() { return c.sendAll("HELLO\n") && readExact(3) == "OK\n"; }
  std::string readExact(size_t n) {
    std::string got;
    while (got.size() < n) {
      auto d = c.readSome();
      if (!d) break;
      got += *d;
    }
    return got;
  }
  bool send(std::string_view plain) { return c.sendAll(xorBytes(plain)); }
  std::optional<std::string> readPlain(size_t n) {
    std::string w = readExact(n);
    if (w.size() != n) return std::nullopt;
    return xorBytes(w);
  }
};

}  // namespace

TEST_SUITE("unit") {

TEST_CASE("transport: inbound sessions decrypt into the framer and encrypt replies") {
  auto t = std::make_shared<XorTransport>();
  ServerOptions o;
  o.workers = 2;
  o.listens = {{Proto::TCP, *SockAddr::fromIpPort("127.0.0.1", 0)}};
  REQUIRE(o.transports.add(Proto::TCP, t, "test"));
  std::atomic<int> withSession{0};
  Server* self = nullptr;
  Server srv(o, [&](std::string_view raw, const ReceiveInfo& rcv) {
    if (rcv.proto == Proto::TCP && rcv.session && rcv.session->established()) ++withSession;
    self->sendOnConnection(rcv.connId, std::string(raw));
  });
  self = &srv;
  REQUIRE(srv.start() == "");
  auto addr = *srv.listenAddressFor(Proto::TCP, AF_INET);
  XorClient c(addr);
  REQUIRE(c.handshake());
  std::string m1 = sipMessage("MESSAGE sip:x SIP/2.0", "secret");
  std::string m2 = sipMessage("OPTIONS sip:x SIP/2.0", "");
  REQUIRE(c.send(m1 + m2.substr(0, 7)));
  REQUIRE(c.send(m2.substr(7)));
  auto r = c.readPlain(m1.size() + m2.size());
  REQUIRE(r);
  CHECK(*r == m1 + m2);
  CHECK(withSession == 2);
  // Keep-alive pings are answered through the session too.
  REQUIRE(c.send("\r\n\r\n"));
  CHECK(c.readPlain(2) == std::optional<std::string>("\r\n"));
  // Graceful stop sends close_notify (session->shutdown) and closes.
  srv.stop(std::chrono::milliseconds(1000));
  CHECK(t->shutdowns == 1);
  CHECK(t->closes == 1);
  CHECK(c.c.waitClosed());
}

TEST_CASE("transport: a peer that never completes the handshake is closed at handshakeTimeout") {
  auto t = std::make_shared<XorTransport>();
  t->hsTimeout = std::chrono::milliseconds(300);
  ServerOptions o;
  o.workers = 1;
  o.listens = {{Proto::TCP, *SockAddr::fromIpPort("127.0.0.1", 0)}};
  REQUIRE(o.transports.add(Proto::TCP, t, "test"));
  std::atomic<int> msgs{0};
  Server srv(o, [&](std::string_view, const ReceiveInfo&) { ++msgs; });
  REQUIRE(srv.start() == "");
  auto addr = *srv.listenAddressFor(Proto::TCP, 0);
  XorClient silent(addr), good(addr);
  REQUIRE(good.handshake());
  auto t0 = std::chrono::steady_clock::now();
  CHECK(silent.c.waitClosed());
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= std::chrono::milliseconds(250));
  CHECK(took < std::chrono::milliseconds(2000));
  // The established one is unaffected; a bad handshake closes only itself.
  XorClient rude(addr);
  REQUIRE(rude.c.sendAll("GARBAGE\n"));
  CHECK(rude.c.waitClosed());
  REQUIRE(good.send(sipMessage("OPTIONS sip:x SIP/2.0", "")));
  CHECK(waitUntil([&] { return msgs == 1; }));
  CHECK(srv.connectionCount() == 1);
  srv.stop(std::chrono::milliseconds(300));
}

TEST_CASE("transport: outbound connect, sends queued until established, reuse by domain key") {
  auto tb = std::make_shared<XorTransport>();
  auto ta = std::make_shared<XorTransport>();
  std::mutex mu;
  std::set<uint64_t> bConns;
  std::atomic<int> bGot{0};
  ServerOptions ob;
  ob.workers = 2;
  ob.listens = {{Proto::TCP, *SockAddr::fromIpPort("127.0.0.1", 0)}};
  REQUIRE(ob.transports.add(Proto::TCP, tb, "test"));
  Server* bs = nullptr;
  Server b(ob, [&](std::string_view raw, const ReceiveInfo& rcv) {
    {
      std::lock_guard<std::mutex> lk(mu);
      bConns.insert(rcv.connId);
    }
    ++bGot;
    bs->sendOnConnection(rcv.connId, sipMessage("SIP/2.0 200 OK", std::string(raw.substr(raw.size() - 1))));
  });
  bs = &b;
  REQUIRE(b.start() == "");
  auto bAddr = *b.listenAddressFor(Proto::TCP, 0);

  ServerOptions oa;
  oa.workers = 1;
  REQUIRE(oa.transports.add(Proto::TCP, ta, "test"));
  std::atomic<int> replies{0};
  Server a(oa, [&](std::string_view raw, const ReceiveInfo& rcv) {
    CHECK(rcv.proto == Proto::TCP);
    CHECK(rcv.session != nullptr);
    if (raw.rfind("SIP/2.0 200", 0) == 0) ++replies;
  });
  REQUIRE(a.start() == "");
  std::atomic<int> oks{0}, fails{0};
  auto done = [&](bool ok, const std::string&) { ok ? ++oks : ++fails; };
  // Three sends before the handshake can have completed: all queued, all delivered in order.
  for (int i = 1; i <= 3; ++i)
    a.sendTo(Proto::TCP, bAddr, sipMessage("MESSAGE sip:b SIP/2.0", std::to_string(i)), {}, done);
  REQUIRE(waitUntil([&] { return oks == 3 && replies == 3; }));
  CHECK(ta->connects == 1);
  // Another client domain (server id) must not reuse that connection.
  ConnectOptions other;
  other.profile = "tenant2";
  a.sendTo(Proto::TCP, bAddr, sipMessage("MESSAGE sip:b SIP/2.0", "4"), other, done);
  REQUIRE(waitUntil([&] { return oks == 4 && replies == 4; }));
  CHECK(ta->connects == 2);
  CHECK(fails == 0);
  {
    std::lock_guard<std::mutex> lk(mu);
    CHECK(bConns.size() == 2);
  }
  a.stop(std::chrono::milliseconds(500));
  b.stop(std::chrono::milliseconds(500));
}

TEST_CASE("transport: a module finds its own layer under a session stacked on it") {
  std::atomic<int> shutdowns{0}, closes{0};
  XorSession bare(false, shutdowns, closes);
  CHECK(findLayer<XorSession>(&bare) == &bare);
  CHECK(findLayer<PassLayer>(&bare) == nullptr);
  CHECK_FALSE(stackSecure(&bare));
  CHECK_FALSE(stackSecure(nullptr));

  auto t = std::make_shared<StackedTransport>();
  ServerOptions o;
  o.workers = 1;
  o.listens = {{Proto::TCP, *SockAddr::fromIpPort("127.0.0.1", 0)}};
  REQUIRE(o.transports.add(Proto::TCP, t, "test"));
  std::atomic<int> layered{0};
  Server* self = nullptr;
  Server srv(o, [&](std::string_view raw, const ReceiveInfo& rcv) {
    // The top is the stacked layer; the XOR session is found beneath it; the stack is secure
    // because one layer is.
    if (rcv.layer<PassLayer>() == rcv.session && rcv.layer<XorSession>() && rcv.secure()) ++layered;
    self->sendOnConnection(rcv.connId, std::string(raw));
  });
  self = &srv;
  REQUIRE(srv.start() == "");
  XorClient c(*srv.listenAddressFor(Proto::TCP, AF_INET));
  REQUIRE(c.handshake());
  std::string m = sipMessage("OPTIONS sip:x SIP/2.0", "");
  REQUIRE(c.send(m));
  CHECK(c.readPlain(m.size()) == std::optional<std::string>(m));
  CHECK(layered == 1);
  srv.stop(std::chrono::milliseconds(300));
  CHECK(t->shutdowns == 1);
}

}  // TEST_SUITE

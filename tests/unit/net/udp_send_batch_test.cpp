// UdpSendBatch: one sendmmsg per socket in queue order, partial results sent again after the
// refused datagram, each outcome reported on its own, the bounds, reports that queue again;
// with real sockets (the kernel's own partial sendmmsg); and through a Server, the replies of a
// read batch in order with the send counters right, batched and with udp_send_batch off.
#include "core/net/udp_send_batch.h"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "core/net/server.h"
#include "net_test_util.h"

using namespace sipsd;
using namespace sipsd::test;

namespace {

SockAddr addr(uint16_t port) { return *SockAddr::fromIpPort("127.0.0.1", port); }

// A scripted sendmmsg: records every call (socket, payloads, destination ports) and answers
// from a queue of results (a count, or -errno), taking everything when the queue is empty.
struct FakeKernel {
  struct Call {
    int fd;
    std::vector<std::string> payloads;
    std::vector<uint16_t> ports;
  };
  std::vector<Call> calls;
  std::deque<int> results;

  UdpSendBatch::SendMmsg fn() {
    return [this](int fd, mmsghdr* m, unsigned n) {
      Call c{fd, {}, {}};
      for (unsigned i = 0; i < n; ++i) {
        const iovec* v = m[i].msg_hdr.msg_iov;
        c.payloads.emplace_back(static_cast<const char*>(v->iov_base), v->iov_len);
        c.ports.push_back(SockAddr(static_cast<const sockaddr*>(m[i].msg_hdr.msg_name), m[i].msg_hdr.msg_namelen).port());
      }
      calls.push_back(std::move(c));
      if (results.empty()) return int(n);
      int r = results.front();
      results.pop_front();
      if (r < 0) {
        errno = -r;
        return -1;
      }
      return std::min(r, int(n));
    };
  }
};

struct Reports {
  int armed = 0;
  size_t sentDatagrams = 0, sentBytes = 0;
  std::vector<std::pair<uint16_t, int>> failed;  // port, errno
  UdpSendBatch::Hooks hooks() {
    UdpSendBatch::Hooks h;
    h.armed = [this] { ++armed; };
    h.sent = [this](size_t d, size_t b) {
      sentDatagrams += d;
      sentBytes += b;
    };
    h.failed = [this](const SockAddr& to, int err) { failed.emplace_back(to.port(), err); };
    return h;
  }
};

}  // namespace

TEST_SUITE("unit") {

TEST_CASE("udp send batch: one sendmmsg per socket, queue order kept per socket, outcomes reported") {
  FakeKernel k;
  Reports r;
  UdpSendBatch b(r.hooks(), k.fn());
  std::vector<int> outcomes(5, -1);
  // Two sockets interleaved, as replies (socket 3) and relayed requests (socket 4) are.
  const int fds[5] = {3, 4, 3, 4, 3};
  for (int i = 0; i < 5; ++i) {
    std::string payload = "dgram" + std::to_string(i);  // gone before the flush: the batch keeps its copy
    b.add(fds[i], addr(uint16_t(5000 + i)), std::string_view(payload), [&outcomes, i](int err) { outcomes[size_t(i)] = err; });
  }
  CHECK(r.armed == 1);
  CHECK(b.size() == 5);
  CHECK(k.calls.empty());  // nothing leaves before the flush
  b.flush();
  REQUIRE(k.calls.size() == 2);
  CHECK(k.calls[0].fd == 3);
  CHECK(k.calls[0].payloads == std::vector<std::string>{"dgram0", "dgram2", "dgram4"});
  CHECK(k.calls[0].ports == std::vector<uint16_t>{5000, 5002, 5004});
  CHECK(k.calls[1].fd == 4);
  CHECK(k.calls[1].payloads == std::vector<std::string>{"dgram1", "dgram3"});
  CHECK(outcomes == std::vector<int>{0, 0, 0, 0, 0});
  CHECK(r.sentDatagrams == 5);
  CHECK(r.sentBytes == 30);
  CHECK(r.failed.empty());
  CHECK(b.empty());
  b.flush();  // nothing queued: no system call
  CHECK(k.calls.size() == 2);
  b.addOwned(3, addr(6000), std::string("moved"));
  CHECK(r.armed == 2);  // empty again, so the next datagram schedules a flush again
  b.flush();
  REQUIRE(k.calls.size() == 3);
  CHECK(k.calls[2].payloads == std::vector<std::string>{"moved"});
}

TEST_CASE("udp send batch: a partial sendmmsg sends the rest; the refused datagram alone reports its error") {
  FakeKernel k;
  Reports r;
  UdpSendBatch b(r.hooks(), k.fn());
  // The kernel takes 2 of 5, refuses the third (EAGAIN: its buffer is full), is interrupted
  // once, then takes the last two.
  k.results = {2, -EAGAIN, -EINTR, 2};
  std::vector<int> outcomes(5, -1);
  for (int i = 0; i < 5; ++i)
    b.add(7, addr(uint16_t(5000 + i)), "m" + std::to_string(i), [&outcomes, i](int err) { outcomes[size_t(i)] = err; });
  b.flush();
  REQUIRE(k.calls.size() == 4);
  CHECK(k.calls[0].payloads.size() == 5);
  CHECK(k.calls[1].payloads == std::vector<std::string>{"m2", "m3", "m4"});
  CHECK(k.calls[2].payloads == std::vector<std::string>{"m3", "m4"});
  CHECK(k.calls[3].payloads == std::vector<std::string>{"m3", "m4"});
  CHECK(outcomes == std::vector<int>{0, 0, EAGAIN, 0, 0});
  CHECK(r.sentDatagrams == 4);
  CHECK(r.sentBytes == 8);
  REQUIRE(r.failed.size() == 1);
  CHECK(r.failed[0] == std::pair<uint16_t, int>{5002, EAGAIN});

  // Every datagram refused: each reports, the loop always advances.
  k.results = {-ENETUNREACH, -EPERM};
  outcomes.assign(2, -1);
  b.add(7, addr(1), "a", [&outcomes](int err) { outcomes[0] = err; });
  b.add(7, addr(2), "b", [&outcomes](int err) { outcomes[1] = err; });
  b.flush();
  CHECK(outcomes == std::vector<int>{ENETUNREACH, EPERM});
  CHECK(r.sentDatagrams == 4);
  CHECK(r.failed.size() == 3);
}

TEST_CASE("udp send batch: bounded by datagrams and by bytes; reports may queue again") {
  FakeKernel k;
  Reports r;
  UdpSendBatch b(r.hooks(), k.fn());
  for (size_t i = 0; i < UdpSendBatch::kMaxDatagrams - 1; ++i) b.add(3, addr(5000), "x");
  CHECK(k.calls.empty());
  b.add(3, addr(5000), "x");  // the bound: sent at once
  REQUIRE(k.calls.size() == 1);
  CHECK(k.calls[0].payloads.size() == UdpSendBatch::kMaxDatagrams);
  CHECK(b.empty());

  std::string big(UdpSendBatch::kMaxBytes / 2, 'b');
  b.add(3, addr(5000), std::string_view(big));
  CHECK(k.calls.size() == 1);
  b.add(3, addr(5000), std::string_view(big));  // bytes held reach the bound
  REQUIRE(k.calls.size() == 2);
  CHECK(k.calls[1].payloads.size() == 2);
  CHECK(k.calls[1].payloads[1] == big);

  // A report that sends again (a failed branch answering, say) queues for the next flush;
  // a flush asked for from inside a report does nothing.
  int armedBefore = r.armed;
  b.add(3, addr(5000), "first", [&b](int) {
    b.add(3, addr(5001), "from a report");
    b.flush();
  });
  b.flush();
  REQUIRE(k.calls.size() == 3);
  CHECK(k.calls[2].payloads == std::vector<std::string>{"first"});
  CHECK(b.size() == 1);
  CHECK(r.armed == armedBefore + 2);
  b.flush();
  REQUIRE(k.calls.size() == 4);
  CHECK(k.calls[3].payloads == std::vector<std::string>{"from a report"});
}

TEST_CASE("udp send batch: real sockets; the kernel stops at a refused datagram and the rest still arrive in order") {
  int out = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int in = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(out >= 0);
  REQUIRE(in >= 0);
  SockAddr any = addr(0);
  REQUIRE(::bind(in, any.sa(), any.len()) == 0);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(in, reinterpret_cast<sockaddr*>(&ss), &len);
  SockAddr to(reinterpret_cast<sockaddr*>(&ss), len);
  timeval tv{5, 0};
  setsockopt(in, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  Reports r;
  UdpSendBatch b(r.hooks());
  std::vector<int> outcomes(4, -1);
  // Port 0 is refused by the kernel (EINVAL) in the middle of the batch.
  const SockAddr dests[4] = {to, to, addr(0), to};
  for (int i = 0; i < 4; ++i)
    b.add(out, dests[i], "d" + std::to_string(i), [&outcomes, i](int err) { outcomes[size_t(i)] = err; });
  b.flush();
  CHECK(outcomes == std::vector<int>{0, 0, EINVAL, 0});
  CHECK(r.sentDatagrams == 3);
  REQUIRE(r.failed.size() == 1);
  CHECK(r.failed[0].second == EINVAL);
  for (const char* want : {"d0", "d1", "d3"}) {
    char buf[64];
    ssize_t n = ::recv(in, buf, sizeof buf, 0);
    REQUIRE(n > 0);
    CHECK(std::string(buf, size_t(n)) == want);
  }
  ::close(out);
  ::close(in);
}

TEST_CASE("udp send batch: a server's replies to a read batch, in order, counted; and with udp_send_batch off") {
  for (bool batch : {true, false}) {
    CAPTURE(batch);
    ServerOptions o;
    o.workers = 1;
    o.listens = {{Proto::UDP, addr(0)}};
    o.udpSendBatch = batch;
    std::unique_ptr<Server> srv;
    // Each request gets two replies, the second one built on the stack and gone when the
    // handler returns (the batch must not point into it).
    srv = std::make_unique<Server>(std::move(o), [&srv](std::string_view raw, const ReceiveInfo& rcv) {
      std::string first = "re1:" + std::string(raw);
      CHECK(srv->sendUdp(rcv.dst, rcv.src, first));
      std::string second = "re2:" + std::string(raw);
      CHECK(srv->sendUdp(rcv.dst, rcv.src, second));
    });
    REQUIRE(srv->start() == "");
    SockAddr to = *srv->listenAddressFor(Proto::UDP, AF_INET);
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::vector<std::string> sent;
    size_t bytesOut = 0;
    for (int i = 0; i < 6; ++i) {
      sent.push_back(sipMessage("MESSAGE sip:x SIP/2.0", "n" + std::to_string(i)));
      bytesOut += 2 * (4 + sent.back().size());
    }
    for (auto& m : sent) ::sendto(fd, m.data(), m.size(), 0, to.sa(), to.len());
    std::vector<std::string> got;
    for (int i = 0; i < 12; ++i) {
      char buf[2048];
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      REQUIRE(n > 0);
      got.emplace_back(buf, size_t(n));
    }
    for (size_t i = 0; i < sent.size(); ++i) {
      CHECK(got[2 * i] == "re1:" + sent[i]);
      CHECK(got[2 * i + 1] == "re2:" + sent[i]);
    }
    // Counted when the kernel took them (the flush runs before the loop sleeps again).
    CHECK(waitUntil([&] {
      uint64_t msgs = 0, bytes = 0;
      for (auto& s : srv->stats()) {
        msgs += s.messagesOut;
        bytes += s.bytesOut;
      }
      return msgs == 12 && bytes == bytesOut;
    }));
    ::close(fd);
    srv->stop(std::chrono::milliseconds(500));
  }
}

TEST_CASE("udp send batch: Server::sendTo over UDP reports each datagram's own outcome") {
  ServerOptions o;
  o.workers = 1;
  o.listens = {{Proto::UDP, addr(0)}};
  std::mutex mu;
  std::vector<std::pair<bool, std::string>> outcomes;
  std::unique_ptr<Server> srv;
  int rx = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  SockAddr any = addr(0);
  REQUIRE(::bind(rx, any.sa(), any.len()) == 0);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(rx, reinterpret_cast<sockaddr*>(&ss), &len);
  SockAddr good(reinterpret_cast<sockaddr*>(&ss), len);
  srv = std::make_unique<Server>(std::move(o), [&](std::string_view, const ReceiveInfo&) {
    // Three sends in one round: the refused one (port 0) is the only failure.
    for (const SockAddr& to : {good, addr(0), good})
      srv->sendTo(Proto::UDP, to, "to " + to.str(), ConnectOptions{}, [&mu, &outcomes](bool ok, const std::string& err) {
        std::lock_guard<std::mutex> lk(mu);
        outcomes.emplace_back(ok, err);
      });
  });
  REQUIRE(srv->start() == "");
  SockAddr to = *srv->listenAddressFor(Proto::UDP, AF_INET);
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  std::string m = sipMessage("MESSAGE sip:x SIP/2.0", "go");
  ::sendto(fd, m.data(), m.size(), 0, to.sa(), to.len());
  REQUIRE(waitUntil([&] {
    std::lock_guard<std::mutex> lk(mu);
    return outcomes.size() == 3;
  }));
  {
    std::lock_guard<std::mutex> lk(mu);
    CHECK(outcomes[0] == std::pair<bool, std::string>{true, ""});
    CHECK(!outcomes[1].first);
    CHECK(outcomes[1].second == "UDP to 127.0.0.1:0: cannot send: " + std::string(std::strerror(EINVAL)));
    CHECK(outcomes[2] == std::pair<bool, std::string>{true, ""});
  }
  timeval tv{5, 0};
  setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (int i = 0; i < 2; ++i) {
    char buf[256];
    ssize_t n = ::recv(rx, buf, sizeof buf, 0);
    REQUIRE(n > 0);
    CHECK(std::string(buf, size_t(n)) == "to " + good.str());
  }
  ::close(fd);
  ::close(rx);
  srv->stop(std::chrono::milliseconds(500));
}

}  // TEST_SUITE

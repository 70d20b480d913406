// UdpReplySteering end to end: replies from many source ports (which the kernel's hash would
// spread over the workers) reach the worker their branch names; requests, branches of workers
// that do not exist and truncated datagrams are still delivered (hash fallback), never lost.
#include "core/net/udp_reply_steering.h"

#include <doctest/doctest.h>

#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "core/net/server.h"
#include "net_test_util.h"

using namespace sipsd;
using namespace sipsd::test;

namespace {

struct Recorder {
  std::mutex mu;
  std::map<std::string, std::vector<int>> workersByCallId;  // Call-ID -> workers that got it
  std::unique_ptr<Server> srv;

  explicit Recorder(int workers, uint16_t port) {
    ServerOptions o;
    o.workers = workers;
    o.listens = {{Proto::UDP, *SockAddr::fromIpPort("127.0.0.1", port)}};
    srv = std::make_unique<Server>(std::move(o), [this](std::string_view raw, const ReceiveInfo& rcv) {
      size_t at = raw.find("Call-ID: ");
      std::string id(raw.substr(at + 9, raw.find("\r\n", at) - at - 9));
      std::lock_guard<std::mutex> lk(mu);
      workersByCallId[id].push_back(rcv.worker);
    });
  }
  size_t count() {
    std::lock_guard<std::mutex> lk(mu);
    size_t n = 0;
    for (auto& [id, w] : workersByCallId) n += w.size();
    return n;
  }
};

std::string reply(const std::string& branch, const std::string& callId) {
  return "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=" + branch +
         ";rport\r\nVia: SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKabc\r\nFrom: <sip:a@x>;tag=1\r\n"
         "To: <sip:b@y>;tag=2\r\nCall-ID: " + callId + "\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
}

}  // namespace

TEST_CASE("UDP replies go to the worker their branch names, from any source port") {
  REQUIRE(UdpReplySteering::program().size() <= BPF_MAXINSNS);
  uint16_t port = freePort(SOCK_DGRAM);
  Recorder r(4, port);
  REQUIRE(r.srv->start() == "");
  SockAddr to = *SockAddr::fromIpPort("127.0.0.1", port);
  constexpr int kSources = 16;
  std::vector<int> fds;
  for (int i = 0; i < kSources; ++i) fds.push_back(::socket(AF_INET, SOCK_DGRAM, 0));
  size_t sent = 0;
  auto send = [&](int fd, const std::string& m) {
    REQUIRE(::sendto(fd, m.data(), m.size(), 0, to.sa(), to.len()) == ssize_t(m.size()));
    ++sent;
  };
  for (int i = 0; i < kSources; ++i) {
    int w = i % 4;
    send(fds[size_t(i)], reply("z9hG4bKtm" + std::to_string(w) + ".1f." + std::to_string(i), "w" + std::to_string(w)));
    // A branch naming a worker the server does not have, a request, a datagram shorter than
    // any reply with a branch, and a branch that is not a worker branch: delivered by the hash.
    send(fds[size_t(i)], reply("z9hG4bKtm9.1f.0", "nine"));
    send(fds[size_t(i)], "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKtm1.2.0\r\n"
                         "Call-ID: request\r\nContent-Length: 0\r\n\r\n");
    send(fds[size_t(i)], reply("z9hG4bKsdfeed", "stateless"));
  }
  CHECK(waitUntil([&] { return r.count() == sent; }));
  {
    std::lock_guard<std::mutex> lk(r.mu);
    for (int w = 0; w < 4; ++w) {
      auto& got = r.workersByCallId["w" + std::to_string(w)];
      CHECK(got.size() == size_t(kSources / 4));
      for (int x : got) CHECK(x == w);
    }
    // With 16 source ports, the hash fallback reaches more than one worker.
    std::set<int> spread(r.workersByCallId["nine"].begin(), r.workersByCallId["nine"].end());
    CHECK(spread.size() > 1);
    CHECK(r.workersByCallId["request"].size() == size_t(kSources));
    CHECK(r.workersByCallId["stateless"].size() == size_t(kSources));
  }
  for (int fd : fds) ::close(fd);
  r.srv->stop(std::chrono::milliseconds(500));
}

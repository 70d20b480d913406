// Helpers for the engine tests: blocking test clients (the tests are the peers), message
// builders, and bounded waits for conditions (no blind sleeps).
#pragma once
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "core/net/sock_addr.h"
#include "core/net/stream_framer.h"

namespace sipsd::test {

using namespace std::chrono_literals;

// Polls `pred` until true or `timeout` passes.
inline bool waitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 5000ms) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

inline std::string sipMessage(const std::string& firstLine, const std::string& body) {
  return firstLine + "\r\nCall-ID: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// A free port for `proto` on 127.0.0.1: bind a probe socket to port 0, read it, release it.
inline uint16_t freePort(int type) {
  int fd = ::socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// A blocking stream client; reads are framed with the engine's own StreamFramer.
class TestClient : private FramerSink {
 public:
  explicit TestClient(const SockAddr& to, int rcvBuf = 0) {
    fd_ = ::socket(to.family(), SOCK_STREAM, 0);
    if (rcvBuf > 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvBuf, sizeof rcvBuf);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    connected_ = ::connect(fd_, to.sa(), to.len()) == 0;
  }
  ~TestClient() override { if (fd_ >= 0) ::close(fd_); }
  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  bool sendAll(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(size_t(n));
    }
    return true;
  }
  // Raw bytes (whatever arrives first), or nullopt on EOF/timeout.
  std::optional<std::string> readSome() {
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return std::nullopt;
    return std::string(buf, size_t(n));
  }
  // The next framed message, or nullopt on EOF/timeout.
  std::optional<std::string> readMessage() {
    while (msgs_.empty()) {
      auto d = readSome();
      if (!d) return std::nullopt;
      if (!framer_.feed(*d, *this).empty()) return std::nullopt;
    }
    std::string m = std::move(msgs_.front());
    msgs_.pop_front();
    return m;
  }
  size_t pings() const { return pings_; }
  // True when the server closed the connection (EOF or reset) within the socket timeout.
  bool waitClosed() {
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }

 private:
  bool onMessage(std::string_view m) override {
    msgs_.emplace_back(m);
    return true;
  }
  void onPing() override { ++pings_; }

  int fd_ = -1;
  bool connected_ = false;
  StreamFramer framer_{1 << 24};
  std::deque<std::string> msgs_;
  size_t pings_ = 0;
};

}  // namespace sipsd::test

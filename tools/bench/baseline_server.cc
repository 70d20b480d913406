// The baseline responder's event loop (see baseline_server.h).
#include "baseline_server.h"

#include "reply_builder.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sipsd::bench {

BaselineServer::BaselineServer(Proto proto, SSL_CTX* ctx) : proto_(proto), ctx_(ctx) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
}

BaselineServer::~BaselineServer() {
  for (auto& c : conns_)
    if (c) close(c->fd);
  if (listenFd_ >= 0) close(listenFd_);
  if (epfd_ >= 0) close(epfd_);
}

bool BaselineServer::open(const NetAddr& addr, std::string* error) {
  const std::string where = formatHostPort(addr.sa());
  if (epfd_ < 0) {
    *error = std::string("epoll_create1: ") + std::strerror(errno);
    return false;
  }
  const bool udp = proto_ == Proto::kUdp;
  listenFd_ = socket(addr.family(), (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listenFd_ < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  const int one = 1;
  setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(listenFd_, addr.sa(), addr.len) != 0) {
    *error = "cannot bind " + where + ": " + std::strerror(errno);
    return false;
  }
  if (!udp && listen(listenFd_, 4096) != 0) {
    *error = "cannot listen on " + where + ": " + std::strerror(errno);
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listenFd_;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, listenFd_, &ev);
  return true;
}

std::string BaselineServer::localAddress() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(listenFd_, reinterpret_cast<sockaddr*>(&ss), &len);
  return formatHostPort(reinterpret_cast<const sockaddr*>(&ss));
}

void BaselineServer::run(const volatile int* stop) {
  epoll_event events[256];
  while (*stop == 0) {
    const int n = epoll_wait(epfd_, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listenFd_) {
        if (proto_ == Proto::kUdp) serveDatagrams();
        else acceptAll();
      } else {
        onConn(fd);
      }
    }
  }
}

void BaselineServer::acceptAll() {
  for (;;) {
    const int fd = accept4(listenFd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or EMFILE and friends: the backlog keeps the rest
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_unique<Conn>();
    c->fd = fd;
    if (proto_ == Proto::kTls) {
      c->ssl.reset(SSL_new(ctx_));
      if (!c->ssl) {
        takeSslErrors();
        close(fd);
        continue;
      }
      SSL_set_fd(c->ssl.get(), fd);
      SSL_set_accept_state(c->ssl.get());
      c->handshaking = true;
    }
    if (conns_.size() <= static_cast<std::size_t>(fd)) conns_.resize(static_cast<std::size_t>(fd) + 64);
    conns_[static_cast<std::size_t>(fd)] = std::move(c);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.fd = fd;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  }
}

void BaselineServer::onConn(int fd) {
  Conn* c = static_cast<std::size_t>(fd) < conns_.size() ? conns_[static_cast<std::size_t>(fd)].get() : nullptr;
  if (c == nullptr) return;
  if (c->handshaking) {
    const int r = SSL_do_handshake(c->ssl.get());
    if (r != 1) {
      const int err = SSL_get_error(c->ssl.get(), r);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
      takeSslErrors();  // a failed handshake costs this connection only
      return closeConn(fd, false);
    }
    c->handshaking = false;
  }
  if (!readAndAnswer(*c)) return;
  if (c->outOff < c->out.size() && !flush(*c)) closeConn(fd, false);
}

bool BaselineServer::readAndAnswer(Conn& c) {
  for (;;) {
    std::size_t room = 0;
    char* buf = c.framer.writable(16384, &room);
    ssize_t n;
    if (c.ssl) {
      const int r = SSL_read(c.ssl.get(), buf, static_cast<int>(room));
      if (r <= 0) {
        const int err = SSL_get_error(c.ssl.get(), r);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) break;
        takeSslErrors();
        closeConn(c.fd, err == SSL_ERROR_ZERO_RETURN);
        return false;
      }
      n = r;
    } else {
      n = recv(c.fd, buf, room, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        closeConn(c.fd, false);
        return false;
      }
      if (n < 0) break;
    }
    c.framer.commit(static_cast<std::size_t>(n));
    std::string_view msg;
    std::string error;
    for (;;) {
      const auto r = c.framer.next(&msg, &error);
      if (r == SipFramer::Result::kNeedMore) break;
      if (r == SipFramer::Result::kError) {
        closeConn(c.fd, false);
        return false;
      }
      ReplyBuilder::append200(msg, &c.out);
    }
  }
  if (c.outOff < c.out.size() && !flush(c)) {
    closeConn(c.fd, false);
    return false;
  }
  return true;
}

bool BaselineServer::flush(Conn& c) {
  while (c.outOff < c.out.size()) {
    const char* p = c.out.data() + c.outOff;
    const std::size_t left = c.out.size() - c.outOff;
    if (c.ssl) {
      const int n = SSL_write(c.ssl.get(), p, static_cast<int>(left));
      if (n > 0) {
        c.outOff += static_cast<std::size_t>(n);
        continue;
      }
      const int err = SSL_get_error(c.ssl.get(), n);
      if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) return true;
      takeSslErrors();
      return false;
    }
    const ssize_t n = send(c.fd, p, left, MSG_NOSIGNAL);
    if (n > 0) {
      c.outOff += static_cast<std::size_t>(n);
      continue;
    }
    return n < 0 && (errno == EAGAIN || errno == EINTR);
  }
  c.out.clear();
  c.outOff = 0;
  return true;
}

void BaselineServer::serveDatagrams() {
  char buf[65536];
  for (;;) {
    sockaddr_storage from{};
    socklen_t fromLen = sizeof from;
    const ssize_t n = recvfrom(listenFd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fromLen);
    if (n < 0) return;
    scratch_.clear();
    if (ReplyBuilder::append200(std::string_view(buf, static_cast<std::size_t>(n)), &scratch_))
      sendto(listenFd_, scratch_.data(), scratch_.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&from), fromLen);
  }
}

void BaselineServer::closeConn(int fd, bool polite) {
  auto& slot = conns_[static_cast<std::size_t>(fd)];
  if (!slot) return;
  if (polite && slot->ssl) {
    SSL_shutdown(slot->ssl.get());  // answer the peer's close_notify
    takeSslErrors();
  }
  slot.reset();  // frees the SSL before the descriptor number can be reused
  close(fd);
}

}  // namespace sipsd::bench

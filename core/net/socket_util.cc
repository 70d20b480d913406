// Socket helpers (see socket_util.h).
#include "core/net/socket_util.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sipsd::sock {

std::string errnoText(int e) { return std::strerror(e); }

int openListener(Proto proto, const SockAddr& addr, std::string& err) {
  bool dgram = proto == Proto::UDP;
  int fd = ::socket(addr.family(), (dgram ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = "listen " + std::string(protoName(proto)) + ":" + addr.str() + ": socket: " + errnoText(errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      (addr.family() == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) ||
      ::bind(fd, addr.sa(), addr.len()) != 0 || (!dgram && ::listen(fd, 1024) != 0)) {
    err = "listen " + std::string(protoName(proto)) + ":" + addr.str() + ": " + errnoText(errno);
    ::close(fd);
    return -1;
  }
  if (dgram) {
    // Bursts of datagrams wait in the kernel, not in a full socket buffer.
    int sz = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  }
  return fd;
}

bool addressFree(Proto proto, const SockAddr& addr, std::string& err) {
  bool dgram = proto == Proto::UDP;
  int fd = ::socket(addr.family(), (dgram ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) return true;  // openListener reports the real problem
  int one = 1;
  // TIME_WAIT leftovers are fine for TCP. Not for UDP: there SO_REUSEADDR lets two live
  // sockets share the address, so a second sipsd would start and split the traffic.
  if (!dgram) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr.family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  bool ok = ::bind(fd, addr.sa(), addr.len()) == 0;
  if (!ok && errno == EADDRINUSE)
    err = "listen " + std::string(protoName(proto)) + ":" + addr.str() + ": address already in use";
  else
    ok = true;  // other errors (e.g. address not local) are reported by openListener
  ::close(fd);
  return ok;
}

int startConnect(const SockAddr& to, std::string& err) {
  int fd = ::socket(to.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = "connect to " + to.str() + ": socket: " + errnoText(errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, to.sa(), to.len()) != 0 && errno != EINPROGRESS) {
    err = "connect to " + to.str() + ": " + errnoText(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

SockAddr localAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return SockAddr(reinterpret_cast<sockaddr*>(&ss), len);
}

int pendingError(int fd) {
  int e = 0;
  socklen_t len = sizeof e;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0) return errno;
  return e;
}

}  // namespace sipsd::sock

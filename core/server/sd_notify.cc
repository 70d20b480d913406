#include "core/server/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace sipsd {

SdNotify::SdNotify() {
  const char* s = std::getenv("NOTIFY_SOCKET");
  if (s && (s[0] == '/' || s[0] == '@') && s[1] != '\0') socket_ = s;
}

std::string SdNotify::send(std::string_view state) const {
  if (socket_.empty()) return {};
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_.size() > sizeof(addr.sun_path) - (socket_[0] == '/' ? 1 : 0))
    return "NOTIFY_SOCKET " + socket_ + " is too long for a unix socket address";
  std::memcpy(addr.sun_path, socket_.data(), socket_.size());
  if (socket_[0] == '@') addr.sun_path[0] = '\0';  // abstract: the name's length is the address's
  socklen_t len = socklen_t(offsetof(sockaddr_un, sun_path) + socket_.size() + (socket_[0] == '/' ? 1 : 0));
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("NOTIFY_SOCKET: socket: ") + std::strerror(errno);
  ssize_t n = ::sendto(fd, state.data(), state.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                       reinterpret_cast<const sockaddr*>(&addr), len);
  int e = errno;
  ::close(fd);
  if (n < 0) return "NOTIFY_SOCKET " + socket_ + ": " + std::strerror(e);
  return {};
}

std::string SdNotify::reloadingState() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  unsigned long long usec = (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000ull;
  return "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec);
}

}  // namespace sipsd

// Connection: socket and event teardown (see connection.h).
#include "core/net/connection.h"

#include <unistd.h>

namespace sipsd {

Connection::~Connection() { closeSocket(); }

void Connection::closeSocket() {
  readEv_.reset();
  writeEv_.reset();
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  state_ = State::Closed;
}

}  // namespace sipsd

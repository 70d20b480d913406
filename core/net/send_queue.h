// A connection's outgoing bytes: whole buffers moved in (no copies), written with one sendmsg
// per readiness event (scatter/gather), MSG_NOSIGNAL so a dead peer never raises SIGPIPE.
#pragma once
#include <cstddef>
#include <deque>
#include <string>

namespace sipsd {

class SendQueue {
 public:
  // `offset` bytes of `data` were already written.
  void push(std::string&& data, size_t offset = 0);
  bool empty() const { return bytes_ == 0; }
  size_t bytes() const { return bytes_; }
  // Writes as much as the socket takes. Returns bytes written (>= 0), or -errno on a fatal
  // error; EAGAIN is not fatal (returns 0).
  long flush(int fd);
  void clear();

 private:
  std::deque<std::string> bufs_;
  size_t frontOffset_ = 0;
  size_t bytes_ = 0;
};

}  // namespace sipsd

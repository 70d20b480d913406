// SendQueue: bounded-by-caller byte queue flushed with sendmsg (see send_queue.h).
#include "core/net/send_queue.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>

namespace sipsd {

void SendQueue::push(std::string&& data, size_t offset) {
  if (offset >= data.size()) return;
  if (bufs_.empty()) {
    frontOffset_ = offset;
    bytes_ += data.size() - offset;
  } else {
    if (offset) data.erase(0, offset);
    bytes_ += data.size();
  }
  bufs_.push_back(std::move(data));
}

long SendQueue::flush(int fd) {
  long total = 0;
  while (!bufs_.empty()) {
    iovec iov[64];
    int n = 0;
    size_t want = 0;
    size_t off = frontOffset_;
    for (auto it = bufs_.begin(); it != bufs_.end() && n < 64; ++it, off = 0) {
      iov[n].iov_base = const_cast<char*>(it->data() + off);
      iov[n].iov_len = it->size() - off;
      want += iov[n].iov_len;
      ++n;
    }
    msghdr mh{};
    mh.msg_iov = iov;
    mh.msg_iovlen = size_t(n);
    ssize_t w = ::sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return total;
      return -long(errno);
    }
    total += w;
    bytes_ -= size_t(w);
    size_t left = size_t(w);
    while (left > 0) {
      size_t avail = bufs_.front().size() - frontOffset_;
      if (left >= avail) {
        left -= avail;
        bufs_.pop_front();
        frontOffset_ = 0;
      } else {
        frontOffset_ += left;
        left = 0;
      }
    }
    if (size_t(w) < want) return total;  // the socket is full for now
  }
  return total;
}

void SendQueue::clear() {
  bufs_.clear();
  frontOffset_ = 0;
  bytes_ = 0;
}

}  // namespace sipsd

// Reads up to kBatch datagrams from a UDP socket with one recvmmsg() call. The worker's UDP
// read callback used to call recvfrom() until EAGAIN: for a datagram that arrives alone (the
// usual case between two epoll wake-ups) that is two system calls, one of them failing. A batch
// that comes back short of kBatch means the queue was empty, so one call per wake-up suffices.
#pragma once
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <memory>
#include <string_view>

#include "core/net/sock_addr.h"

namespace sipsd {

class UdpBatchReader {
 public:
  static constexpr size_t kBatch = 8;

  // slotSize: the largest datagram kept whole (larger ones report their real size, see size()).
  explicit UdpBatchReader(size_t slotSize);

  // Receives what is queued on fd, without blocking: the number of datagrams (0 when none, -1
  // with errno set on error other than EAGAIN/EINTR).
  int read(int fd);
  // Datagram i of the last read(): its bytes (cut at the slot size), its real size (bigger
  // than the bytes when it was truncated) and its source.
  std::string_view bytes(size_t i) const;
  size_t size(size_t i) const { return msgs_[i].msg_len; }
  SockAddr source(size_t i) const;
  size_t slotSize() const { return slot_; }

 private:
  size_t slot_;
  // Uninitialised on purpose: only the pages datagrams are written to become resident.
  std::unique_ptr<char[]> buf_;
  std::array<mmsghdr, kBatch> msgs_{};
  std::array<iovec, kBatch> iov_{};
  std::array<sockaddr_storage, kBatch> from_{};
};

}  // namespace sipsd

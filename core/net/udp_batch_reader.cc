// UdpBatchReader: one recvmmsg() per wake-up (see udp_batch_reader.h).
#include "core/net/udp_batch_reader.h"

#include <cerrno>

namespace sipsd {

UdpBatchReader::UdpBatchReader(size_t slotSize) : slot_(slotSize), buf_(new char[slotSize * kBatch]) {
  for (size_t i = 0; i < kBatch; ++i) {
    iov_[i].iov_base = buf_.get() + i * slot_;
    iov_[i].iov_len = slot_;
  }
}

int UdpBatchReader::read(int fd) {
  for (size_t i = 0; i < kBatch; ++i) {
    msghdr& h = msgs_[i].msg_hdr;
    h = msghdr{};
    h.msg_name = &from_[i];
    h.msg_namelen = sizeof from_[i];
    h.msg_iov = &iov_[i];
    h.msg_iovlen = 1;
    msgs_[i].msg_len = 0;
  }
  for (;;) {
    // MSG_TRUNC: msg_len is the datagram's real size even when it did not fit the slot.
    int n = ::recvmmsg(fd, msgs_.data(), unsigned(kBatch), MSG_DONTWAIT | MSG_TRUNC, nullptr);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return -1;
  }
}

std::string_view UdpBatchReader::bytes(size_t i) const {
  size_t n = msgs_[i].msg_len < slot_ ? msgs_[i].msg_len : slot_;
  return std::string_view(static_cast<const char*>(iov_[i].iov_base), n);
}

SockAddr UdpBatchReader::source(size_t i) const {
  return SockAddr(reinterpret_cast<const sockaddr*>(&from_[i]), msgs_[i].msg_hdr.msg_namelen);
}

}  // namespace sipsd

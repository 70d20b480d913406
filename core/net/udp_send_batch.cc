// UdpSendBatch: datagrams of one loop round, one sendmmsg() per socket (see udp_send_batch.h).
#include "core/net/udp_send_batch.h"

#include <cerrno>
#include <utility>

namespace sipsd {

namespace {

int systemSendMmsg(int fd, mmsghdr* msgs, unsigned n) {
  return ::sendmmsg(fd, msgs, n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

}  // namespace

UdpSendBatch::UdpSendBatch(Hooks hooks, SendMmsg sys) : hooks_(std::move(hooks)), sys_(std::move(sys)) {
  if (!sys_) sys_ = systemSendMmsg;
  q_.reserve(kMaxDatagrams);
  inflight_.reserve(kMaxDatagrams);
  idx_.reserve(kMaxDatagrams);
  msgs_.reserve(kMaxDatagrams);
  iov_.reserve(kMaxDatagrams);
}

void UdpSendBatch::add(int fd, const SockAddr& to, std::string_view data, Done done) {
  size_t off = arena_.size();
  arena_.append(data);
  q_.push_back(Entry{fd, false, -1, off, data.size(), {}, to, std::move(done)});
  queued();
}

void UdpSendBatch::addOwned(int fd, const SockAddr& to, std::string&& data, Done done) {
  size_t len = data.size();
  q_.push_back(Entry{fd, true, -1, 0, len, std::move(data), to, std::move(done)});
  queued();
}

void UdpSendBatch::queued() {
  if (q_.size() == 1 && hooks_.armed) hooks_.armed();
  if (!flushing_ && (q_.size() >= kMaxDatagrams || arena_.size() >= kMaxBytes)) flush();
}

void UdpSendBatch::flush() {
  if (flushing_ || q_.empty()) return;
  flushing_ = true;
  q_.swap(inflight_);
  arena_.swap(inflightArena_);
  // One sendmmsg per socket, in the order each socket first appears; within a socket the
  // queue order is kept (a destination is only ever reached through one socket's sequence).
  for (size_t i = 0; i < inflight_.size(); ++i) {
    if (inflight_[i].err != -1) continue;
    int fd = inflight_[i].fd;
    idx_.clear();
    for (size_t j = i; j < inflight_.size(); ++j)
      if (inflight_[j].err == -1 && inflight_[j].fd == fd) idx_.push_back(j);
    sendGroup(fd, idx_.size());
  }
  size_t datagrams = 0, bytes = 0;
  for (const Entry& e : inflight_)
    if (e.err == 0) {
      ++datagrams;
      bytes += e.len;
    }
  // Reports run last: they may queue datagrams again (into q_, flushed next time; flushing_
  // stays set so that no nested flush swaps the set being reported).
  if (datagrams && hooks_.sent) hooks_.sent(datagrams, bytes);
  for (Entry& e : inflight_) {
    if (e.err != 0 && hooks_.failed) hooks_.failed(e.to, e.err);
    if (e.done) e.done(e.err);
  }
  inflight_.clear();
  inflightArena_.clear();
  flushing_ = false;
  if (q_.size() >= kMaxDatagrams || arena_.size() >= kMaxBytes) flush();
}

void UdpSendBatch::sendGroup(int fd, size_t count) {
  msgs_.resize(count);
  iov_.resize(count);
  for (size_t k = 0; k < count; ++k) {
    Entry& e = inflight_[idx_[k]];
    iov_[k].iov_base = e.owned ? e.own.data() : inflightArena_.data() + e.off;
    iov_[k].iov_len = e.len;
    msghdr& h = msgs_[k].msg_hdr;
    h = msghdr{};
    h.msg_name = e.to.sa();
    h.msg_namelen = e.to.len();
    h.msg_iov = &iov_[k];
    h.msg_iovlen = 1;
    msgs_[k].msg_len = 0;
  }
  size_t k = 0;
  while (k < count) {
    int n = sys_(fd, msgs_.data() + k, unsigned(count - k));
    if (n > 0) {
      for (size_t s = k; s < k + size_t(n); ++s) inflight_[idx_[s]].err = 0;
      k += size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // The kernel refused datagram k (sendmmsg reports an error only when it is the first of
    // the call); it is reported and the ones after it are tried again. 0 cannot happen for a
    // non-empty call; were it to, the datagram counts as refused so the loop always advances.
    int err = n < 0 ? errno : EAGAIN;
    inflight_[idx_[k]].err = err != 0 && err != -1 ? err : EIO;
    ++k;
  }
}

}  // namespace sipsd

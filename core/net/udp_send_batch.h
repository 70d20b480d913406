// Holds the UDP datagrams a worker sends during one round of its event loop and sends them
// with one sendmmsg() per socket when the round ends. A call through a proxy costs about seven
// datagrams out and the worker used one sendto() for each; a read batch of several datagrams
// (recvmmsg, UdpBatchReader) and the timers that fire with it now cost one system call per
// socket. Order is kept per socket (so per source port and destination), each datagram leaves
// from the socket it was queued for, and each one's outcome is reported on its own (a datagram
// the kernel refuses stops sendmmsg(); the rest are sent again after it).
//
// Payloads are copied into one reused buffer: the callers' buffers do not outlive their call
// (a relayed request is built on the stack, tm replaces its last reply and frees finished
// transactions within the same round), and a copy into warm memory costs a small fraction of
// the system call it saves. A payload handed over as a std::string is moved, not copied.
// Not thread-safe: one per worker, used on its thread only.
#pragma once
#include <sys/socket.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/net/sock_addr.h"

namespace sipsd {

class UdpSendBatch {
 public:
  // Bounds of what is held: reaching either sends at once (latency and memory stay bounded
  // when one round carries a burst).
  static constexpr size_t kMaxDatagrams = 32;
  static constexpr size_t kMaxBytes = 256 * 1024;
  // The largest UDP payload over IPv4 (65535 - IP and UDP headers): a bigger one is refused
  // (EMSGSIZE) whatever the moment, so callers can say so at once instead of at the flush.
  static constexpr size_t kMaxPayload = 65507;

  // A datagram's outcome: 0 when the kernel took it, else the errno.
  using Done = std::function<void(int err)>;
  // As sendmmsg(2) on a non-blocking socket; tests replace it to script partial results.
  using SendMmsg = std::function<int(int fd, mmsghdr* msgs, unsigned n)>;
  struct Hooks {
    std::function<void()> armed;                                // the first datagram was queued: schedule flush()
    std::function<void(size_t datagrams, size_t bytes)> sent;   // after each flush, what the kernel took
    std::function<void(const SockAddr& to, int err)> failed;    // each datagram the kernel refused
  };

  explicit UdpSendBatch(Hooks hooks, SendMmsg sys = {});
  UdpSendBatch(const UdpSendBatch&) = delete;
  UdpSendBatch& operator=(const UdpSendBatch&) = delete;

  // Queues a datagram out of socket fd to `to` (data copied); `done`, when set, gets its
  // outcome after the flush that sends it.
  void add(int fd, const SockAddr& to, std::string_view data, Done done = {});
  // The same with a payload the caller hands over (moved, not copied).
  void addOwned(int fd, const SockAddr& to, std::string&& data, Done done = {});
  // Sends everything queued, one sendmmsg() per socket (more when the kernel takes part of a
  // batch), then reports. Datagrams queued by the reports wait for the next flush (armed()
  // runs for them); a flush() called from a report does nothing.
  void flush();

  size_t size() const { return q_.size(); }
  bool empty() const { return q_.empty(); }

 private:
  struct Entry {
    int fd;
    bool owned;        // payload in `own`, else at `off` in the arena
    int err;           // outcome during a flush (-1: not yet sent)
    size_t off;
    size_t len;
    std::string own;
    SockAddr to;
    Done done;
  };
  void queued();
  // Sends the in-flight entries idx_[0..count) (all of socket fd, in queue order).
  void sendGroup(int fd, size_t count);

  Hooks hooks_;
  SendMmsg sys_;
  std::vector<Entry> q_, inflight_;  // swapped by flush(): reports may queue again
  std::string arena_, inflightArena_;
  std::vector<size_t> idx_;          // scratch: one socket's entries
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iov_;
  bool flushing_ = false;
};

}  // namespace sipsd

// Connection: reads, framing, writes, connect completion, deadlines and close of one stream
// connection, all non-blocking (see connection.h).
#include "core/net/connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/net/socket_util.h"

namespace sipsd {

using namespace netlog;

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

// ---- set-up ---------------------------------------------------------------------------------

void Connection::beginAccepted(SteadyClock::time_point now, bool countedPerIp) {
  lastActivity_ = acceptedAt_ = now;
  countedPerIp_ = countedPerIp;
  if (session_) {
    state_ = State::Handshaking;
    deadline_ = acceptedAt_ + handshakeTimeout_;
  }
}

void Connection::beginConnect(SteadyClock::time_point now, std::chrono::milliseconds timeout) {
  state_ = State::Connecting;
  lastActivity_ = now;
  deadline_ = now + timeout;
}

bool Connection::attach(event_base* base) {
  readEv_.reset(event_new(
      base, fd_, EV_READ | EV_PERSIST,
      [](evutil_socket_t, short, void* arg) { static_cast<Connection*>(arg)->onReadable(); }, this));
  writeEv_.reset(event_new(
      base, fd_, EV_WRITE | EV_PERSIST,
      [](evutil_socket_t, short, void* arg) { static_cast<Connection*>(arg)->onWritable(); }, this));
  return readEv_ && writeEv_;
}

void Connection::startReading() { event_add(readEv_.get(), nullptr); }

Result<void> Connection::startOutbound() {
  if (session_) {
    std::string wire;
    IoResult r = session_->start(wire);
    if (!r.ok) {
      std::string err = std::string(protoName(proto_)) + " to " + remote_.str() + ": " + r.error;
      close(err, kWarn);
      return fail(std::move(err));
    }
    queueWire(std::move(wire));  // held until the socket is connected
  }
  armWrite(true);  // writability reports the end of the connect
  return {};
}

// ---- reading --------------------------------------------------------------------------------

void Connection::onReadable() {
  corked_ = true;
  std::string& buf = host_.readBuf;
  for (int round = 0; round < 4; ++round) {  // bounded: other connections get their turn
    ssize_t r = ::recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
    if (r > 0) {
      host_.counters.bytesIn.fetch_add(size_t(r), std::memory_order_relaxed);
      // Bytes alone do not count as activity (a trickle must not keep a connection alive):
      // they start the message clock, which a complete message stops (feedFramer).
      host_.readTime = SteadyClock::now();
      if (msgStart_ == SteadyClock::time_point{}) msgStart_ = host_.readTime;
      if (!consume(std::string_view(buf.data(), size_t(r)))) return;  // closed
      if (size_t(r) < buf.size()) break;
      continue;
    }
    if (r == 0) {
      if (uncork()) close("closed by peer", kInfo);
      return;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      if (uncork()) close("read: " + sock::errnoText(errno), kInfo);
      return;
    }
    break;
  }
  uncork();
}

bool Connection::uncork() {
  corked_ = false;
  if (out_.empty() || state_ == State::Connecting) return !closed();
  return flush(SteadyClock::now());
}

bool Connection::consume(std::string_view data) {
  if (!session_) return feedFramer(data);
  std::string& plain = host_.plainBuf;
  plain.clear();
  std::string wire;
  IoResult r = session_->onReceive(data, plain, wire);
  if (!wire.empty() && !queueWire(std::move(wire))) return false;
  if (!r.ok) {
    // Messages decrypted just before the peer's close_notify are still delivered.
    if (!plain.empty() && r.peerClosed) feedFramer(plain);
    if (closed()) return false;
    if (!r.peerClosed) host_.counters.errors.fetch_add(1, std::memory_order_relaxed);
    // A failed handshake is the peer's doing: one line a second, not one per attacker.
    std::string what = std::string(protoName(proto_)) + ": " + r.error;
    if (!r.peerClosed && host_.inputLog.allow())
      netlog::write(kWarn, peer() + " (conn " + std::to_string(id_) + "): " + what + host_.inputLog.note());
    close(what, r.peerClosed ? kInfo : kDebug);
    return false;
  }
  if (r.justEstablished) {
    markEstablished();
    if (closed()) return false;
  } else if (verdictPending_) {
    // A record after our Finished that is not an alert: the peer accepted us.
    confirm();
  }
  if (plain.empty()) return true;
  // plain stays untouched while the handler runs: nothing re-enters consume() on this thread.
  return feedFramer(plain);
}

bool Connection::feedFramer(std::string_view plain) {
  uint64_t before = messages_;
  std::string err = framer_.feed(plain, *this);
  if (!err.empty()) {
    host_.counters.errors.fetch_add(1, std::memory_order_relaxed);
    if (host_.inputLog.allow())
      netlog::write(kWarn, peer() + " (conn " + std::to_string(id_) + "): framing error, closing: " + err +
                               host_.inputLog.note());
    close("framing error, closing: " + err, kDebug);
    return false;
  }
  if (closed()) return false;
  // Nothing held: no message pending. A tail held after a message completed in this read
  // began in this read.
  if (framer_.buffered() == 0) msgStart_ = {};
  else if (messages_ != before) msgStart_ = host_.readTime;
  return true;
}

bool Connection::onMessage(std::string_view msg) {
  if (closed() || closeAfterFlush_) return false;
  host_.counters.msgIn.fetch_add(1, std::memory_order_relaxed);
  if (messages_++ == 0 && fresh.linked) host_.firstMessage(*this);
  lastActivity_ = host_.readTime;
  host_.dispatch(*this, msg);
  return !closed() && !closeAfterFlush_;
}

void Connection::onPing() {
  if (closed()) return;
  if (messages_++ == 0 && fresh.linked) host_.firstMessage(*this);
  lastActivity_ = host_.readTime;
  send(std::string("\r\n"));
}

void Connection::awaitVerdict() {
  // The handshake's own time runs from the end of the connect, when onWritable set deadline_.
  auto connectedAt = deadline_ - handshakeTimeout_;
  auto took = lastActivity_ - connectedAt;
  verdictPending_ = true;
  verdictBy_ = lastActivity_ + std::max<SteadyClock::duration>(std::chrono::milliseconds(250), 2 * took);
}

void Connection::markEstablished() {
  state_ = State::Open;
  lastActivity_ = lastWriteProgress_ = SteadyClock::now();
  msgStart_ = {};  // handshake bytes are not a message; the message clock starts afresh
  host_.established(*this);
}

// ---- writing --------------------------------------------------------------------------------

bool Connection::send(std::string&& data) {
  if (closed() || closeAfterFlush_) return false;
  host_.counters.msgOut.fetch_add(1, std::memory_order_relaxed);
  if (!session_) return queueWire(std::move(data));
  std::string wire;
  IoResult r = session_->encrypt(data, wire);
  if (!r.ok) {
    host_.counters.errors.fetch_add(1, std::memory_order_relaxed);
    close(std::string(protoName(proto_)) + ": " + r.error, kWarn);
    return false;
  }
  return queueWire(std::move(wire));
}

bool Connection::queueWire(std::string&& wire) {
  if (wire.empty() || closed()) return !closed();
  auto now = SteadyClock::now();
  size_t off = 0;
  // Outside a read, the host may hold the round's writes to one write at its end.
  if (out_.empty() && state_ != State::Connecting && !corked_ && host_.corkUntilRoundEnd(*this)) corked_ = true;
  if (out_.empty() && state_ != State::Connecting && !corked_) {
    // Fast path: nothing queued, write straight away; only a remainder is queued.
    ssize_t w = ::send(fd_, wire.data(), wire.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        close("write: " + sock::errnoText(errno), kInfo);
        return false;
      }
      w = 0;
    }
    if (w > 0) {
      host_.counters.bytesOut.fetch_add(size_t(w), std::memory_order_relaxed);
      lastActivity_ = now;
    }
    if (size_t(w) == wire.size()) return true;
    off = size_t(w);
  }
  if (out_.empty()) lastWriteProgress_ = now;  // the send timeout counts from here
  out_.push(std::move(wire), off);
  size_t limit = host_.maxSendQueue;
  if (out_.bytes() > limit) {
    host_.counters.stalled.fetch_add(1, std::memory_order_relaxed);
    close("send queue over " + std::to_string(limit) + " bytes (peer not reading), closing", kWarn);
    return false;
  }
  if (!corked_) armWrite(true);  // a corked read writes (and arms) when it is done
  return true;
}

bool Connection::flush(SteadyClock::time_point now) {
  long w = out_.flush(fd_);
  if (w < 0) {
    close("write: " + sock::errnoText(int(-w)), kInfo);
    return false;
  }
  if (w > 0) {
    host_.counters.bytesOut.fetch_add(size_t(w), std::memory_order_relaxed);
    lastActivity_ = lastWriteProgress_ = now;
  }
  if (out_.empty()) {
    armWrite(false);
    if (closeAfterFlush_) {
      finishFlush();
      return false;
    }
  } else {
    armWrite(true);
  }
  if (drainFn_ && out_.bytes() <= drainLow_) {
    std::function<void()> fn = std::move(drainFn_);
    drainFn_ = nullptr;
    fn();
  }
  return true;
}

void Connection::armWrite(bool on) {
  if (on == writeArmed_ || !writeEv_) return;
  writeArmed_ = on;
  if (on) event_add(writeEv_.get(), nullptr);
  else event_del(writeEv_.get());
}

void Connection::onWritable() {
  auto now = SteadyClock::now();
  if (state_ == State::Connecting) {
    if (int e = sock::pendingError(fd_)) {
      host_.counters.errors.fetch_add(1, std::memory_order_relaxed);
      close("connect failed: " + sock::errnoText(e), kWarn);
      return;
    }
    local_ = sock::localAddress(fd_);
    lastActivity_ = now;
    event_add(readEv_.get(), nullptr);
    if (session_) {
      state_ = State::Handshaking;
      deadline_ = now + handshakeTimeout_;
    } else {
      markEstablished();
    }
  }
  flush(now);
}

// ---- closing and deadlines --------------------------------------------------------------------

void Connection::closeGracefully() {
  if (closeAfterFlush_ || closed()) return;
  if (session_ && state_ == State::Open) {
    std::string wire;
    session_->shutdown(wire);
    if (!queueWire(std::move(wire))) return;
  }
  closeAfterFlush_ = true;
  if (out_.empty()) finishFlush();
}

void Connection::finishFlush() {
  ::shutdown(fd_, SHUT_WR);
  close("closed after flushing", kDebug);
}

void Connection::close(const std::string& reason, int level) {
  if (closed()) return;
  // What a corked read queued (replies, a TLS alert) gets the one non-blocking write it
  // would have had without the cork.
  if (corked_) {
    corked_ = false;
    if (!out_.empty() && state_ != State::Connecting) (void)out_.flush(fd_);
  }
  netlog::write(level, peer() + " (conn " + std::to_string(id_) + "): " + reason);
  if (session_) session_->onClosed(reason);
  ClosedAs as;
  as.unusedOutbound = outbound_ && (state_ != State::Open || verdictPending_);
  as.pastConnect = state_ != State::Connecting;
  closeSocket();
  out_.clear();
  host_.closed(*this, reason, as);
}

Connection::Expiry Connection::expiry(SteadyClock::time_point now, std::chrono::milliseconds msgReadTimeout,
                                      std::chrono::milliseconds lifetime) const {
  switch (state_) {
    case State::Connecting:
      return now >= deadline_ ? Expiry::ConnectTimeout : Expiry::None;
    case State::Handshaking:
      return now >= deadline_ ? Expiry::HandshakeTimeout : Expiry::None;
    case State::Open:
      if (msgStart_ != SteadyClock::time_point{} && now - msgStart_ > msgReadTimeout) return Expiry::MessageTimeout;
      if (!out_.empty() && now - lastWriteProgress_ > sendTimeout_) return Expiry::SendTimeout;
      if (out_.empty() && now - lastActivity_ > lifetime) return Expiry::Idle;
      return Expiry::None;
    case State::Closed:
      break;
  }
  return Expiry::None;
}

}  // namespace sipsd

// Worker: accept, read, frame, dispatch, write, connect, time out and stop — all on one
// event loop thread, all non-blocking (see worker.h).
#include "core/net/worker.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>

#include "core/log.h"
#include "core/net/conn_index.h"
#include "core/net/ip_limiter.h"
#include "core/net/socket_util.h"

namespace sipsd {
namespace {

thread_local Worker* tCurrent = nullptr;

// Log levels as in debug= (core/module_api.h LogLevel).
constexpr int kErr = 0, kWarn = 1, kNotice = 2, kInfo = 3, kDebug = 4;

void logNet(int level, const std::string& text) {
  if (logging::enabled(level)) logging::write(level, "net", text);
}

timeval toTimeval(std::chrono::milliseconds ms) {
  long v = long(std::max<int64_t>(ms.count(), 0));
  return timeval{v / 1000, (v % 1000) * 1000};
}

// Reuse key of inbound TLS connections: never equal to a client domain key, so a request is
// never sent over a connection whose certificates were negotiated for someone else.
const std::string kInboundTlsKey("\x01inbound", 8);

}  // namespace

Worker* Worker::current() { return tCurrent; }

Worker::Worker(Server& server, int index)
    : server_(server),
      index_(index),
      backoff_(server.options().connectBackoff, server.options().connectBackoffMax) {}

Worker::~Worker() {
  // The loop thread has ended (or never ran): tear down in an order libevent accepts.
  conns_.clear();
  graveyard_.clear();
  for (auto* v : {&listeners_, &udp_})
    for (auto& l : *v) {
      l->ev.reset();
      if (l->fd >= 0) ::close(l->fd);
    }
  reapEv_.reset();
  sweepEv_.reset();
  stopEv_.reset();
  if (spareFd_ >= 0) ::close(spareFd_);
}

std::string Worker::init() {
  std::string err = loop_.init();
  if (!err.empty()) return err;
  spareFd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const ServerOptions& o = server_.options();
  scratch_.resize(std::max<size_t>(65536, o.maxMessageSize + 1));
  reapEv_.reset(event_new(loop_.base(), -1, 0,
                          [](evutil_socket_t, short, void* arg) { static_cast<Worker*>(arg)->graveyard_.clear(); },
                          this));
  // Timeouts are checked by one sweep per worker instead of a timer per connection; its period
  // is a fraction of the shortest timeout so each is honoured within ~25%.
  std::chrono::milliseconds shortest = std::min({o.connectTimeout, o.sendTimeout, o.msgReadTimeout,
                                                 std::chrono::milliseconds(o.connectionLifetime)});
  for (auto& [p, t] : o.transports)
    if (t) shortest = std::min({shortest, t->handshakeTimeout(), t->sendTimeout()});
  auto period = std::clamp(shortest / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
  sweepEv_.reset(event_new(loop_.base(), -1, EV_PERSIST,
                           [](evutil_socket_t, short, void* arg) { static_cast<Worker*>(arg)->onSweep(); }, this));
  timeval tv = toTimeval(period);
  if (!reapEv_ || !sweepEv_ || event_add(sweepEv_.get(), &tv) != 0) return "cannot create worker timers";
  return "";
}

std::string Worker::bindListen(const ListenSpec& spec, SockAddr& bound) {
  std::string err;
  int fd = sock::openListener(spec.proto, spec.addr, err);
  if (fd < 0) return err;
  auto l = std::make_unique<Listener>();
  l->proto = spec.proto;
  l->fd = fd;
  l->addr = sock::localAddress(fd);
  bound = l->addr;
  bool dgram = spec.proto == Proto::UDP;
  auto cb = dgram ? +[](evutil_socket_t, short, void* arg) {
    auto* lp = static_cast<Listener*>(arg);
    tCurrent->onUdp(*lp);
  }
                  : +[](evutil_socket_t, short, void* arg) {
                      auto* lp = static_cast<Listener*>(arg);
                      tCurrent->onAccept(*lp);
                    };
  l->ev.reset(event_new(loop_.base(), fd, EV_READ | EV_PERSIST, cb, l.get()));
  if (!l->ev || event_add(l->ev.get(), nullptr) != 0) {
    ::close(fd);
    return "listen " + spec.addr.str() + ": cannot add event";
  }
  (dgram ? udp_ : listeners_).push_back(std::move(l));
  return "";
}

void Worker::start() {
  loop_.startThread([this] { tCurrent = this; });
}

int Worker::udpSocketFor(const SockAddr& from, int family) const {
  if (from.valid()) {
    for (auto& u : udp_)
      if (u->addr == from) return u->fd;
    family = from.family();
  }
  for (auto& u : udp_)
    if (family == 0 || u->addr.family() == family) return u->fd;
  return -1;
}

WorkerStats Worker::stats() const {
  WorkerStats s;
  s.worker = index_;
  s.connectionsOpen = n_.open.load(std::memory_order_relaxed);
  s.accepted = n_.accepted.load(std::memory_order_relaxed);
  s.connected = n_.connected.load(std::memory_order_relaxed);
  s.messagesIn = n_.msgIn.load(std::memory_order_relaxed);
  s.messagesOut = n_.msgOut.load(std::memory_order_relaxed);
  s.bytesIn = n_.bytesIn.load(std::memory_order_relaxed);
  s.bytesOut = n_.bytesOut.load(std::memory_order_relaxed);
  s.errors = n_.errors.load(std::memory_order_relaxed);
  s.closedStalled = n_.stalled.load(std::memory_order_relaxed);
  s.closedIdle = n_.idle.load(std::memory_order_relaxed);
  s.rejected = n_.rejected.load(std::memory_order_relaxed);
  s.httpOverUdp = n_.httpOverUdp.load(std::memory_order_relaxed);
  s.refusedPerIp = n_.refusedPerIp.load(std::memory_order_relaxed);
  s.refusedNoFd = n_.refusedNoFd.load(std::memory_order_relaxed);
  s.evicted = n_.evicted.load(std::memory_order_relaxed);
  s.timedOut = n_.timedOut.load(std::memory_order_relaxed);
  s.connectionsTls = n_.openTls.load(std::memory_order_relaxed);
  return s;
}

void Worker::countUdpOut(size_t bytes) {
  n_.msgOut.fetch_add(1, std::memory_order_relaxed);
  n_.bytesOut.fetch_add(bytes, std::memory_order_relaxed);
}

bool Worker::logAllowed(SteadyClock::time_point& last) {
  auto now = SteadyClock::now();
  if (now - last < std::chrono::seconds(1)) return false;
  last = now;
  return true;
}

// ---- inbound ---------------------------------------------------------------------------

void Worker::onAccept(Listener& l) {
  const ServerOptions& o = server_.options();
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int fd = ::accept4(l.fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {
        onAcceptNoFd(l, errno);
        return;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        n_.errors.fetch_add(1, std::memory_order_relaxed);
        if (logAllowed(lastAcceptErrLog_)) logNet(kErr, "accept on " + l.addr.str() + ": " + sock::errnoText(errno));
      }
      return;
    }
    SockAddr remote(reinterpret_cast<sockaddr*>(&ss), len);
    if (!server_.ipLimiter().acquire(remote, o.maxConnectionsPerIp)) {
      n_.refusedPerIp.fetch_add(1, std::memory_order_relaxed);
      ::close(fd);
      if (perIpLog_.allow())
        logNet(kWarn, "tcp_max_connections_per_ip (" + std::to_string(o.maxConnectionsPerIp) + ") reached: refused " +
                          std::string(protoName(l.proto)) + " " + remote.str() + perIpLog_.note());
      continue;
    }
    // Table full: make room by evicting the oldest connection that has not completed a
    // message (a slow or stalled peer) rather than refusing a client that may be legitimate.
    if (server_.openConnections().load() >= o.maxConnections && !evictOne(remote)) {
      n_.rejected.fetch_add(1, std::memory_order_relaxed);
      if (o.maxConnectionsPerIp) server_.ipLimiter().release(remote);
      ::close(fd);
      if (refuseLog_.allow())
        logNet(kWarn, "tcp_max_connections (" + std::to_string(o.maxConnections) +
                          ") reached and no connection without a complete message to evict: refused " +
                          std::string(protoName(l.proto)) + " " + remote.str() + refuseLog_.note());
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_unique<Connection>(ConnIndex::makeId(index_, nextSeq_++), fd, l.proto, false, o.maxMessageSize);
    c->remote_ = remote;
    c->local_ = sock::localAddress(fd);
    c->lastActivity_ = c->acceptedAt_ = SteadyClock::now();
    c->sendTimeout_ = o.sendTimeout;
    c->countedPerIp_ = o.maxConnectionsPerIp != 0;
    if (l.proto == Proto::TLS) {
      c->reuseKey_ = kInboundTlsKey;
      auto t = server_.transportFor(Proto::TLS);
      std::string err = "no TLS transport loaded";
      if (t) c->session_ = t->accept(ConnEndpoints{c->id_, index_, c->local_, c->remote_}, err);
      if (!c->session_) {
        n_.errors.fetch_add(1, std::memory_order_relaxed);
        if (c->countedPerIp_) server_.ipLimiter().release(remote);
        logNet(kWarn, "TLS " + remote.str() + ": cannot start a session: " + err);
        continue;  // c's destructor closes the socket
      }
      c->state_ = Connection::State::Handshaking;
      // Counted from accept: bytes trickled during the handshake do not extend it.
      c->deadline_ = c->acceptedAt_ + t->handshakeTimeout();
      c->sendTimeout_ = t->sendTimeout();
    }
    n_.accepted.fetch_add(1, std::memory_order_relaxed);
    Connection* p = registerConn(std::move(c));
    freshLink(*p);
    event_add(p->readEv_.get(), nullptr);
    logNet(kDebug, "accepted " + p->peer() + " on " + l.addr.str() + " (conn " + std::to_string(p->id_) + ")");
  }
}

void Worker::onAcceptNoFd(Listener& l, int err) {
  // Level-triggered: a client left in the backlog would wake us again at once, for ever. Give
  // the spare descriptor up to take it and close it (the client learns at once instead of
  // hanging), as many times as there are waiting clients and the spare can be taken back.
  int refused = 0;
  bool drained = false;
  while (spareFd_ >= 0 && refused < 64) {
    ::close(spareFd_);
    int fd = ::accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      ::close(fd);
      ++refused;
    }
    int e = errno;
    spareFd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      drained = e == EAGAIN || e == EWOULDBLOCK;
      break;
    }
  }
  n_.refusedNoFd.fetch_add(uint64_t(std::max(refused, 1)), std::memory_order_relaxed);
  if (noFdLog_.allow())
    logNet(kWarn, "accept on " + l.addr.str() + ": " + sock::errnoText(err) + " (file descriptor limit reached, see " +
                      "ulimit -n and tcp_max_connections): refusing new connections" + noFdLog_.note());
  if (drained) return;
  // No spare (another thread holds the last descriptor) or still clients waiting: stop
  // watching this listener for a moment rather than spinning on it.
  if (!l.resumeEv)
    l.resumeEv.reset(event_new(
        loop_.base(), -1, 0,
        [](evutil_socket_t, short, void* arg) {
          auto* lp = static_cast<Listener*>(arg);
          if (lp->ev && lp->fd >= 0) event_add(lp->ev.get(), nullptr);
        },
        &l));
  if (!l.resumeEv) return;
  event_del(l.ev.get());
  timeval tv{0, 100 * 1000};
  event_add(l.resumeEv.get(), &tv);
}

void Worker::onUdp(Listener& l) {
  const ServerOptions& o = server_.options();
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ssize_t r = ::recvfrom(l.fd, scratch_.data(), scratch_.size(), MSG_TRUNC | MSG_DONTWAIT,
                           reinterpret_cast<sockaddr*>(&ss), &len);
    if (r < 0) {
      if (errno == EINTR) continue;
      return;
    }
    n_.bytesIn.fetch_add(size_t(r), std::memory_order_relaxed);
    SockAddr src(reinterpret_cast<sockaddr*>(&ss), len);
    // MSG_TRUNC reports the real size of a datagram larger than the buffer.
    auto d = StreamFramer::checkDatagram(std::string_view(scratch_.data(), size_t(r)).substr(0, scratch_.size()),
                                         o.maxMessageSize);
    if (size_t(r) > scratch_.size() && d.error.empty()) d.error = "datagram of " + std::to_string(r) + " bytes";
    if (!d.error.empty()) {
      LogThrottle& t = d.http ? httpDgramLog_ : dgramLog_;
      (d.http ? n_.httpOverUdp : n_.errors).fetch_add(1, std::memory_order_relaxed);
      if (t.allow()) logNet(d.http ? kNotice : kWarn, "UDP " + src.str() + ": dropped: " + d.error + t.note());
      continue;
    }
    if (d.msg.empty()) continue;  // CRLF keep-alive
    n_.msgIn.fetch_add(1, std::memory_order_relaxed);
    ReceiveInfo rcv;
    rcv.proto = Proto::UDP;
    rcv.src = src;
    rcv.dst = l.addr;
    rcv.worker = index_;
    try {
      server_.handler()(d.msg, rcv);
    } catch (const std::exception& e) {
      logNet(kErr, "handler failed on a datagram from " + src.str() + ": " + e.what());
    }
  }
}

void Worker::onReadable(Connection& c) {
  c.corked_ = true;
  for (int round = 0; round < 4; ++round) {  // bounded: other connections get their turn
    ssize_t r = ::recv(c.fd_, scratch_.data(), scratch_.size(), MSG_DONTWAIT);
    if (r > 0) {
      n_.bytesIn.fetch_add(size_t(r), std::memory_order_relaxed);
      // Bytes alone do not count as activity (a trickle must not keep a connection alive):
      // they start the message clock, which a complete message stops (feedFramer).
      readTime_ = SteadyClock::now();
      if (c.msgStart_ == SteadyClock::time_point{}) c.msgStart_ = readTime_;
      if (!consume(c, std::string_view(scratch_.data(), size_t(r)))) return;  // closed
      if (size_t(r) < scratch_.size()) break;
      continue;
    }
    if (r == 0) {
      if (uncork(c)) closeConn(c, "closed by peer", kInfo);
      return;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      if (uncork(c)) closeConn(c, "read: " + sock::errnoText(errno), kInfo);
      return;
    }
    break;
  }
  uncork(c);
}

bool Worker::uncork(Connection& c) {
  c.corked_ = false;
  if (c.out_.empty() || c.state_ == Connection::State::Connecting) return !c.closed();
  return flushQueue(c, SteadyClock::now());
}

bool Worker::flushQueue(Connection& c, SteadyClock::time_point now) {
  long w = c.out_.flush(c.fd_);
  if (w < 0) {
    closeConn(c, "write: " + sock::errnoText(int(-w)), kInfo);
    return false;
  }
  if (w > 0) {
    n_.bytesOut.fetch_add(size_t(w), std::memory_order_relaxed);
    c.lastActivity_ = c.lastWriteProgress_ = now;
  }
  if (c.out_.empty()) {
    armWrite(c, false);
    if (c.closeAfterFlush_) {
      finishFlush(c);
      return false;
    }
  } else {
    armWrite(c, true);
  }
  return true;
}

bool Worker::consume(Connection& c, std::string_view data) {
  if (!c.session_) return feedFramer(c, data);
  plain_.clear();
  std::string wire;
  IoResult r = c.session_->onReceive(data, plain_, wire);
  if (!wire.empty() && !queueWire(c, std::move(wire))) return false;
  if (!r.ok) {
    // Messages decrypted just before the peer's close_notify are still delivered.
    if (!plain_.empty() && r.peerClosed) feedFramer(c, plain_);
    if (c.closed()) return false;
    if (!r.peerClosed) n_.errors.fetch_add(1, std::memory_order_relaxed);
    // A failed handshake is the peer's doing: one line a second, not one per attacker.
    if (!r.peerClosed && inputLog_.allow())
      logNet(kWarn, c.peer() + " (conn " + std::to_string(c.id_) + "): TLS: " + r.error + inputLog_.note());
    closeConn(c, "TLS: " + r.error, r.peerClosed ? kInfo : kDebug);
    return false;
  }
  if (r.justEstablished) {
    established(c);
    if (c.closed()) return false;
  } else if (c.verdictPending_) {
    // A record after our Finished that is not an alert: the peer accepted us.
    confirmOutbound(c);
  }
  if (plain_.empty()) return true;
  // plain_ stays untouched while the handler runs: nothing re-enters consume() on this thread.
  return feedFramer(c, plain_);
}

bool Worker::feedFramer(Connection& c, std::string_view plain) {
  Connection* prev = feeding_;
  feeding_ = &c;
  uint64_t before = c.messages_;
  std::string err = c.framer_.feed(plain, *this);
  feeding_ = prev;
  if (!err.empty()) {
    n_.errors.fetch_add(1, std::memory_order_relaxed);
    if (inputLog_.allow())
      logNet(kWarn, c.peer() + " (conn " + std::to_string(c.id_) + "): framing error, closing: " + err + inputLog_.note());
    closeConn(c, "framing error, closing: " + err, kDebug);
    return false;
  }
  if (c.closed()) return false;
  // Nothing held: no message pending. A tail held after a message completed in this read
  // began in this read.
  if (c.framer_.buffered() == 0) c.msgStart_ = {};
  else if (c.messages_ != before) c.msgStart_ = readTime_;
  return true;
}

bool Worker::onMessage(std::string_view msg) {
  Connection& c = *feeding_;
  if (c.closed() || c.closeAfterFlush_) return false;
  n_.msgIn.fetch_add(1, std::memory_order_relaxed);
  if (c.messages_++ == 0 && c.inFreshList_) freshUnlink(c);
  c.lastActivity_ = readTime_;
  ReceiveInfo rcv;
  rcv.proto = c.proto_;
  rcv.src = c.remote_;
  rcv.dst = c.local_;
  rcv.connId = c.id_;
  rcv.worker = index_;
  rcv.session = c.session_.get();
  try {
    server_.handler()(msg, rcv);
  } catch (const std::exception& e) {
    logNet(kErr, "handler failed on a message from " + c.peer() + ": " + e.what());
  }
  return !c.closed() && !c.closeAfterFlush_;
}

void Worker::onPing() {
  Connection& c = *feeding_;
  if (c.closed()) return;
  if (c.messages_++ == 0 && c.inFreshList_) freshUnlink(c);
  c.lastActivity_ = readTime_;
  sendData(c, std::string("\r\n"));
}

void Worker::established(Connection& c) {
  c.state_ = Connection::State::Open;
  c.lastActivity_ = c.lastWriteProgress_ = SteadyClock::now();
  c.msgStart_ = {};  // handshake bytes are not a message; the message clock starts afresh
  if (!c.outbound_) return;
  n_.connected.fetch_add(1, std::memory_order_relaxed);
  if (c.session_) {
    // Wait for the peer's verdict on our certificate: twice the handshake's own time (from the
    // end of the connect, when onWritable set the handshake deadline), at least 250 ms; the
    // sweep looks at it within its period.
    auto t = server_.transportFor(c.proto_);
    auto connectedAt = c.deadline_ - (t ? t->handshakeTimeout() : std::chrono::milliseconds(30000));
    auto took = c.lastActivity_ - connectedAt;
    c.verdictPending_ = true;
    c.verdictBy_ = c.lastActivity_ + std::max<SteadyClock::duration>(std::chrono::milliseconds(250), 2 * took);
    return;
  }
  confirmOutbound(c);
}

void Worker::confirmOutbound(Connection& c) {
  c.verdictPending_ = false;
  backoff_.succeeded(c.proto_, c.remote_, c.reuseKey_);
  auto waiters = std::move(c.waiters_);
  c.waiters_.clear();
  for (auto& w : waiters) reply(w.worker, w.done, true, "");
}

// ---- outbound ---------------------------------------------------------------------------

bool Worker::sendData(Connection& c, std::string&& data) {
  if (c.closed() || c.closeAfterFlush_) return false;
  n_.msgOut.fetch_add(1, std::memory_order_relaxed);
  if (!c.session_) return queueWire(c, std::move(data));
  std::string wire;
  IoResult r = c.session_->encrypt(data, wire);
  if (!r.ok) {
    n_.errors.fetch_add(1, std::memory_order_relaxed);
    closeConn(c, "TLS: " + r.error, kWarn);
    return false;
  }
  return queueWire(c, std::move(wire));
}

bool Worker::queueWire(Connection& c, std::string&& wire) {
  if (wire.empty() || c.closed()) return !c.closed();
  auto now = SteadyClock::now();
  size_t off = 0;
  if (c.out_.empty() && c.state_ != Connection::State::Connecting && !c.corked_) {
    // Fast path: nothing queued, write straight away; only a remainder is queued.
    ssize_t w = ::send(c.fd_, wire.data(), wire.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        closeConn(c, "write: " + sock::errnoText(errno), kInfo);
        return false;
      }
      w = 0;
    }
    if (w > 0) {
      n_.bytesOut.fetch_add(size_t(w), std::memory_order_relaxed);
      c.lastActivity_ = now;
    }
    if (size_t(w) == wire.size()) return true;
    off = size_t(w);
  }
  if (c.out_.empty()) c.lastWriteProgress_ = now;  // the send timeout counts from here
  c.out_.push(std::move(wire), off);
  size_t limit = server_.options().maxSendQueue;
  if (c.out_.bytes() > limit) {
    n_.stalled.fetch_add(1, std::memory_order_relaxed);
    closeConn(c, "send queue over " + std::to_string(limit) + " bytes (peer not reading), closing", kWarn);
    return false;
  }
  if (!c.corked_) armWrite(c, true);  // a corked read writes (and arms) when it is done
  return true;
}

void Worker::armWrite(Connection& c, bool on) {
  if (on == c.writeArmed_ || !c.writeEv_) return;
  c.writeArmed_ = on;
  if (on) event_add(c.writeEv_.get(), nullptr);
  else event_del(c.writeEv_.get());
}

void Worker::onWritable(Connection& c) {
  auto now = SteadyClock::now();
  if (c.state_ == Connection::State::Connecting) {
    if (int e = sock::pendingError(c.fd_)) {
      n_.errors.fetch_add(1, std::memory_order_relaxed);
      closeConn(c, "connect failed: " + sock::errnoText(e), kWarn);
      return;
    }
    c.local_ = sock::localAddress(c.fd_);
    c.lastActivity_ = now;
    event_add(c.readEv_.get(), nullptr);
    if (c.session_) {
      c.state_ = Connection::State::Handshaking;
      auto t = server_.transportFor(c.proto_);
      c.deadline_ = now + (t ? t->handshakeTimeout() : std::chrono::milliseconds(30000));
    } else {
      established(c);
    }
  }
  flushQueue(c, now);
}

Connection* Worker::registerConn(std::unique_ptr<Connection> conn) {
  Connection* c = conn.get();
  c->readEv_.reset(event_new(
      loop_.base(), c->fd_, EV_READ | EV_PERSIST,
      [](evutil_socket_t, short, void* arg) { tCurrent->onReadable(*static_cast<Connection*>(arg)); }, c));
  c->writeEv_.reset(event_new(
      loop_.base(), c->fd_, EV_WRITE | EV_PERSIST,
      [](evutil_socket_t, short, void* arg) { tCurrent->onWritable(*static_cast<Connection*>(arg)); }, c));
  conns_.emplace(c->id_, std::move(conn));
  byRemote_.emplace(RemoteKey{c->proto_, c->remote_, c->reuseKey_}, c->id_);
  server_.index().add(c->id_, c->proto_, c->remote_, c->reuseKey_);
  server_.openConnections().fetch_add(1);
  n_.open.fetch_add(1, std::memory_order_relaxed);
  if (c->proto_ == Proto::TLS) n_.openTls.fetch_add(1, std::memory_order_relaxed);
  return c;
}

Connection* Worker::openOutbound(Proto proto, const SockAddr& to, const std::string& key, const ConnectOptions& opt,
                                 std::string& err) {
  const ServerOptions& o = server_.options();
  if (server_.openConnections().load() >= o.maxConnections) {
    err = "tcp_max_connections (" + std::to_string(o.maxConnections) + ") reached";
    return nullptr;
  }
  int fd = sock::startConnect(to, err);
  if (fd < 0) return nullptr;
  auto c = std::make_unique<Connection>(ConnIndex::makeId(index_, nextSeq_++), fd, proto, true, o.maxMessageSize);
  c->remote_ = to;
  c->local_ = sock::localAddress(fd);
  c->reuseKey_ = key;
  c->state_ = Connection::State::Connecting;
  c->lastActivity_ = SteadyClock::now();
  c->deadline_ = c->lastActivity_ + o.connectTimeout;
  c->sendTimeout_ = o.sendTimeout;
  if (proto == Proto::TLS) {
    auto t = server_.transportFor(proto);
    err = "no TLS transport loaded";
    if (t) c->session_ = t->connect(ConnEndpoints{c->id_, index_, c->local_, c->remote_}, opt, err);
    if (!c->session_) {
      err = "TLS to " + to.str() + ": " + err;
      return nullptr;
    }
    c->sendTimeout_ = t->sendTimeout();
  }
  Connection* p = registerConn(std::move(c));
  if (p->session_) {
    std::string wire;
    IoResult r = p->session_->start(wire);
    if (!r.ok) {
      err = "TLS to " + to.str() + ": " + r.error;
      closeConn(*p, err, kWarn);
      return nullptr;
    }
    queueWire(*p, std::move(wire));  // held until the socket is connected
  }
  armWrite(*p, true);  // writability reports the end of the connect
  logNet(kDebug, "connecting " + p->peer() + " (conn " + std::to_string(p->id_) + ")");
  return p;
}

void Worker::sendTo(Proto proto, const SockAddr& to, std::string data, const ConnectOptions& opt, SendDone done,
                    int replyWorker, bool mayForward) {
  if (stopping_) {
    reply(replyWorker, done, false, "shutting down");
    return;
  }
  if (proto == Proto::UDP) {
    bool ok = server_.sendUdp(SockAddr(), to, data);
    reply(replyWorker, done, ok, ok ? "" : "UDP to " + to.str() + ": cannot send");
    return;
  }
  auto t = server_.transportFor(proto);
  if (proto != Proto::TCP && !t) {
    reply(replyWorker, done, false, std::string("no ") + std::string(protoName(proto)) + " transport loaded");
    return;
  }
  std::string key = t ? t->clientDomainKey(to, opt) : std::string();
  Connection* c = nullptr;
  // An outgoing connection opened with this client domain, else the peer's own inbound TLS
  // connection from `to` (SPEC §8: a phone behind NAT is reachable only on the connection it
  // opened; inbound TCP connections already share the empty key).
  const std::string* keys[2] = {&key, proto == Proto::TLS ? &kInboundTlsKey : nullptr};
  for (const std::string* k : keys) {
    if (!k || c) continue;
    auto it = byRemote_.find(RemoteKey{proto, to, *k});
    if (it != byRemote_.end()) {
      auto ci = conns_.find(it->second);
      if (ci != conns_.end() && !ci->second->closed() && !ci->second->closeAfterFlush_) c = ci->second.get();
    }
    if (!c && mayForward) {
      uint64_t id = server_.index().find(proto, to, *k);
      int owner = id ? ConnIndex::ownerOf(id) : -1;
      if (owner >= 0 && owner != index_ && owner < server_.workerCount()) {
        Worker* w = server_.worker(owner);
        w->loop().post([w, proto, to, data = std::move(data), opt, done = std::move(done), replyWorker]() mutable {
          w->sendTo(proto, to, std::move(data), opt, std::move(done), replyWorker, false);
        });
        return;
      }
    }
  }
  if (!c) {
    // This destination failed lately: the same answer now, without another connect.
    if (const std::string* why = backoff_.blocked(proto, to, key, SteadyClock::now())) {
      reply(replyWorker, done, false, *why);
      return;
    }
    std::string err;
    c = openOutbound(proto, to, key, opt, err);
    if (!c) {
      n_.errors.fetch_add(1, std::memory_order_relaxed);
      logNet(kWarn, err);
      reply(replyWorker, done, false, err);
      return;
    }
  }
  if (c->state_ == Connection::State::Open && !c->verdictPending_) {
    bool ok = sendData(*c, std::move(data));
    reply(replyWorker, done, ok, ok ? "" : "connection to " + to.str() + " closed");
    return;
  }
  // Not yet established (or its peer has not accepted us yet): report when it is (or when it
  // fails; closeConn fails the waiters).
  if (done) c->waiters_.push_back(Connection::Waiter{replyWorker, std::move(done)});
  sendData(*c, std::move(data));
}

bool Worker::send(uint64_t id, std::string data) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return false;
  return sendData(*it->second, std::move(data));
}

bool Worker::close(uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return false;
  Connection& c = *it->second;
  if (c.closeAfterFlush_ || c.closed()) return true;
  if (c.session_ && c.state_ == Connection::State::Open) {
    std::string wire;
    c.session_->shutdown(wire);
    if (!queueWire(c, std::move(wire))) return true;
  }
  c.closeAfterFlush_ = true;
  if (c.out_.empty()) finishFlush(c);
  return true;
}

void Worker::reply(int worker, const SendDone& done, bool ok, const std::string& err) {
  if (!done) return;
  Worker* w = (worker >= 0 && worker < server_.workerCount()) ? server_.worker(worker) : this;
  // Always through the loop: a caller never sees its callback run inside its own call.
  w->loop().post([done, ok, err] { done(ok, err); });
}

// ---- closing, timeouts, stop ------------------------------------------------------------

void Worker::finishFlush(Connection& c) {
  ::shutdown(c.fd_, SHUT_WR);
  closeConn(c, "closed after flushing", kDebug);
}

void Worker::closeConn(Connection& c, const std::string& reason, int level) {
  if (c.closed()) return;
  uint64_t id = c.id_;
  // What a corked read queued (replies, a TLS alert) gets the one non-blocking write it
  // would have had without the cork.
  if (c.corked_) {
    c.corked_ = false;
    if (!c.out_.empty() && c.state_ != Connection::State::Connecting) (void)c.out_.flush(c.fd_);
  }
  logNet(level, c.peer() + " (conn " + std::to_string(id) + "): " + reason);
  if (c.session_) c.session_->onClosed(reason);
  auto waiters = std::move(c.waiters_);
  c.waiters_.clear();
  // An outbound connection that never became usable: the destination backs off, and what
  // waited on it gets a short reason a 503 can carry (the detail is in the line above).
  std::string failure;
  if (c.outbound_ && (c.state_ != Connection::State::Open || c.verdictPending_) && !stopping_) {
    failure = ConnectBackoff::failureText(c.remote_, c.state_ != Connection::State::Connecting, reason);
    auto period = backoff_.failed(c.proto_, c.remote_, c.reuseKey_, failure, SteadyClock::now());
    if (period.count() > 0)
      logNet(kInfo, c.peer() + ": no new connection for " + std::to_string(period.count()) + " ms (tcp_connect_backoff)");
  }
  c.closeSocket();
  c.out_.clear();
  if (c.inFreshList_) freshUnlink(c);
  if (c.countedPerIp_) {
    c.countedPerIp_ = false;
    server_.ipLimiter().release(c.remote_);
  }
  server_.index().remove(id, c.proto_, c.remote_);
  auto rk = byRemote_.find(RemoteKey{c.proto_, c.remote_, c.reuseKey_});
  if (rk != byRemote_.end() && rk->second == id) byRemote_.erase(rk);
  server_.openConnections().fetch_sub(1);
  n_.open.fetch_sub(1, std::memory_order_relaxed);
  if (c.proto_ == Proto::TLS) n_.openTls.fetch_sub(1, std::memory_order_relaxed);
  auto it = conns_.find(id);
  if (it != conns_.end()) {
    graveyard_.push_back(std::move(it->second));  // freed by reapEv_, outside any callback of c
    conns_.erase(it);
    event_active(reapEv_.get(), 0, 0);
  }
  for (auto& w : waiters) reply(w.worker, w.done, false, failure.empty() ? c.peer() + ": " + reason : failure);
  maybeFinishStop();
}

void Worker::onSweep() {
  const ServerOptions& o = server_.options();
  auto now = SteadyClock::now();
  struct Doomed {
    uint64_t id;
    const char* why;
    bool stalled;
    bool timedOut = false;  // a message or handshake not completed in time: counted, logged in sum
  };
  std::vector<Doomed> doomed;
  for (auto& [id, cp] : conns_) {
    Connection& c = *cp;
    switch (c.state_) {
      case Connection::State::Connecting:
        if (now >= c.deadline_) doomed.push_back({id, "connect timeout", false});
        break;
      case Connection::State::Handshaking:
        if (now >= c.deadline_) doomed.push_back({id, "TLS handshake timeout (handshake_timeout from accept)", false, true});
        break;
      case Connection::State::Open:
        if (c.verdictPending_ && now >= c.verdictBy_) confirmOutbound(c);  // silent peer: it took us
        if (c.msgStart_ != SteadyClock::time_point{} && now - c.msgStart_ > o.msgReadTimeout)
          doomed.push_back({id, "message not complete within tcp_msg_read_timeout, closing", false, true});
        else if (!c.out_.empty() && now - c.lastWriteProgress_ > c.sendTimeout_)
          doomed.push_back({id, "send timeout (peer not reading), closing", true});
        else if (c.out_.empty() && now - c.lastActivity_ > o.connectionLifetime)
          doomed.push_back({id, "idle for tcp_connection_lifetime, closing", false});
        break;
      case Connection::State::Closed:
        break;
    }
  }
  for (auto& d : doomed) {
    auto it = conns_.find(d.id);
    if (it == conns_.end()) continue;
    if (d.timedOut) {
      // Thousands of slow peers must not mean thousands of log lines: one line per interval.
      n_.timedOut.fetch_add(1, std::memory_order_relaxed);
      if (timeoutLog_.allow(now))
        logNet(kNotice, it->second->peer() + " (conn " + std::to_string(d.id) + "): " + d.why + timeoutLog_.note());
      closeConn(*it->second, d.why, kDebug);
      continue;
    }
    if (d.stalled) n_.stalled.fetch_add(1, std::memory_order_relaxed);
    else if (it->second->state_ == Connection::State::Open) n_.idle.fetch_add(1, std::memory_order_relaxed);
    else n_.errors.fetch_add(1, std::memory_order_relaxed);
    closeConn(*it->second, d.why, it->second->state_ == Connection::State::Open && !d.stalled ? kInfo : kWarn);
  }
  // The last burst of a flood is reported even when no further event comes to carry the count.
  struct Pending {
    LogThrottle& t;
    int level;
    const char* what;
  };
  for (const Pending& p : {Pending{timeoutLog_, kNotice, "connections cut at a message/handshake timeout"},
                           Pending{refuseLog_, kWarn, "connections refused at tcp_max_connections"},
                           Pending{perIpLog_, kWarn, "connections refused at tcp_max_connections_per_ip"},
                           Pending{evictLog_, kWarn, "connections evicted at tcp_max_connections"},
                           Pending{noFdLog_, kWarn, "connections refused for want of file descriptors"},
                           Pending{dgramLog_, kWarn, "malformed datagrams dropped"},
                           Pending{httpDgramLog_, kNotice, "HTTP datagrams dropped"},
                           Pending{inputLog_, kWarn, "connections closed for framing or TLS errors"}})
    if (uint64_t n = p.t.takeOverdue(now))
      logNet(p.level, std::to_string(n) + " more " + p.what + " (not logged one by one)");
}

void Worker::freshLink(Connection& c) {
  c.freshPrev_ = freshTail_;
  c.freshNext_ = nullptr;
  if (freshTail_) freshTail_->freshNext_ = &c;
  else freshHead_ = &c;
  freshTail_ = &c;
  c.inFreshList_ = true;
}

void Worker::freshUnlink(Connection& c) {
  if (c.freshPrev_) c.freshPrev_->freshNext_ = c.freshNext_;
  else freshHead_ = c.freshNext_;
  if (c.freshNext_) c.freshNext_->freshPrev_ = c.freshPrev_;
  else freshTail_ = c.freshPrev_;
  c.freshPrev_ = c.freshNext_ = nullptr;
  c.inFreshList_ = false;
}

bool Worker::evictOne(const SockAddr& newcomer) {
  Connection* victim = freshHead_;
  if (!victim) return false;
  auto age = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - victim->acceptedAt_);
  n_.evicted.fetch_add(1, std::memory_order_relaxed);
  if (evictLog_.allow())
    logNet(kWarn, "tcp_max_connections (" + std::to_string(server_.options().maxConnections) + ") reached: evicted " +
                      victim->peer() + " (no complete message in " + std::to_string(age.count()) + " ms) for " +
                      newcomer.str() + evictLog_.note());
  closeConn(*victim, "evicted to make room (no complete message yet)", kDebug);
  return true;
}

void Worker::beginStop(SteadyClock::time_point deadline) {
  if (stopping_) return;
  stopping_ = true;
  for (auto& l : listeners_) {
    l->ev.reset();
    ::close(l->fd);
    l->fd = -1;
  }
  for (auto& u : udp_) u->ev.reset();  // stop reading; the socket stays for sends until the end
  std::vector<uint64_t> ids;
  ids.reserve(conns_.size());
  for (auto& [id, c] : conns_) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = conns_.find(id);
    if (it == conns_.end()) continue;
    Connection& c = *it->second;
    if (c.state_ != Connection::State::Open) closeConn(c, "shutting down", kInfo);
    else close(id);
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
  stopEv_.reset(event_new(
      loop_.base(), -1, 0,
      [](evutil_socket_t, short, void* arg) {
        auto* w = static_cast<Worker*>(arg);
        std::vector<Connection*> rest;
        for (auto& [id, c] : w->conns_) rest.push_back(c.get());
        for (Connection* c : rest) w->closeConn(*c, "shutting down: flush bound reached", kNotice);
        w->maybeFinishStop();
      },
      this));
  timeval tv = toTimeval(left);
  event_add(stopEv_.get(), &tv);
  maybeFinishStop();
}

void Worker::maybeFinishStop() {
  if (!stopping_ || loopEnded_ || !conns_.empty()) return;
  loopEnded_ = true;
  event_base_loopbreak(loop_.base());
}

}  // namespace sipsd

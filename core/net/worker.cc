// Worker: accept, connect, reuse, dispatch, time out and stop — all on one event loop thread,
// all non-blocking (see worker.h). Each Connection does its own reads, writes and close
// (connection.cc) and reports back through ConnectionHost.
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
#include "core/net/udp_reply_steering.h"

namespace sipsd {
namespace {

thread_local Worker* tCurrent = nullptr;

using namespace netlog;

void logNet(int level, const std::string& text) { netlog::write(level, text); }

timeval toTimeval(std::chrono::milliseconds ms) {
  long v = long(std::max<int64_t>(ms.count(), 0));
  return timeval{v / 1000, (v % 1000) * 1000};
}

// Reuse key of inbound connections with a transport session: never equal to a client domain
// key, so a request is never sent over a connection negotiated for someone else's certificates.
const std::string kInboundKey("\x01inbound", 8);

}  // namespace

Worker* Worker::current() { return tCurrent; }

Worker::Worker(Server& server, int index)
    : server_(server),
      index_(index),
      backoff_(server.options().connectBackoff, server.options().connectBackoffMax) {}

Worker::~Worker() {
  // The loop thread has ended (or never ran): what its last round queued still goes out.
  if (udpOut_) udpOut_->flush();
  // Tear down in an order libevent accepts.
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
  readBuf.resize(std::max<size_t>(65536, o.maxMessageSize + 1));
  udpReader_ = std::make_unique<UdpBatchReader>(readBuf.size());
  if (o.udpSendBatch) {
    err = initUdpBatch();
    if (!err.empty()) return err;
  }
  maxSendQueue = o.maxSendQueue;
  reapEv_.reset(event_new(loop_.base(), -1, 0,
                          [](evutil_socket_t, short, void* arg) { static_cast<Worker*>(arg)->graveyard_.clear(); },
                          this));
  // Timeouts are checked by one sweep per worker instead of a timer per connection; its period
  // is a fraction of the shortest timeout so each is honoured within ~25%.
  std::chrono::milliseconds shortest = std::min({o.connectTimeout, o.sendTimeout, o.msgReadTimeout,
                                                 std::chrono::milliseconds(o.connectionLifetime)});
  shortest = o.transports.shortestTimeout(shortest);
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
  // The first worker's socket founds the reuseport group; the program applies to all of it.
  if (dgram && index_ == 0 && server_.options().udpReplySteering) {
    std::string serr;
    if (!UdpReplySteering::attach(fd, serr))
      logNet(kInfo, "udp:" + l->addr.str() + ": replies not steered to their worker (" + serr + ")");
  }
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
  s.connectionsOpen = counters.open.load(std::memory_order_relaxed);
  s.accepted = counters.accepted.load(std::memory_order_relaxed);
  s.connected = counters.connected.load(std::memory_order_relaxed);
  s.messagesIn = counters.msgIn.load(std::memory_order_relaxed);
  s.messagesOut = counters.msgOut.load(std::memory_order_relaxed);
  s.bytesIn = counters.bytesIn.load(std::memory_order_relaxed);
  s.bytesOut = counters.bytesOut.load(std::memory_order_relaxed);
  s.errors = counters.errors.load(std::memory_order_relaxed);
  s.closedStalled = counters.stalled.load(std::memory_order_relaxed);
  s.closedIdle = counters.idle.load(std::memory_order_relaxed);
  s.rejected = counters.rejected.load(std::memory_order_relaxed);
  s.httpOverUdp = counters.httpOverUdp.load(std::memory_order_relaxed);
  s.refusedPerIp = counters.refusedPerIp.load(std::memory_order_relaxed);
  s.refusedNoFd = counters.refusedNoFd.load(std::memory_order_relaxed);
  s.evicted = counters.evicted.load(std::memory_order_relaxed);
  s.timedOut = counters.timedOut.load(std::memory_order_relaxed);
  for (size_t i = 0; i < kProtoCount; ++i) s.connectionsByProto[i] = counters.openBy[i].load(std::memory_order_relaxed);
  return s;
}

void Worker::countUdpOut(size_t bytes) {
  counters.msgOut.fetch_add(1, std::memory_order_relaxed);
  counters.bytesOut.fetch_add(bytes, std::memory_order_relaxed);
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
        counters.errors.fetch_add(1, std::memory_order_relaxed);
        if (logAllowed(lastAcceptErrLog_)) logNet(kErr, "accept on " + l.addr.str() + ": " + sock::errnoText(errno));
      }
      return;
    }
    SockAddr remote(reinterpret_cast<sockaddr*>(&ss), len);
    if (!server_.ipLimiter().acquire(remote, o.maxConnectionsPerIp)) {
      counters.refusedPerIp.fetch_add(1, std::memory_order_relaxed);
      ::close(fd);
      if (perIpLog_.allow())
        logNet(kWarn, "tcp_max_connections_per_ip (" + std::to_string(o.maxConnectionsPerIp) + ") reached: refused " +
                          std::string(protoName(l.proto)) + " " + remote.str() + perIpLog_.note());
      continue;
    }
    // Table full: make room by evicting the oldest connection that has not completed a
    // message (a slow or stalled peer) rather than refusing a client that may be legitimate.
    if (server_.openConnections().load() >= o.maxConnections && !evictOne(remote) && !evictElsewhere(remote)) {
      counters.rejected.fetch_add(1, std::memory_order_relaxed);
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
    auto c = std::make_unique<Connection>(host(), ConnIndex::makeId(index_, nextSeq_++), fd, l.proto, false,
                                          o.maxMessageSize);
    c->setEndpoints(sock::localAddress(fd), remote);
    c->setSendTimeout(o.sendTimeout);
    bool perIp = o.maxConnectionsPerIp != 0;
    if (Transport* t = o.transports.find(l.proto)) {
      c->setReuseKey(kInboundKey);
      auto session = t->accept(ConnEndpoints{c->id(), index_, c->local(), c->remote()});
      if (!session || !*session) {
        counters.errors.fetch_add(1, std::memory_order_relaxed);
        if (perIp) server_.ipLimiter().release(remote);
        logNet(kWarn, std::string(protoName(l.proto)) + " " + remote.str() + ": cannot start a session: " +
                          (session ? std::string("no session") : session.error()));
        continue;  // c's destructor closes the socket
      }
      c->setSession(std::move(session).value(), t->handshakeTimeout());
      c->setSendTimeout(t->sendTimeout());
    }
    c->beginAccepted(SteadyClock::now(), perIp);
    counters.accepted.fetch_add(1, std::memory_order_relaxed);
    Connection* p = registerConn(std::move(c));
    if (!p) continue;
    freshLink(*p);
    p->startReading();
    logNet(kDebug, "accepted " + p->peer() + " on " + l.addr.str() + " (conn " + std::to_string(p->id()) + ")");
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
  counters.refusedNoFd.fetch_add(uint64_t(std::max(refused, 1)), std::memory_order_relaxed);
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
  // At most 64 datagrams per wake-up (then the other events get their turn), read in batches;
  // a short batch means the socket is drained, so no trailing read that fails with EAGAIN.
  for (int taken = 0; taken < 64;) {
    int n = udpReader_->read(l.fd);
    if (n <= 0) return;
    taken += n;
    for (size_t i = 0; i < size_t(n); ++i) onDatagram(l, i, o);
    if (size_t(n) < UdpBatchReader::kBatch) return;
  }
}

void Worker::onDatagram(Listener& l, size_t i, const ServerOptions& o) {
  const size_t r = udpReader_->size(i);
  counters.bytesIn.fetch_add(r, std::memory_order_relaxed);
  SockAddr src = udpReader_->source(i);
  // MSG_TRUNC reports the real size of a datagram larger than the buffer.
  auto d = StreamFramer::checkDatagram(udpReader_->bytes(i), o.maxMessageSize);
  if (r > udpReader_->slotSize() && d.error.empty()) d.error = "datagram of " + std::to_string(r) + " bytes";
  if (!d.error.empty()) {
    LogThrottle& t = d.http ? httpDgramLog_ : dgramLog_;
    (d.http ? counters.httpOverUdp : counters.errors).fetch_add(1, std::memory_order_relaxed);
    if (t.allow()) logNet(d.http ? kNotice : kWarn, "UDP " + src.str() + ": dropped: " + d.error + t.note());
    return;
  }
  if (d.msg.empty()) return;  // CRLF keep-alive
  counters.msgIn.fetch_add(1, std::memory_order_relaxed);
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

// ---- what connections report (ConnectionHost) ---------------------------------------------

void Worker::dispatch(Connection& c, std::string_view msg) {
  ReceiveInfo rcv;
  rcv.proto = c.proto();
  rcv.src = c.remote();
  rcv.dst = c.local();
  rcv.connId = c.id();
  rcv.worker = index_;
  rcv.session = c.session();
  try {
    server_.handler()(msg, rcv);
  } catch (const std::exception& e) {
    logNet(kErr, "handler failed on a message from " + c.peer() + ": " + e.what());
  }
}

void Worker::firstMessage(Connection& c) { freshUnlink(c); }

void Worker::established(Connection& c) {
  if (!c.outbound()) return;
  counters.connected.fetch_add(1, std::memory_order_relaxed);
  if (c.session()) c.awaitVerdict();  // the sweep looks at its deadline within its period
  else confirmed(c);
}

void Worker::confirmed(Connection& c) {
  backoff_.succeeded(c.proto(), c.remote(), c.reuseKey());
  for (auto& w : c.takeWaiters()) reply(w.worker, w.done, true, "");
}

void Worker::closed(Connection& c, const std::string& reason, const ClosedAs& as) {
  uint64_t id = c.id();
  auto waiters = c.takeWaiters();
  // An outbound connection that never became usable: the destination backs off, and what
  // waited on it gets a short reason a 503 can carry (the detail is in the connection's line).
  std::string failure;
  if (as.unusedOutbound && !stopping_) {
    failure = ConnectBackoff::failureText(c.remote(), as.pastConnect, reason);
    auto period = backoff_.failed(c.proto(), c.remote(), c.reuseKey(), failure, SteadyClock::now());
    if (period.count() > 0)
      logNet(kInfo, c.peer() + ": no new connection for " + std::to_string(period.count()) + " ms (tcp_connect_backoff)");
  }
  if (c.fresh.linked) freshUnlink(c);
  if (c.countedPerIp()) {
    c.clearCountedPerIp();
    server_.ipLimiter().release(c.remote());
  }
  server_.index().remove(id, c.proto(), c.remote());
  auto rk = byRemote_.find(RemoteKey{c.proto(), c.remote(), c.reuseKey()});
  if (rk != byRemote_.end() && rk->second == id) byRemote_.erase(rk);
  server_.openConnections().fetch_sub(1);
  counters.open.fetch_sub(1, std::memory_order_relaxed);
  counters.openBy[size_t(c.proto())].fetch_sub(1, std::memory_order_relaxed);
  auto it = conns_.find(id);
  if (it != conns_.end()) {
    graveyard_.push_back(std::move(it->second));  // freed by reapEv_, outside any callback of c
    conns_.erase(it);
    event_active(reapEv_.get(), 0, 0);
  }
  for (auto& w : waiters) reply(w.worker, w.done, false, failure.empty() ? c.peer() + ": " + reason : failure);
  maybeFinishStop();
}

// ---- outbound ---------------------------------------------------------------------------

Connection* Worker::registerConn(std::unique_ptr<Connection> conn) {
  Connection* c = conn.get();
  if (!c->attach(loop_.base())) {
    counters.errors.fetch_add(1, std::memory_order_relaxed);
    if (c->countedPerIp()) server_.ipLimiter().release(c->remote());
    logNet(kErr, c->peer() + ": cannot create connection events");
    return nullptr;
  }
  conns_.emplace(c->id(), std::move(conn));
  byRemote_.emplace(RemoteKey{c->proto(), c->remote(), c->reuseKey()}, c->id());
  server_.index().add(c->id(), c->proto(), c->remote(), c->reuseKey());
  server_.openConnections().fetch_add(1);
  counters.open.fetch_add(1, std::memory_order_relaxed);
  counters.openBy[size_t(c->proto())].fetch_add(1, std::memory_order_relaxed);
  return c;
}

Result<Connection*> Worker::openOutbound(Proto proto, const SockAddr& to, const std::string& key,
                                         const ConnectOptions& opt) {
  const ServerOptions& o = server_.options();
  if (server_.openConnections().load() >= o.maxConnections)
    return fail("tcp_max_connections (" + std::to_string(o.maxConnections) + ") reached");
  std::string err;
  int fd = sock::startConnect(to, err);
  if (fd < 0) return fail(std::move(err));
  auto c = std::make_unique<Connection>(host(), ConnIndex::makeId(index_, nextSeq_++), fd, proto, true,
                                        o.maxMessageSize);
  c->setEndpoints(sock::localAddress(fd), to);
  c->setReuseKey(key);
  c->beginConnect(SteadyClock::now(), o.connectTimeout);
  c->setSendTimeout(o.sendTimeout);
  if (Transport* t = o.transports.find(proto)) {
    auto session = t->connect(ConnEndpoints{c->id(), index_, c->local(), c->remote()}, opt);
    if (!session || !*session)
      return fail(std::string(protoName(proto)) + " to " + to.str() + ": " +
                  (session ? std::string("no session") : session.error()));
    c->setSession(std::move(session).value(), t->handshakeTimeout());
    c->setSendTimeout(t->sendTimeout());
  }
  Connection* p = registerConn(std::move(c));
  if (!p) return fail(std::string(protoName(proto)) + " to " + to.str() + ": cannot create connection events");
  if (auto started = p->startOutbound(); !started) return fail(started.error());
  logNet(kDebug, "connecting " + p->peer() + " (conn " + std::to_string(p->id()) + ")");
  return p;
}

void Worker::sendTo(Proto proto, const SockAddr& to, std::string data, const ConnectOptions& opt, SendDone done,
                    int replyWorker, bool mayForward) {
  if (stopping_) {
    reply(replyWorker, done, false, "shutting down");
    return;
  }
  if (proto == Proto::UDP && udpOut_ && data.size() <= UdpSendBatch::kMaxPayload) {
    int fd = udpSocketFor(SockAddr(), to.family());
    if (fd < 0) {
      reply(replyWorker, done, false, "UDP to " + to.str() + ": no UDP socket");
      return;
    }
    UdpSendBatch::Done outcome;
    if (done)
      outcome = [this, replyWorker, done = std::move(done), to](int err) {
        reply(replyWorker, done, err == 0, err ? "UDP to " + to.str() + ": cannot send: " + sock::errnoText(err) : "");
      };
    udpOut_->addOwned(fd, to, std::move(data), std::move(outcome));
    return;
  }
  if (proto == Proto::UDP) {
    bool ok = server_.sendUdp(SockAddr(), to, data);
    reply(replyWorker, done, ok, ok ? "" : "UDP to " + to.str() + ": cannot send");
    return;
  }
  Transport* t = server_.transports().find(proto);
  if (!server_.transports().available(proto)) {
    reply(replyWorker, done, false, std::string("no ") + std::string(protoName(proto)) + " transport loaded");
    return;
  }
  std::string key = t ? t->clientDomainKey(to, opt) : std::string();
  Connection* c = nullptr;
  // An outgoing connection opened with this client domain, else the peer's own inbound TLS
  // connection from `to` (SPEC §8: a phone behind NAT is reachable only on the connection it
  // opened; inbound connections without a transport already share the empty key).
  const std::string* keys[2] = {&key, t ? &kInboundKey : nullptr};
  for (const std::string* k : keys) {
    if (!k || c) continue;
    auto it = byRemote_.find(RemoteKey{proto, to, *k});
    if (it != byRemote_.end()) {
      auto ci = conns_.find(it->second);
      if (ci != conns_.end() && !ci->second->closed() && !ci->second->closing()) c = ci->second.get();
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
    auto opened = openOutbound(proto, to, key, opt);
    if (!opened) {
      counters.errors.fetch_add(1, std::memory_order_relaxed);
      logNet(kWarn, opened.error());
      reply(replyWorker, done, false, opened.error());
      return;
    }
    c = *opened;
  }
  if (c->state() == Connection::State::Open && !c->verdictPending()) {
    bool ok = c->send(std::move(data));
    reply(replyWorker, done, ok, ok ? "" : "connection to " + to.str() + " closed");
    return;
  }
  // Not yet established (or its peer has not accepted us yet): report when it is (or when it
  // fails; closing fails the waiters).
  if (done) c->addWaiter(Connection::Waiter{replyWorker, std::move(done)});
  c->send(std::move(data));
}

bool Worker::send(uint64_t id, std::string data) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return false;
  return it->second->send(std::move(data));
}

bool Worker::whenDrained(uint64_t id, std::function<void(size_t room)> fn) {
  auto it = conns_.find(id);
  if (it == conns_.end() || it->second->closed() || it->second->closing()) return false;
  const size_t bound = maxSendQueue;
  // Always on a later turn of the loop, never inside the caller or inside flush(): the
  // producer queues more on this connection, and other sockets get served in between.
  auto run = [this, id, bound, fn = std::move(fn)] {
    auto c = conns_.find(id);
    if (c == conns_.end() || c->second->closed() || c->second->closing()) return;
    size_t q = c->second->queued();
    fn(q < bound ? bound - q : 0);
  };
  Connection& c = *it->second;
  if (c.queued() <= bound / 4) loop_.post(std::move(run));
  else c.onDrained(bound / 4, [this, run = std::move(run)] { loop_.post(run); });
  return true;
}

bool Worker::close(uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return false;
  it->second->closeGracefully();
  return true;
}

void Worker::reply(int worker, const SendDone& done, bool ok, const std::string& err) {
  if (!done) return;
  Worker* w = (worker >= 0 && worker < server_.workerCount()) ? server_.worker(worker) : this;
  // Always through the loop: a caller never sees its callback run inside its own call.
  w->loop().post([done, ok, err] { done(ok, err); });
}

// ---- closing, timeouts, stop ------------------------------------------------------------

void Worker::onSweep() {
  const ServerOptions& o = server_.options();
  auto now = SteadyClock::now();
  struct Doomed {
    uint64_t id;
    Connection::Expiry why;
  };
  std::vector<Doomed> doomed;
  auto lifetime = std::chrono::duration_cast<std::chrono::milliseconds>(o.connectionLifetime);
  for (auto& [id, cp] : conns_) {
    if (cp->verdictDue(now)) cp->confirm();  // a silent peer: it took us
    if (auto e = cp->expiry(now, o.msgReadTimeout, lifetime); e != Connection::Expiry::None) doomed.push_back({id, e});
  }
  for (auto& d : doomed) {
    auto it = conns_.find(d.id);
    if (it == conns_.end()) continue;
    Connection& c = *it->second;
    const char* why = "";
    bool stalled = false, timedOut = false;  // timedOut: a message or handshake not completed in time
    switch (d.why) {
      case Connection::Expiry::ConnectTimeout: why = "connect timeout"; break;
      case Connection::Expiry::HandshakeTimeout:
        why = "handshake timeout (handshake_timeout from accept)";
        timedOut = true;
        break;
      case Connection::Expiry::MessageTimeout:
        why = "message not complete within tcp_msg_read_timeout, closing";
        timedOut = true;
        break;
      case Connection::Expiry::SendTimeout:
        why = "send timeout (peer not reading), closing";
        stalled = true;
        break;
      case Connection::Expiry::Idle: why = "idle for tcp_connection_lifetime, closing"; break;
      case Connection::Expiry::None: continue;
    }
    if (timedOut) {
      // Thousands of slow peers must not mean thousands of log lines: one line per interval.
      counters.timedOut.fetch_add(1, std::memory_order_relaxed);
      if (timeoutLog_.allow(now))
        logNet(kNotice, c.peer() + " (conn " + std::to_string(d.id) + "): " + why + timeoutLog_.note());
      c.close(why, kDebug);
      continue;
    }
    bool open = c.state() == Connection::State::Open;
    if (stalled) counters.stalled.fetch_add(1, std::memory_order_relaxed);
    else if (open) counters.idle.fetch_add(1, std::memory_order_relaxed);
    else counters.errors.fetch_add(1, std::memory_order_relaxed);
    c.close(why, open && !stalled ? kInfo : kWarn);
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
                           Pending{inputLog, kWarn, "connections closed for framing or transport errors"}})
    if (uint64_t n = p.t.takeOverdue(now))
      logNet(p.level, std::to_string(n) + " more " + p.what + " (not logged one by one)");
}

void Worker::freshLink(Connection& c) {
  c.fresh.prev = freshTail_;
  c.fresh.next = nullptr;
  if (freshTail_) freshTail_->fresh.next = &c;
  else freshHead_ = &c;
  freshTail_ = &c;
  c.fresh.linked = true;
  freshCount_.fetch_add(1, std::memory_order_relaxed);
}

void Worker::freshUnlink(Connection& c) {
  if (c.fresh.prev) c.fresh.prev->fresh.next = c.fresh.next;
  else freshHead_ = c.fresh.next;
  if (c.fresh.next) c.fresh.next->fresh.prev = c.fresh.prev;
  else freshTail_ = c.fresh.prev;
  c.fresh.prev = c.fresh.next = nullptr;
  c.fresh.linked = false;
  freshCount_.fetch_sub(1, std::memory_order_relaxed);
}

bool Worker::evictOne(const SockAddr& newcomer) {
  Connection* victim = freshHead_;
  if (!victim) return false;
  auto age = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - victim->acceptedAt());
  counters.evicted.fetch_add(1, std::memory_order_relaxed);
  if (evictLog_.allow())
    logNet(kWarn, "tcp_max_connections (" + std::to_string(server_.options().maxConnections) + ") reached: evicted " +
                      victim->peer() + " (no complete message in " + std::to_string(age.count()) + " ms) for " +
                      newcomer.str() + evictLog_.note());
  victim->close("evicted to make room (no complete message yet)", kDebug);
  return true;
}

bool Worker::evictElsewhere(const SockAddr& newcomer) {
  int n = server_.workerCount();
  for (int k = 1; k < n; ++k) {
    Worker* w = server_.worker((index_ + k) % n);
    // Claimed: two newcomers never count on the same connection of w.
    size_t claimed = w->evictClaims_.load();
    while (claimed < w->freshCount_.load(std::memory_order_relaxed)) {
      if (!w->evictClaims_.compare_exchange_weak(claimed, claimed + 1)) continue;
      w->loop().post([w, newcomer] {
        w->evictClaims_.fetch_sub(1);
        w->evictOne(newcomer);  // none left by now (they completed a message): nothing to close
      });
      return true;
    }
  }
  return false;
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
    if (c.state() != Connection::State::Open) c.close("shutting down", kInfo);
    else c.closeGracefully();
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
  stopEv_.reset(event_new(
      loop_.base(), -1, 0,
      [](evutil_socket_t, short, void* arg) {
        auto* w = static_cast<Worker*>(arg);
        std::vector<Connection*> rest;
        for (auto& [id, c] : w->conns_) rest.push_back(c.get());
        for (Connection* c : rest) c->close("shutting down: flush bound reached", kNotice);
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
  if (udpOut_) udpOut_->flush();  // the loop ends after this callback: no round end to wait for
  event_base_loopbreak(loop_.base());
}

// ---- batched UDP sends (udp_send_batch) ----------------------------------------------------

std::string Worker::initUdpBatch() {
  udpFlushEv_.reset(event_new(
      loop_.base(), -1, 0, [](evutil_socket_t, short, void* arg) { static_cast<Worker*>(arg)->onRoundEnd(); }, this));
  if (!udpFlushEv_) return "cannot create the UDP send event";
  UdpSendBatch::Hooks hooks;
  // Activated (not added): it joins the end of the loop's current round of callbacks, so every
  // datagram of the round goes out before epoll_wait, in one sendmmsg per socket.
  hooks.armed = [this] { event_active(udpFlushEv_.get(), 0, 0); };
  hooks.sent = [this](size_t datagrams, size_t bytes) {
    counters.msgOut.fetch_add(datagrams, std::memory_order_relaxed);
    counters.bytesOut.fetch_add(bytes, std::memory_order_relaxed);
  };
  hooks.failed = [](const SockAddr& to, int err) {
    if (logging::enabled(kInfo)) logNet(kInfo, "UDP to " + to.str() + ": " + sock::errnoText(err));
  };
  udpOut_ = std::make_unique<UdpSendBatch>(std::move(hooks));
  return "";
}

bool Worker::corkUntilRoundEnd(Connection& c) {
  if (!udpFlushEv_ || stopping_) return false;
  if (roundCorked_.empty()) event_active(udpFlushEv_.get(), 0, 0);
  roundCorked_.push_back(c.id());
  return true;
}

void Worker::onRoundEnd() {
  udpOut_->flush();
  // Swapped out first: a write that closes a connection, or a send from its report, may
  // cork again (for the next pass of this event).
  roundCorked_.swap(roundCorkedSpare_);
  for (uint64_t id : roundCorkedSpare_) {
    auto it = conns_.find(id);
    if (it != conns_.end()) it->second->endRoundCork();
  }
  roundCorkedSpare_.clear();
}

bool Worker::queueUdp(int fd, const SockAddr& to, std::string_view data, UdpSendBatch::Done sent) {
  if (data.size() > UdpSendBatch::kMaxPayload) {
    if (logging::enabled(kInfo)) logNet(kInfo, "UDP to " + to.str() + ": " + sock::errnoText(EMSGSIZE));
    return false;
  }
  udpOut_->add(fd, to, data, std::move(sent));
  return true;
}

}  // namespace sipsd

// The load thread's epoll state machine (see load_worker.h).
#include "load_worker.h"

#include "sip_text.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/x509v3.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace sipsd::bench {
namespace {

constexpr auto kRetryDelay = std::chrono::milliseconds(20);
// Call mode: the window of calls is opened over this long at the start (see fill()).
constexpr auto kCallRamp = std::chrono::milliseconds(100);
constexpr std::size_t kRxSize = 65536;     // one UDP datagram at most
constexpr std::size_t kCallRxBatch = 16;   // datagrams per recvmmsg in call mode

std::string errnoText(const char* what, int err) { return std::string(what) + ": " + std::strerror(err); }

std::uint64_t nanos(Clock::duration d) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

}  // namespace

void WorkerStats::merge(const WorkerStats& o) {
  ops += o.ops;
  connectErrors += o.connectErrors;
  tlsErrors += o.tlsErrors;
  timeouts += o.timeouts;
  non200 += o.non200;
  protocolErrors += o.protocolErrors;
  closedByPeer += o.closedByPeer;
  reconnects += o.reconnects;
  resumed += o.resumed;
  lateReplies += o.lateReplies;
  latency.merge(o.latency);
  byeLatency.merge(o.byeLatency);
  if (firstError.empty()) firstError = o.firstError;
}

LoadWorker::LoadWorker(int index, const BenchOptions& opt, SSL_CTX* ctx, RunControl& rc)
    : index_(index),
      opt_(opt),
      ctx_(ctx),
      rc_(rc),
      transport_(opt.proto == Proto::kUdp ? "UDP" : opt.proto == Proto::kTcp ? "TCP" : "TLS"),
      targetIp_(formatIp(opt.target.sa())) {
  std::size_t mine = 0;
  for (int i = index; i < opt.connections; i += opt.threads) ++mine;
  conns_.resize(mine);
  for (std::size_t i = 0; i < mine; ++i) {
    conns_[i].index = static_cast<std::uint32_t>(i);
    conns_[i].sent.resize(static_cast<std::size_t>(opt.pipeline));
  }
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (opt.proto == Proto::kUdp) {
    const std::size_t batch = opt.mode == Mode::kCall ? kCallRxBatch : 1;
    rxBuf_.resize(batch * kRxSize);
    rxIov_.resize(batch);
    rxMsgs_.resize(batch);
  }
}

LoadWorker::~LoadWorker() {
  for (auto& c : conns_) closeSocket(c, true);
  if (epfd_ >= 0) close(epfd_);
}

void LoadWorker::run() {
  now_ = Clock::now();
  if (epfd_ < 0) {
    stats_.firstError = errnoText("epoll_create1", errno);
    exhausted_ = true;
  }
  if (opt_.mode != Mode::kHandshake && epfd_ >= 0) setupPhase();
  rc_.arriveAndWait();
  loading_ = true;
  if (opt_.warmup > 0) {
    // The warm-up runs on the connections the measured phase uses (so the server's worker, its
    // heap and caches are the ones measured), then drains; none of its outcomes is counted.
    now_ = Clock::now();
    loadStart_ = now_;
    if (epfd_ >= 0) loadPhase();
    warmupOps_ = stats_.ops;
    warmupErrors_ = stats_.errors();
    stats_ = WorkerStats{};
    exhausted_ = false;
    rc_.arriveAndWait();
  }
  now_ = Clock::now();
  loadStart_ = now_;
  if (epfd_ >= 0) loadPhase();
  rc_.arriveAndWait();
  loading_ = false;
  closeAll();
}

// Options and call mode: open every connection (and finish its handshake) before the measured
// phase, so the figures count requests (calls) only.  A connection that cannot be opened stays failed.
void LoadWorker::setupPhase() {
  for (auto& c : conns_) startConnect(c);
  auto pending = [&] {
    for (const auto& c : conns_)
      if (c.state != State::kReady && c.state != State::kFailed) return true;
    return false;
  };
  while (pending()) {
    poll(10);
    checkTimers();
  }
}

bool LoadWorker::busy(const Conn& c) const {
  if (opt_.mode == Mode::kOptions) return c.inflight > 0;
  if (opt_.mode == Mode::kCall) return c.calls.inflight() > 0;
  return c.state != State::kIdle && c.state != State::kFailed;
}

void LoadWorker::loadPhase() {
  if (opt_.mode != Mode::kHandshake) {
    bool any = false;
    for (auto& c : conns_) {
      if (c.state != State::kReady) continue;
      any = true;
      fill(c);
    }
    if (!any) exhausted_ = true;  // no connection could be opened: nothing to measure here
  } else {
    for (auto& c : conns_)
      if (moreTickets()) startConnect(c);
  }
  for (;;) {
    // Duration mode: the deadline also ends a worker whose connections are all down.
    if (!exhausted_ && opt_.count == 0 && !rc_.takeTicket(now_)) exhausted_ = true;
    bool alive = false;
    for (const auto& c : conns_) alive = alive || c.state != State::kFailed;
    if (!alive) exhausted_ = true;
    if (exhausted_) {
      bool any = false;
      for (const auto& c : conns_) any = any || busy(c);
      if (!any) break;
    }
    poll(pollTimeoutMs());
    checkTimers();
  }
}

// Call mode waits no longer than until the next BYE is due (at most 5 ms, like the other modes).
int LoadWorker::pollTimeoutMs() const {
  int ms = 5;
  if (opt_.mode != Mode::kCall) return ms;
  if (loading_ && now_ - loadStart_ < kCallRamp) ms = 1;  // the window is opening
  for (const auto& c : conns_) {
    const auto due = c.calls.nextByeDue();
    if (!due) continue;
    if (*due <= now_) return 0;
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*due - now_).count();
    if (wait < ms) ms = static_cast<int>(wait);
  }
  return ms;
}

void LoadWorker::closeAll() {
  for (auto& c : conns_) {
    if (c.ssl && c.state == State::kReady) {
      SSL_shutdown(c.ssl.get());  // a polite close_notify; the answer is not awaited
      takeSslErrors();
    }
    closeSocket(c, false);
    c.state = State::kIdle;
  }
}

bool LoadWorker::moreTickets() {
  if (exhausted_ || !loading_) return false;
  if (!rc_.takeTicket(now_)) exhausted_ = true;
  return !exhausted_;
}

void LoadWorker::poll(int timeoutMs) {
  epoll_event events[256];
  const int n = epoll_wait(epfd_, events, 256, timeoutMs);
  now_ = Clock::now();
  for (int i = 0; i < n; ++i) {
    const auto idx = static_cast<std::uint32_t>(events[i].data.u64 & 0xffffffffu);
    const auto gen = static_cast<std::uint32_t>(events[i].data.u64 >> 32);
    if (idx >= conns_.size()) continue;
    Conn& c = conns_[idx];
    if (c.fd < 0 || c.gen != gen) continue;  // event of a socket closed earlier in this batch
    onEvent(c, events[i].events);
  }
}

void LoadWorker::onEvent(Conn& c, std::uint32_t ev) {
  c.lastProgress = now_;
  switch (c.state) {
    case State::kConnecting: {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return fail(c, Why::kConnect, errnoText("connect", err));
      if (ev & (EPOLLOUT | EPOLLIN)) onConnected(c);
      return;
    }
    case State::kHandshaking:
      return driveHandshake(c);
    case State::kReady:
      if (opt_.proto == Proto::kUdp) {
        if (ev & (EPOLLIN | EPOLLERR)) readDatagrams(c);
        return;
      }
      if ((ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0 || c.ssl) readStream(c);
      if (c.state == State::kReady && c.outOff < c.out.size()) flush(c);
      return;
    case State::kClosing:
      return readUntilEof(c);
    case State::kIdle:
    case State::kFailed:
      return;
  }
}

void LoadWorker::checkTimers() {
  const auto limit = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt_.timeout));
  for (auto& c : conns_) {
    switch (c.state) {
      case State::kIdle:
        if (!loading_ || now_ < c.retryAt) break;
        if (opt_.mode != Mode::kHandshake) {
          // A reconnect is not an operation: it takes no ticket.
          if (exhausted_) break;
          ++stats_.reconnects;
          startConnect(c);
        } else if (moreTickets()) {
          startConnect(c);
        }
        break;
      case State::kConnecting:
      case State::kHandshaking:
      case State::kClosing:
        if (now_ - c.lastProgress > limit)
          fail(c, Why::kTimeout, c.state == State::kClosing ? "server did not close after our close" : "no connect/handshake progress");
        break;
      case State::kReady:
        if (opt_.mode == Mode::kCall) {
          callTimers(c);
          break;
        }
        if (c.inflight > 0 && now_ - c.sent[c.head] > limit) {
          if (opt_.proto == Proto::kUdp) {
            // Datagrams may be lost: fail these requests, keep the socket, go on.
            stats_.timeouts += c.inflight;
            if (stats_.firstError.empty()) stats_.firstError = "request timed out (udp)";
            c.inflight = 0;
            fill(c);
          } else {
            fail(c, Why::kTimeout, "no reply within --timeout");
          }
        }
        break;
      case State::kFailed:
        break;
    }
  }
}

void LoadWorker::startConnect(Conn& c) {
  c.opStart = c.lastProgress = now_;
  c.cycleOk = false;
  const int type = opt_.proto == Proto::kUdp ? SOCK_DGRAM : SOCK_STREAM;
  c.fd = socket(opt_.target.family(), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) return fail(c, Why::kConnect, errnoText("socket", errno));
  if (type == SOCK_STREAM) {
    const int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  } else if (opt_.mode == Mode::kCall) {
    // A window of calls answers in bursts (100, 180, 200 per INVITE): room for them, as
    // call_uac.py asks for (the kernel caps it at net.core.rmem_max).
    const int size = 8 << 20;
    setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  ++c.gen;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = (static_cast<std::uint64_t>(c.gen) << 32) | c.index;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev) != 0) return fail(c, Why::kConnect, errnoText("epoll_ctl", errno));
  if (connect(c.fd, opt_.target.sa(), opt_.target.len) == 0) return onConnected(c);
  if (errno != EINPROGRESS) return fail(c, Why::kConnect, errnoText("connect", errno));
  c.state = State::kConnecting;
}

void LoadWorker::onConnected(Conn& c) {
  if (opt_.mode != Mode::kHandshake || opt_.requestPerConn) {
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    getsockname(c.fd, reinterpret_cast<sockaddr*>(&local), &len);
    char tag[64];
    std::snprintf(tag, sizeof tag, "%x.%d.%u.%u", static_cast<unsigned>(getpid()), index_, c.index, c.gen);
    const std::string localText = formatHostPort(reinterpret_cast<const sockaddr*>(&local));
    if (opt_.mode == Mode::kCall) {
      c.calls.prepare(transport_, localText, opt_.ruri, tag, static_cast<std::size_t>(opt_.pipeline),
                      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt_.hangupDelay)),
                      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt_.timeout)));
    } else {
      c.request.prepare(transport_, localText, opt_.ruri, tag, opt_.ruriUsers);
    }
  }
  if (opt_.proto != Proto::kTls) return onReady(c);
  c.ssl.reset(SSL_new(ctx_));
  if (!c.ssl) return fail(c, Why::kTls, "SSL_new: " + takeSslErrors());
  SSL_set_fd(c.ssl.get(), c.fd);
  SSL_set_connect_state(c.ssl.get());
  if (!opt_.sni.empty()) {
    SSL_set_tlsext_host_name(c.ssl.get(), opt_.sni.c_str());
    if (!opt_.ca.empty()) SSL_set1_host(c.ssl.get(), opt_.sni.c_str());
  } else if (!opt_.ca.empty()) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c.ssl.get()), targetIp_.c_str());
  }
  if (opt_.resume && c.session) SSL_set_session(c.ssl.get(), c.session.get());
  c.state = State::kHandshaking;
  driveHandshake(c);
}

void LoadWorker::driveHandshake(Conn& c) {
  const int r = SSL_do_handshake(c.ssl.get());
  if (r == 1) {
    if (SSL_session_reused(c.ssl.get())) ++stats_.resumed;
    return onReady(c);
  }
  const int err = SSL_get_error(c.ssl.get(), r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
  std::string why = "TLS handshake with " + opt_.targetText + " failed";
  const long verify = SSL_get_verify_result(c.ssl.get());
  if (verify != X509_V_OK) why += std::string(": certificate: ") + X509_verify_cert_error_string(verify);
  const std::string lib = takeSslErrors();
  if (!lib.empty()) why += ": " + lib;
  else if (err == SSL_ERROR_SYSCALL) why += ": connection closed by server";
  fail(c, Why::kTls, why);
}

void LoadWorker::onReady(Conn& c) {
  c.state = State::kReady;
  c.downSince = {};
  c.lastProgress = now_;
  if (opt_.mode != Mode::kHandshake) {
    if (loading_) fill(c);
    return;
  }
  if (!opt_.requestPerConn) return startClose(c, true);
  sendRequest(c);
  flush(c);
}

void LoadWorker::fill(Conn& c) {
  if (opt_.mode == Mode::kCall) {
    // The window opens evenly over kCallRamp: started at once, its calls would run in step, the
    // 2xx, ACK and BYE of all of them in one burst per round that overflows a server's socket
    // buffer (nothing is retransmitted; a lost datagram is a failed call).  Spread at the start,
    // each call then starts when another ends, and the load stays spread.
    std::size_t allowed = static_cast<std::size_t>(opt_.pipeline);
    if (now_ - loadStart_ < kCallRamp)
      allowed = 1 + allowed * static_cast<std::size_t>((now_ - loadStart_).count()) /
                        static_cast<std::size_t>(std::chrono::duration_cast<Clock::duration>(kCallRamp).count());
    while (c.state == State::kReady && c.calls.inflight() < allowed && !c.calls.full() && moreTickets()) {
      c.calls.start(now_, &c.out);
      emit(c);
    }
    if (c.state == State::kReady && opt_.proto != Proto::kUdp) flush(c);
    return;
  }
  while (c.state == State::kReady && c.inflight < c.sent.size() && moreTickets()) sendRequest(c);
  if (c.state == State::kReady && opt_.proto != Proto::kUdp) flush(c);
}

void LoadWorker::sendRequest(Conn& c) {
  c.request.append(++c.seq, &c.out);
  c.sent[(c.head + c.inflight) % c.sent.size()] = now_;
  ++c.inflight;
  if (opt_.proto != Proto::kUdp) return;
  // A datagram per request; one the kernel will not take now is lost like one on the wire.
  const ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
  c.out.clear();
  if (n < 0 && errno != EAGAIN && errno != ECONNREFUSED) {
    fail(c, Why::kClosed, errnoText("send", errno));
  }
}

// Call mode: a datagram transport sends each request on its own as soon as it is built; a stream
// collects them in c.out for one flush().
void LoadWorker::emit(Conn& c) {
  if (opt_.proto != Proto::kUdp || c.out.empty()) return;
  const ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
  c.out.clear();
  // One the kernel will not take now is lost like one on the wire: the call times out.
  if (n < 0 && errno != EAGAIN && errno != ECONNREFUSED) fail(c, Why::kClosed, errnoText("send", errno));
}

void LoadWorker::handleCallReply(Conn& c, std::string_view msg) {
  const CallSet::Result r = c.calls.onMessage(msg, now_, &c.out, stats_.firstError.empty());
  switch (r.outcome) {
    case CallSet::Outcome::kNothing: break;
    case CallSet::Outcome::kAnswered: stats_.latency.record(nanos(r.latency)); break;
    case CallSet::Outcome::kCompleted:
      ++stats_.ops;
      stats_.byeLatency.record(nanos(r.latency));
      break;
    case CallSet::Outcome::kRejected:
      ++stats_.non200;
      noteError(r.detail);
      break;
    case CallSet::Outcome::kBadReply:
    case CallSet::Outcome::kStray:
      ++stats_.protocolErrors;
      noteError(r.detail);
      break;
    case CallSet::Outcome::kLate: ++stats_.lateReplies; break;
  }
  emit(c);
}

void LoadWorker::sendDueByes(Conn& c) {
  while (c.state == State::kReady && c.calls.nextBye(now_, &c.out)) emit(c);
}

void LoadWorker::callTimers(Conn& c) {
  if (const std::size_t n = c.calls.expire(now_); n > 0) {
    stats_.timeouts += n;
    noteError("call not completed within --timeout of its INVITE");
  }
  sendDueByes(c);
  fill(c);
}

void LoadWorker::noteError(std::string_view what) {
  if (stats_.firstError.empty()) stats_.firstError = std::string(what);
}

void LoadWorker::flush(Conn& c) {
  while (c.outOff < c.out.size()) {
    const char* p = c.out.data() + c.outOff;
    const std::size_t left = c.out.size() - c.outOff;
    if (c.ssl) {
      const int n = SSL_write(c.ssl.get(), p, static_cast<int>(left));
      if (n > 0) {
        c.outOff += static_cast<std::size_t>(n);
        continue;
      }
      const int err = SSL_get_error(c.ssl.get(), n);
      if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) return;
      return fail(c, Why::kClosed, "SSL_write: " + takeSslErrors());
    }
    const ssize_t n = send(c.fd, p, left, MSG_NOSIGNAL);
    if (n > 0) {
      c.outOff += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    return fail(c, Why::kClosed, errnoText("send", errno));
  }
  c.out.clear();
  c.outOff = 0;
}

void LoadWorker::readStream(Conn& c) {
  for (;;) {
    std::size_t room = 0;
    char* buf = c.framer.writable(16384, &room);
    ssize_t n;
    if (c.ssl) {
      const int r = SSL_read(c.ssl.get(), buf, static_cast<int>(room));
      if (r <= 0) {
        const int err = SSL_get_error(c.ssl.get(), r);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) break;
        return fail(c, Why::kClosed, err == SSL_ERROR_ZERO_RETURN ? "server sent close_notify" : "connection closed by server");
      }
      n = r;
    } else {
      n = recv(c.fd, buf, room, 0);
      if (n == 0) return fail(c, Why::kClosed, "connection closed by server");
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) break;
        return fail(c, Why::kClosed, errnoText("recv", errno));
      }
    }
    c.framer.commit(static_cast<std::size_t>(n));
    std::string_view msg;
    std::string error;
    for (;;) {
      const auto r = c.framer.next(&msg, &error);
      if (r == SipFramer::Result::kNeedMore) break;
      if (r == SipFramer::Result::kError) return fail(c, Why::kProtocol, "reply stream: " + error);
      handleMessage(c, msg);
      if (c.state != State::kReady) return;
    }
  }
  if (opt_.mode == Mode::kCall) sendDueByes(c);
  if (opt_.mode != Mode::kHandshake) fill(c);
}

void LoadWorker::readDatagrams(Conn& c) {
  // Call mode reads up to kCallRxBatch datagrams per system call (a call brings four replies);
  // a short batch means the socket is drained, so no last read ends in EAGAIN.  Options mode
  // reads one per call, as it always did, until EAGAIN.
  const std::size_t batch = rxMsgs_.size();
  for (;;) {
    for (std::size_t i = 0; i < batch; ++i) {
      rxIov_[i] = {rxBuf_.data() + i * kRxSize, kRxSize};
      rxMsgs_[i] = {};
      rxMsgs_[i].msg_hdr.msg_iov = &rxIov_[i];
      rxMsgs_[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = recvmmsg(c.fd, rxMsgs_.data(), static_cast<unsigned>(batch), MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      if (errno == ECONNREFUSED) {  // ICMP port unreachable: the server is not there
        // Call mode: the calls time out and are counted then, once each.
        if (opt_.mode != Mode::kCall) ++stats_.connectErrors;
        if (stats_.firstError.empty()) stats_.firstError = errnoText("udp recv", errno);
        continue;
      }
      return fail(c, Why::kClosed, errnoText("recv", errno));
    }
    for (int i = 0; i < n; ++i) {
      handleMessage(c, std::string_view(static_cast<const char*>(rxIov_[i].iov_base), rxMsgs_[i].msg_len));
      if (c.state != State::kReady) return;
    }
    if (batch > 1 && static_cast<std::size_t>(n) < batch) break;
  }
  if (opt_.mode == Mode::kCall) sendDueByes(c);
  fill(c);
}

void LoadWorker::handleMessage(Conn& c, std::string_view msg) {
  if (opt_.mode == Mode::kCall) return handleCallReply(c, msg);
  const int code = statusCode(msg);
  if (code < 0) {
    ++stats_.protocolErrors;
    if (stats_.firstError.empty()) stats_.firstError = "server sent something that is not a SIP reply";
    return;
  }
  if (code < 200) return;  // provisional: the request is still in flight
  if (c.inflight == 0) {
    if (opt_.proto == Proto::kUdp) {
      ++stats_.lateReplies;
    } else {
      ++stats_.protocolErrors;
      if (stats_.firstError.empty()) stats_.firstError = "reply without a request in flight";
    }
    return;
  }
  stats_.latency.record(nanos(now_ - c.sent[c.head]));
  c.head = (c.head + 1) % c.sent.size();
  --c.inflight;
  c.lastProgress = now_;
  if (code != 200) {
    ++stats_.non200;
    if (stats_.firstError.empty()) stats_.firstError = "reply " + std::string(msg.substr(0, msg.find('\r')));
  }
  if (opt_.mode == Mode::kOptions) {
    if (code == 200) ++stats_.ops;
  } else {
    startClose(c, code == 200);
  }
}

// Handshake mode: close_notify (TLS) and FIN, then wait for the server to close its side, so
// the server's work for this connection is finished before the next cycle starts.
void LoadWorker::startClose(Conn& c, bool ok) {
  c.cycleOk = ok;
  c.state = State::kClosing;
  c.lastProgress = now_;
  if (c.ssl) {
    SSL_shutdown(c.ssl.get());
    takeSslErrors();
  }
  shutdown(c.fd, SHUT_WR);
  readUntilEof(c);
}

void LoadWorker::readUntilEof(Conn& c) {
  char buf[4096];
  for (;;) {
    if (c.ssl) {
      // SSL_read also takes in TLS 1.3 session tickets, which --resume needs.
      const int r = SSL_read(c.ssl.get(), buf, sizeof buf);
      if (r > 0) continue;
      const int err = SSL_get_error(c.ssl.get(), r);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
      takeSslErrors();
      return finishCycle(c);
    }
    const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) continue;
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    return finishCycle(c);
  }
}

void LoadWorker::finishCycle(Conn& c) {
  if (opt_.resume && c.ssl) {
    SSL_SESSION* s = SSL_get1_session(c.ssl.get());
    if (s != nullptr && SSL_SESSION_is_resumable(s)) c.session.reset(s);
    else SSL_SESSION_free(s);
  }
  closeSocket(c, false);
  c.state = State::kIdle;
  if (c.cycleOk) {
    ++stats_.ops;
    stats_.latency.record(nanos(now_ - c.opStart));
  }
  if (moreTickets()) startConnect(c);
}

void LoadWorker::fail(Conn& c, Why why, std::string_view detail) {
  // Call mode: every call in flight on the connection is a failed call.
  const std::uint64_t pending = opt_.mode == Mode::kCall ? c.calls.abandon() : c.inflight;
  const std::uint64_t lost = pending > 0 ? pending : 1;
  switch (why) {
    case Why::kConnect: stats_.connectErrors += lost; break;
    case Why::kTls: stats_.tlsErrors += lost; break;
    case Why::kTimeout: stats_.timeouts += lost; break;
    case Why::kProtocol: stats_.protocolErrors += lost; break;
    case Why::kClosed: stats_.closedByPeer += lost; break;
  }
  if (stats_.firstError.empty()) stats_.firstError = std::string(detail);
  takeSslErrors();
  closeSocket(c, true);
  c.inflight = 0;
  c.head = 0;
  if (opt_.mode != Mode::kHandshake && !loading_) {
    c.state = State::kFailed;  // setup phase: measure with the connections that work
    return;
  }
  // A connection that has not worked for --timeout gives up, so a run ends (also with --count)
  // when the server has gone away.
  if (c.downSince == Clock::time_point{}) {
    c.downSince = now_;
  } else if (now_ - c.downSince > std::chrono::duration<double>(opt_.timeout)) {
    c.state = State::kFailed;
    return;
  }
  c.state = State::kIdle;
  c.retryAt = now_ + kRetryDelay;
}

void LoadWorker::closeSocket(Conn& c, bool abort) {
  c.ssl.reset();
  if (c.fd >= 0) {
    if (abort) {
      // A reset instead of a FIN: a failed connection leaves no TIME_WAIT behind.
      const linger lg{1, 0};
      setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(c.fd);
    c.fd = -1;
  }
  c.out.clear();
  c.outOff = 0;
  c.framer.clear();
}

}  // namespace sipsd::bench

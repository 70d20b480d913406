// One TCP (or module-transport) connection: its socket, read/write events, framer, send queue,
// session stack and timers, and all of its I/O — reads through the session into the framer,
// writes (direct, then queued and bounded), connect completion, deadlines and close. The owner
// worker (ConnectionHost) keeps the table, schedules, and gets complete messages and the close.
// Internal to the engine (includes libevent); only the owner worker's thread touches it.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/event/libevent.h"
#include "core/net/connection_host.h"
#include "core/net/send_queue.h"
#include "core/net/sock_addr.h"
#include "core/net/stream_framer.h"
#include "core/net/transport.h"

namespace sipsd {

class Connection : private FramerSink {
 public:
  enum class State : uint8_t { Connecting, Handshaking, Open, Closed };
  // Why the periodic sweep closes a connection (see expiry()).
  enum class Expiry : uint8_t { None, ConnectTimeout, HandshakeTimeout, MessageTimeout, SendTimeout, Idle };

  // Sends waiting for an outbound connection to be established: where to report, and how.
  struct Waiter {
    int worker;
    std::function<void(bool, const std::string&)> done;
  };

  Connection(ConnectionHost& host, uint64_t id, int fd, Proto proto, bool outbound, size_t maxMessage)
      : host_(host), id_(id), fd_(fd), proto_(proto), outbound_(outbound), framer_(maxMessage) {}
  ~Connection() override;  // closes the socket if still open
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // ---- set-up (before attach) ----
  void setEndpoints(const SockAddr& local, const SockAddr& remote) {
    local_ = local;
    remote_ = remote;
  }
  void setReuseKey(std::string key) { reuseKey_ = std::move(key); }
  void setSendTimeout(std::chrono::milliseconds t) { sendTimeout_ = t; }
  void setSession(std::unique_ptr<TransportSession> s, std::chrono::milliseconds handshakeTimeout) {
    session_ = std::move(s);
    handshakeTimeout_ = handshakeTimeout;
  }
  // Inbound: accepted at `now`; with a session the handshake deadline counts from here, so
  // bytes trickled during the handshake do not extend it. `countedPerIp`: holds an IpLimiter slot.
  void beginAccepted(SteadyClock::time_point now, bool countedPerIp);
  // Outbound: a non-blocking connect is under way, to finish by now + timeout.
  void beginConnect(SteadyClock::time_point now, std::chrono::milliseconds timeout);
  // Creates the read/write events on `base`; false when libevent cannot.
  bool attach(event_base* base);
  void startReading();
  // Outbound with a session: its first flight (held until the socket is connected), then
  // waits for the connect to finish. An error is returned (the connection is then closed).
  Result<void> startOutbound();

  // ---- I/O ----
  // Application data: through the session when there is one, written at once when the
  // socket takes it, else queued (bounded). false: the connection is closed or closing.
  bool send(std::string&& data);
  // The end of the owner's loop round (after corkUntilRoundEnd): writes what the round queued.
  void endRoundCork() {
    if (corked_) uncork();
  }
  // Flushes what is queued (a session's close_notify first), then closes.
  void closeGracefully();
  // Closes at once (nothing more is written); reason is logged with the peer at `level`.
  void close(const std::string& reason, int level);
  // Why this connection must be closed at `now`, or Expiry::None.
  Expiry expiry(SteadyClock::time_point now, std::chrono::milliseconds msgReadTimeout,
                std::chrono::milliseconds lifetime) const;

  // Outbound with a session, just established: the peer may still refuse our certificate
  // (TLS 1.3 judges client authentication after our Finished, with an alert). Waiters hear
  // "ok" only when the peer's first record after the handshake arrives (confirm), or at the
  // verdict deadline when it stays silent: twice the handshake's own time, at least 250 ms.
  void awaitVerdict();
  bool verdictPending() const { return verdictPending_; }
  bool verdictDue(SteadyClock::time_point now) const { return verdictPending_ && now >= verdictBy_; }
  void confirm() {
    verdictPending_ = false;
    host_.confirmed(*this);
  }

  void addWaiter(Waiter w) { waiters_.push_back(std::move(w)); }
  std::vector<Waiter> takeWaiters() {
    std::vector<Waiter> w = std::move(waiters_);
    waiters_.clear();
    return w;
  }

  // ---- what the owner reads ----
  uint64_t id() const { return id_; }
  Proto proto() const { return proto_; }
  bool outbound() const { return outbound_; }
  State state() const { return state_; }
  bool closed() const { return state_ == State::Closed; }
  bool closing() const { return closeAfterFlush_; }
  const SockAddr& local() const { return local_; }
  const SockAddr& remote() const { return remote_; }
  const std::string& reuseKey() const { return reuseKey_; }
  TransportSession* session() const { return session_.get(); }
  bool countedPerIp() const { return countedPerIp_; }
  void clearCountedPerIp() { countedPerIp_ = false; }
  SteadyClock::time_point acceptedAt() const { return acceptedAt_; }
  std::string peer() const { return std::string(protoName(proto_)) + " " + remote_.str(); }

  // Inbound connections that have not completed a message, oldest first: the owner's eviction
  // candidates when its table is full (intrusive, so no allocation per connection).
  struct FreshLink {
    Connection* prev = nullptr;
    Connection* next = nullptr;
    bool linked = false;
  } fresh;

  // ---- streamed writes (a reply produced as the peer reads it, e.g. a large RPC answer) ----
  size_t queued() const { return out_.bytes(); }
  // `fn` runs once, at the end of a flush that leaves `lowWater` bytes or fewer queued (it
  // replaces an earlier one); dropped unrun when the connection closes.
  void onDrained(size_t lowWater, std::function<void()> fn) {
    drainLow_ = lowWater;
    drainFn_ = std::move(fn);
  }

 private:
  // FramerSink
  bool onMessage(std::string_view msg) override;
  void onPing() override;

  void onReadable();
  void onWritable();
  // Ends a read's cork: writes what its messages queued. False if the connection closed.
  bool uncork();
  // Writes the queue as far as the socket takes; arms/disarms the write event. False if closed.
  bool flush(SteadyClock::time_point now);
  // Bytes off the socket: through the session then into the framer. false: closed.
  bool consume(std::string_view data);
  bool feedFramer(std::string_view plain);
  void markEstablished();
  // Wire bytes: written at once when possible, else queued (bounded). false: closed.
  bool queueWire(std::string&& wire);
  void armWrite(bool on);
  void finishFlush();
  // Closes the socket and drops the events (no callback can follow); idempotent.
  void closeSocket();

  ConnectionHost& host_;
  uint64_t id_;
  int fd_;
  Proto proto_;
  bool outbound_;
  State state_ = State::Open;
  bool closeAfterFlush_ = false;
  bool writeArmed_ = false;
  // Set while a read is being processed: replies are queued and written together (one
  // sendmsg for all the answers to a pipelined batch) when the read is done.
  bool corked_ = false;
  bool countedPerIp_ = false;  // holds a slot in Server::ipLimiter()
  SockAddr local_;
  SockAddr remote_;
  std::string reuseKey_;
  ev::EventPtr readEv_;
  ev::EventPtr writeEv_;
  StreamFramer framer_;
  SendQueue out_;
  std::unique_ptr<TransportSession> session_;  // the top of the session stack, null when plain
  std::vector<Waiter> waiters_;
  SteadyClock::time_point lastActivity_{};
  SteadyClock::time_point lastWriteProgress_{};  // while out_ is non-empty
  SteadyClock::time_point deadline_{};           // connect or handshake deadline
  std::chrono::milliseconds sendTimeout_{10000};
  std::chrono::milliseconds handshakeTimeout_{30000};
  // Slow-peer defence (issue 9). msgStart_: when the first byte not yet part of a complete
  // message arrived (zero: nothing pending), for tcp_msg_read_timeout. lastActivity_ above moves
  // only on complete messages and write progress, so a trickle cannot keep a connection alive.
  SteadyClock::time_point msgStart_{};
  SteadyClock::time_point acceptedAt_{};
  uint64_t messages_ = 0;  // complete messages and keep-alive pings received
  bool verdictPending_ = false;  // see awaitVerdict()
  SteadyClock::time_point verdictBy_{};
  size_t drainLow_ = 0;             // see onDrained()
  std::function<void()> drainFn_;
};

}  // namespace sipsd

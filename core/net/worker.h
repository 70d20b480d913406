// One worker: an event loop thread that owns its listening sockets (one per listen, bound
// with SO_REUSEPORT), its UDP sockets and every connection it accepted or opened. All methods
// except the constructor, bind*() and udpSocketFor() run on the worker's own thread.
// Internal to the engine; the public API is core/net/server.h.
#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/event/event_loop.h"
#include "core/event/libevent.h"
#include "core/log_throttle.h"
#include "core/net/connect_backoff.h"
#include "core/net/connection.h"
#include "core/net/server.h"
#include "core/net/stream_framer.h"

namespace sipsd {

class Worker : private FramerSink {
 public:
  Worker(Server& server, int index);
  ~Worker() override;

  std::string init();
  // Binds one listen; `addr` may have port 0 only for the first worker. Returns the bound
  // address through `bound`, or an error.
  std::string bindListen(const ListenSpec& spec, SockAddr& bound);
  void start();
  EventLoop& loop() { return loop_; }
  int index() const { return index_; }
  const Server& server() const { return server_; }
  static Worker* current();  // the worker whose thread this is, or null

  // ---- on the worker thread ----
  bool send(uint64_t id, std::string data);
  bool close(uint64_t id);
  // Forwarded: a reuse lookup on another worker found this worker's connection.
  void sendTo(Proto proto, const SockAddr& to, std::string data, const ConnectOptions& opt, SendDone done,
              int replyWorker, bool mayForward);
  void beginStop(SteadyClock::time_point deadline);

  // ---- any thread ----
  // The UDP socket bound to `from` (or the first of `family`), -1 if none. Sockets live until
  // the worker is destroyed, so the fd may be used from other threads for sendto().
  int udpSocketFor(const SockAddr& from, int family) const;
  WorkerStats stats() const;
  void countUdpOut(size_t bytes);

 private:
  struct Listener {
    Proto proto;
    SockAddr addr;
    int fd = -1;
    ev::EventPtr ev;
    ev::EventPtr resumeEv;  // re-arms ev after an accept backoff (out of file descriptors)
  };
  struct Counters {
    std::atomic<uint64_t> open{0}, accepted{0}, connected{0}, msgIn{0}, msgOut{0}, bytesIn{0}, bytesOut{0},
        errors{0}, stalled{0}, idle{0}, rejected{0};
    std::atomic<uint64_t> httpOverUdp{0};  // HTTP requests dropped on a datagram listener
    std::atomic<uint64_t> refusedPerIp{0}, refusedNoFd{0}, evicted{0}, timedOut{0};
    std::atomic<uint64_t> openTls{0};  // the TLS part of `open` (metrics: connections by transport)
  };
  struct RemoteKey {
    Proto proto;
    SockAddr addr;
    std::string key;
    bool operator==(const RemoteKey& o) const { return proto == o.proto && addr == o.addr && key == o.key; }
  };
  struct RemoteKeyHash {
    size_t operator()(const RemoteKey& k) const {
      return SockAddrHash()(k.addr) ^ (std::hash<std::string>()(k.key) * 31) ^ size_t(k.proto);
    }
  };

  // FramerSink for the connection being fed.
  bool onMessage(std::string_view msg) override;
  void onPing() override;

  void onAccept(Listener& l);
  void onUdp(Listener& l);
  void onReadable(Connection& c);
  void onWritable(Connection& c);
  // Ends a read's cork: writes what its messages queued. False if the connection closed.
  bool uncork(Connection& c);
  // Writes the queue as far as the socket takes; arms/disarms the write event. False if closed.
  bool flushQueue(Connection& c, SteadyClock::time_point now);
  void onSweep();
  // Bytes off the socket: through the session (TLS) then into the framer. false: c closed.
  bool consume(Connection& c, std::string_view data);
  bool feedFramer(Connection& c, std::string_view plain);
  void established(Connection& c);
  // Plain application data: encrypted when there is a session, then queued.
  bool sendData(Connection& c, std::string&& data);
  // Wire bytes: written at once when possible, else queued (bounded). false: c closed.
  bool queueWire(Connection& c, std::string&& wire);
  void armWrite(Connection& c, bool on);
  Connection* registerConn(std::unique_ptr<Connection> conn);
  Connection* openOutbound(Proto proto, const SockAddr& to, const std::string& key, const ConnectOptions& opt,
                           std::string& err);
  // Closes at once (nothing more is written); reason is logged with the peer at `level`.
  void closeConn(Connection& c, const std::string& reason, int level);
  void finishFlush(Connection& c);
  void reply(int worker, const SendDone& done, bool ok, const std::string& err);
  void maybeFinishStop();
  bool logAllowed(SteadyClock::time_point& last);
  // The list of inbound connections without a complete message yet (oldest first).
  void freshLink(Connection& c);
  void freshUnlink(Connection& c);
  // Table full: closes this worker's oldest inbound connection that has not completed a
  // message. False when there is none (the new one is refused).
  bool evictOne(const SockAddr& newcomer);
  // accept() failed with EMFILE/ENFILE: refuse the waiting client with the spare descriptor,
  // or pause the listener briefly, so a full fd table never turns into a busy accept loop.
  void onAcceptNoFd(Listener& l, int err);

  Server& server_;
  int index_;
  EventLoop loop_;  // declared first among the libevent users: destroyed last
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<std::unique_ptr<Listener>> udp_;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> conns_;
  std::unordered_map<RemoteKey, uint64_t, RemoteKeyHash> byRemote_;  // this worker's reusable ones
  std::vector<std::unique_ptr<Connection>> graveyard_;  // closed, freed outside their callbacks
  ev::EventPtr reapEv_;
  ev::EventPtr sweepEv_;
  ev::EventPtr stopEv_;
  uint64_t nextSeq_ = 1;
  Connection* feeding_ = nullptr;
  std::string scratch_;  // socket reads
  std::string plain_;    // decrypted bytes of one read
  bool stopping_ = false;
  bool loopEnded_ = false;
  SteadyClock::time_point lastRejectLog_{}, lastDgramLog_{}, lastAcceptErrLog_{};
  Counters n_;
  LogThrottle dgramLog_, httpDgramLog_;  // dropped datagrams, logged at most once a second
  LogThrottle refuseLog_, perIpLog_, evictLog_, timeoutLog_, noFdLog_;  // likewise for connections
  Connection* freshHead_ = nullptr;  // oldest inbound connection without a complete message
  Connection* freshTail_ = nullptr;
  SteadyClock::time_point readTime_{};  // when the read being processed began (one clock call per read)
  int spareFd_ = -1;
  LogThrottle inputLog_;  // framing and TLS errors of peers  // held in reserve: closed to accept-and-close a client when out of descriptors
  ConnectBackoff backoff_;  // outbound destinations whose connect or handshake failed lately
  // An outbound connection is usable: its waiters learn it and its destination's failures are forgotten.
  void confirmOutbound(Connection& c);
};

}  // namespace sipsd

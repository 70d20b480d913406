// One worker: an event loop thread that owns its listening sockets (one per listen, bound
// with SO_REUSEPORT), its UDP sockets and the table of every connection it accepted or opened.
// It accepts, connects, finds connections for reuse, sweeps deadlines and stops; each
// Connection does its own reads, writes and close and reports back (ConnectionHost). All
// methods except the constructor, bind*() and udpSocketFor() run on the worker's own thread.
// Internal to the engine; the public API is core/net/server.h.
#pragma once
#include <array>
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
#include "core/net/udp_batch_reader.h"
#include "core/net/udp_send_batch.h"

namespace sipsd {

class Worker : private ConnectionHost {
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
  // Streamed replies: fn(room) runs on a later turn of this loop once connection `id` has at
  // most a quarter of maxSendQueue queued; room = the bytes it may queue then. false when the
  // connection is gone or closing; fn is dropped unrun if it closes before then.
  bool whenDrained(uint64_t id, std::function<void(size_t room)> fn);

  // ---- any thread ----
  // The UDP socket bound to `from` (or the first of `family`), -1 if none. Sockets live until
  // the worker is destroyed, so the fd may be used from other threads for sendto().
  int udpSocketFor(const SockAddr& from, int family) const;
  WorkerStats stats() const;
  void countUdpOut(size_t bytes);
  // udp_send_batch, on this worker's thread: a datagram out of socket fd, sent with the others
  // of this loop round in one sendmmsg (a refusal is logged then); `sent`, when set, gets the
  // outcome (0 or the errno). false: it can never be sent.
  bool queueUdp(int fd, const SockAddr& to, std::string_view data, UdpSendBatch::Done sent = {});

 private:
  struct Listener {
    Proto proto;
    SockAddr addr;
    int fd = -1;
    ev::EventPtr ev;
    ev::EventPtr resumeEv;  // re-arms ev after an accept backoff (out of file descriptors)
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

  ConnectionHost& host() { return *this; }  // what a new Connection reports to
  // ConnectionHost: what this worker's connections report.
  void dispatch(Connection& c, std::string_view msg) override;
  void firstMessage(Connection& c) override;
  void established(Connection& c) override;
  void confirmed(Connection& c) override;
  void closed(Connection& c, const std::string& reason, const ClosedAs& as) override;

  void onAccept(Listener& l);
  void onUdp(Listener& l);
  void onDatagram(Listener& l, size_t i, const ServerOptions& o);  // datagram i of udpReader_'s batch
  void onSweep();
  // Sets up the events and enters c in the tables; null (c dropped) when libevent cannot.
  Connection* registerConn(std::unique_ptr<Connection> conn);
  // A new outbound connection (connect under way), or why not.
  Result<Connection*> openOutbound(Proto proto, const SockAddr& to, const std::string& key, const ConnectOptions& opt);
  void reply(int worker, const SendDone& done, bool ok, const std::string& err);
  void maybeFinishStop();
  bool logAllowed(SteadyClock::time_point& last);
  // The list of inbound connections without a complete message yet (oldest first).
  void freshLink(Connection& c);
  void freshUnlink(Connection& c);
  // Table full: closes this worker's oldest inbound connection that has not completed a
  // message. False when there is none (the new one is refused).
  bool evictOne(const SockAddr& newcomer);
  // evictOne found nothing here: another worker with a connection to evict closes its oldest
  // one when its loop runs next (the table is one over until then). False when none has one.
  bool evictElsewhere(const SockAddr& newcomer);
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
  bool stopping_ = false;
  bool loopEnded_ = false;
  SteadyClock::time_point lastRejectLog_{}, lastDgramLog_{}, lastAcceptErrLog_{};
  LogThrottle dgramLog_, httpDgramLog_;  // dropped datagrams, logged at most once a second
  LogThrottle refuseLog_, perIpLog_, evictLog_, timeoutLog_, noFdLog_;  // likewise for connections
  Connection* freshHead_ = nullptr;  // oldest inbound connection without a complete message
  Connection* freshTail_ = nullptr;
  std::atomic<size_t> freshCount_{0};   // length of the fresh list, read by other workers
  std::atomic<size_t> evictClaims_{0};  // evictions other workers posted here, not yet run
  int spareFd_ = -1;  // held in reserve: closed to accept-and-close a client when out of descriptors
  ConnectBackoff backoff_;  // outbound destinations whose connect or handshake failed lately
  std::unique_ptr<UdpBatchReader> udpReader_;  // UDP reads, one recvmmsg per wake-up
  // udp_send_batch: UDP sends of one loop round, sent by udpFlushEv_ (activated by the first
  // one, it runs after the round's other callbacks, before the loop waits again).
  std::unique_ptr<UdpSendBatch> udpOut_;
  ev::EventPtr udpFlushEv_;
  std::string initUdpBatch();
  // Stream connections that wrote outside their reads this round (ids: one may close meanwhile),
  // written at the round's end by udpFlushEv_ (ConnectionHost::corkUntilRoundEnd).
  bool corkUntilRoundEnd(Connection& c) override;
  void onRoundEnd();
  std::vector<uint64_t> roundCorked_, roundCorkedSpare_;
};

}  // namespace sipsd

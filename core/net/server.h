// The network engine's public face: worker threads with their own event loops, listeners on
// every worker (SO_REUSEPORT), connections with bounded send queues, outbound connects with
// reuse, stream framing, non-blocking DNS, timers and graceful stop. No libevent or OpenSSL
// types appear here; secure transports plug in through core/net/transport.h.
//
// Threads: every MessageHandler call runs on the worker that owns the socket/connection.
// Connections belong to one worker for life; sends from elsewhere are posted to the owner.
// Nothing here blocks a worker: reads, writes, connects, TLS handshakes and DNS are all
// readiness driven, and a peer that stops reading is cut at its send timeout or queue bound.
#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/net/local_addresses.h"
#include "core/net/sock_addr.h"
#include "core/net/transport.h"
#include "core/net/transport_registry.h"
#include "core/script_context.h"

namespace sipsd {

struct ListenSpec {
  Proto proto = Proto::None;
  SockAddr addr;  // port 0: the kernel picks one port, then every worker binds that same port
};

struct ServerOptions {
  int workers = 0;                                   // children; <= 0: number of cores
  std::vector<ListenSpec> listens;
  std::chrono::seconds connectionLifetime{120};      // tcp_connection_lifetime (idle)
  size_t maxConnections = 20000;                     // tcp_max_connections (all workers)
  std::chrono::milliseconds connectTimeout{10000};
  std::chrono::milliseconds sendTimeout{10000};      // plain TCP; a transport's connections use its sendTimeout()
  size_t maxMessageSize = 65536;                     // headers + body, stream and datagram
  size_t maxSendQueue = 1 << 20;                     // bytes queued per connection before closing it
  TransportRegistry transports;                      // what modules serve, by protocol (tls)
  // Slow-peer defence (issue 9): a message must be complete this long after its first byte
  // (tcp_msg_read_timeout), and one source IP may hold at most this many inbound connections
  // (tcp_max_connections_per_ip, 0 = no limit).
  std::chrono::milliseconds msgReadTimeout{20000};
  size_t maxConnectionsPerIp = 256;
  std::vector<LocalAddresses::Alias> aliases;        // alias=: other names for us
  std::vector<SocketName> advertised;                // advertise= of listens[i] (empty host: none)
  // Outbound connects/handshakes that fail put the destination in a per-worker negative cache
  // for this long, doubling to the max (tcp_connect_backoff / _max; 0 = off): retransmissions
  // get the same 503 at once instead of a new connection each.
  std::chrono::milliseconds connectBackoff{5000};
  std::chrono::milliseconds connectBackoffMax{60000};
  // udp_reply_steering: a BPF program sends a UDP reply to the worker its tm branch names
  // (UdpReplySteering); off leaves the choice to the kernel's hash.
  bool udpReplySteering = true;
  // udp_send_batch: a worker's UDP sends of one loop round leave in one sendmmsg per socket
  // (UdpSendBatch); off: one sendto each, at once.
  bool udpSendBatch = true;
};

// Per-worker counters (monotonic except connectionsOpen), read from any thread for core.stats.
struct WorkerStats {
  int worker = -1;
  uint64_t connectionsOpen = 0;
  uint64_t accepted = 0;         // inbound TCP/TLS connections
  uint64_t connected = 0;        // outbound connections established
  uint64_t messagesIn = 0;       // complete messages handed to the handler
  uint64_t messagesOut = 0;      // sends accepted for delivery
  uint64_t bytesIn = 0;
  uint64_t bytesOut = 0;
  uint64_t errors = 0;           // framing errors, failed handshakes/connects, dropped datagrams
  uint64_t closedStalled = 0;    // closed for a full send queue or send timeout
  uint64_t closedIdle = 0;       // closed after connectionLifetime without traffic
  uint64_t rejected = 0;         // accepts refused at maxConnections
  uint64_t httpOverUdp = 0;      // HTTP requests dropped on a datagram listener (never answered)
  uint64_t refusedPerIp = 0;     // accepts refused at maxConnectionsPerIp
  uint64_t refusedNoFd = 0;      // accepts refused for want of a file descriptor (EMFILE/ENFILE)
  uint64_t evicted = 0;          // connections closed to make room at maxConnections
  uint64_t timedOut = 0;         // cut at msgReadTimeout or the TLS handshake timeout
  std::array<uint64_t, kProtoCount> connectionsByProto{};  // connectionsOpen by protocol (metrics)
};

// Called on the owning worker thread for every complete message (datagram or framed stream
// message). `raw` is valid only during the call.
using MessageHandler = std::function<void(std::string_view raw, const ReceiveInfo& rcv)>;
using SendDone = std::function<void(bool ok, const std::string& err)>;

class Worker;
class ConnIndex;
class TimerThread;
class IpLimiter;

class Server {
 public:
  Server(ServerOptions opts, MessageHandler handler);
  ~Server();  // stops (flush bound 0) if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every listen on every worker and starts the worker and timer threads.
  // Returns "" or an error naming the address (nothing keeps running on error).
  // beforeServe runs on this thread once the workers exist and their listeners are bound, but
  // before any worker thread reads a socket: modules set up per-worker state there (workerInit),
  // so no message can reach a worker ahead of it. An error stops the start.
  std::string start(const std::function<std::string()>& beforeServe = {});
  // Graceful stop, safe from any non-worker thread (e.g. a signal-watching thread) and
  // idempotent: closes listeners, sends TLS close_notify, flushes queues for at most
  // flushBound, then ends the loops and joins them. From a worker thread it only requests
  // the stop (see requestStop) since a worker cannot join itself.
  void stop(std::chrono::milliseconds flushBound);
  // Non-blocking: starts the graceful stop; wait() returns when it is complete.
  void requestStop(std::chrono::milliseconds flushBound);
  // Blocks until the server has stopped (all workers ended and joined).
  void wait();

  // Queue `data` on a connection. On its owner worker it is written at once when the socket
  // allows; from elsewhere it is posted to the owner. false if the connection is gone.
  bool sendOnConnection(uint64_t connId, std::string data);
  // A live TCP/TLS connection to `remote` over proto, inbound or outbound (0 if none): where
  // a relayed reply goes when its request came over a stream.
  uint64_t findConnection(Proto proto, const SockAddr& remote) const;
  // Close a connection after its queued data is flushed (TLS: after close_notify).
  bool closeConnection(uint64_t connId);
  // Streamed replies (Worker::whenDrained, on the connection's owner worker): fn(room) runs
  // once at most a quarter of maxSendQueue is queued on it. false if the connection is gone.
  bool whenDrained(uint64_t connId, std::function<void(size_t room)> fn);
  // A datagram out of the UDP socket bound to `from` (or the first udp listen of to's family).
  // false when there is no such socket or the kernel refuses it right now (never blocks).
  // With udp_send_batch, `sent` (when set) gets the kernel's answer at the round's end: 0 or the
  // errno (CoreApi::sendUdpReported).
  bool sendUdp(const SockAddr& from, const SockAddr& to, std::string_view data,
               std::function<void(int err)> sent = {});
  // Send over proto (UDP/TCP/TLS) to `to`, reusing an open connection to `to` opened with the
  // same Transport::clientDomainKey (RFC 5923 style reuse), else opening one (non-blocking
  // connect, connectTimeout; TLS via transport->connect). `done` (optional) runs on the
  // calling worker (on the owning worker when called from outside the workers) with ok once
  // the data is queued on an established connection, or false and a reason (refused, timeout,
  // handshake failure, queue full).
  void sendTo(Proto proto, const SockAddr& to, std::string data, const ConnectOptions& opt, SendDone done);
  // Non-blocking DNS (A/AAAA, /etc/hosts, literals) on the current worker's loop; the callback
  // runs on that worker (on the timer thread when called from outside the workers).
  void resolve(const std::string& host,
               std::function<void(std::optional<SockAddr> addrNoPort, std::string err)> cb);
  // Periodic callback on the main timer thread (not a worker); CoreApi::addTimer lands here.
  void addTimer(std::chrono::milliseconds every, std::function<void()> fn);

  int currentWorker() const;  // -1 outside this server's worker threads
  int workerCount() const { return int(workers_.size()); }
  std::vector<WorkerStats> stats() const;
  // The first bound listen address for proto and family (AF_INET/AF_INET6; 0 = any), with the
  // actual port (useful for Via and when a listen asked for port 0).
  std::optional<SockAddr> listenAddressFor(Proto proto, int family) const;
  // Every bound listen address (ports resolved), in the order of ServerOptions::listens.
  // Written only by start(), so callers may keep the reference (no copy per relayed reply).
  const std::vector<ListenSpec>& listenAddresses() const { return bound_; }
  size_t connectionCount() const { return openConnections_.load(); }
  // Our listen/advertise/alias set ("is this us?"), built by start() before any worker runs.
  const LocalAddresses& localAddresses() const { return local_; }

  // ---- engine internals (used by Worker) ----
  const ServerOptions& options() const { return opts_; }
  const MessageHandler& handler() const { return handler_; }
  ConnIndex& index() { return *index_; }
  Worker* worker(int i) { return workers_[size_t(i)].get(); }
  std::atomic<size_t>& openConnections() { return openConnections_; }
  const TransportRegistry& transports() const { return opts_.transports; }
  IpLimiter& ipLimiter() { return *ipLimiter_; }  // inbound connections per source IP

 private:
  Worker* pickWorker();  // for calls from outside the workers
  Worker* ownerOf(uint64_t connId);  // the worker a connection id names, nullptr when none

  ServerOptions opts_;
  MessageHandler handler_;
  std::unique_ptr<ConnIndex> index_;
  std::unique_ptr<TimerThread> timers_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<ListenSpec> bound_;
  LocalAddresses local_;
  std::atomic<size_t> openConnections_{0};
  std::atomic<unsigned> rr_{0};
  struct StopState;
  std::unique_ptr<StopState> stop_;
  std::unique_ptr<IpLimiter> ipLimiter_;
};

}  // namespace sipsd

// One load thread of sipsd-bench: an epoll loop driving its share of the client connections
// through connect -> [TLS handshake] -> OPTIONS->200 exchanges (options mode), through complete
// calls (call mode, the calls' state machine is CallSet) or through repeated
// connect/handshake/close cycles (handshake mode), counting outcomes and latencies.
#pragma once
#include "bench_options.h"
#include "call_set.h"
#include "latency_histogram.h"
#include "request_builder.h"
#include "run_control.h"
#include "sip_framer.h"
#include "ssl_handles.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sipsd::bench {

struct WorkerStats {
  std::uint64_t ops = 0;            // OPTIONS answered 200 / handshake cycles / calls completed
  std::uint64_t connectErrors = 0;  // refused, unreachable, no local port
  std::uint64_t tlsErrors = 0;      // handshake failed (verification, protocol)
  std::uint64_t timeouts = 0;       // no answer within --timeout
  std::uint64_t non200 = 0;         // final replies other than 200 (call mode: other than 2xx)
  std::uint64_t protocolErrors = 0; // unframeable stream, unexpected message (call mode: a reply
                                    // that breaks a call's flow, or matches no call of ours)
  std::uint64_t closedByPeer = 0;   // connection closed/reset with work pending
  std::uint64_t reconnects = 0;     // options mode: connections re-opened during the run
  std::uint64_t resumed = 0;        // handshake mode: handshakes that resumed a session
  std::uint64_t lateReplies = 0;    // UDP: replies after their request timed out (not errors)
  LatencyHistogram latency;         // call mode: INVITE -> 2xx
  LatencyHistogram byeLatency;      // call mode: BYE -> 2xx
  std::string firstError;           // the first failure, for the report

  std::uint64_t errors() const {
    return connectErrors + tlsErrors + timeouts + non200 + protocolErrors + closedByPeer;
  }
  void merge(const WorkerStats& o);
};

class LoadWorker {
 public:
  // Connections with index % threads == index belong to this worker.
  LoadWorker(int index, const BenchOptions& opt, SSL_CTX* ctx, RunControl& rc);
  ~LoadWorker();
  LoadWorker(const LoadWorker&) = delete;
  LoadWorker& operator=(const LoadWorker&) = delete;

  void run();  // the thread body; arrives at each RunControl barrier exactly once
  const WorkerStats& stats() const { return stats_; }  // of the measured phase
  // --warmup: operations completed and failed during the warm-up (not in stats()).
  std::uint64_t warmupOps() const { return warmupOps_; }
  std::uint64_t warmupErrors() const { return warmupErrors_; }

 private:
  enum class State { kIdle, kConnecting, kHandshaking, kReady, kClosing, kFailed };
  enum class Why { kConnect, kTls, kTimeout, kProtocol, kClosed };

  struct Conn {
    int fd = -1;
    std::uint32_t index = 0;
    std::uint32_t gen = 0;      // tells stale epoll events of a previous socket apart
    State state = State::kIdle;
    SslPtr ssl;
    SslSessionPtr session;      // --resume: the session to offer on the next connect
    SipFramer framer;
    std::string out;            // bytes not yet accepted by the socket / SSL_write
    std::size_t outOff = 0;
    RequestBuilder request;
    CallSet calls;              // call mode: the calls in flight on this connection
    std::vector<Clock::time_point> sent;  // ring of send times of requests in flight (FIFO)
    std::size_t head = 0;
    std::size_t inflight = 0;
    std::uint64_t seq = 0;
    bool cycleOk = false;       // handshake mode: this cycle's handshake (and request) succeeded
    Clock::time_point opStart{}, lastProgress{}, retryAt{};
    Clock::time_point downSince{};  // first failure since the connection last worked ({} = up)
  };

  void setupPhase();
  void loadPhase();
  void closeAll();
  bool busy(const Conn& c) const;
  void poll(int timeoutMs);
  void onEvent(Conn& c, std::uint32_t events);
  void checkTimers();
  bool moreTickets();

  void startConnect(Conn& c);
  void onConnected(Conn& c);
  void driveHandshake(Conn& c);
  void onReady(Conn& c);
  void readStream(Conn& c);
  void readDatagrams(Conn& c);
  void handleMessage(Conn& c, std::string_view msg);
  void fill(Conn& c);
  void sendRequest(Conn& c);
  void handleCallReply(Conn& c, std::string_view msg);
  void callTimers(Conn& c);
  void sendDueByes(Conn& c);
  void emit(Conn& c);
  int pollTimeoutMs() const;
  void noteError(std::string_view what);
  void flush(Conn& c);
  void startClose(Conn& c, bool ok);
  void readUntilEof(Conn& c);
  void finishCycle(Conn& c);
  void fail(Conn& c, Why why, std::string_view detail);
  void closeSocket(Conn& c, bool abort);

  const int index_;
  const BenchOptions& opt_;
  SSL_CTX* ctx_;
  RunControl& rc_;
  const std::string transport_;  // "UDP"/"TCP"/"TLS" for the Via header
  const std::string targetIp_;
  int epfd_ = -1;
  bool loading_ = false;         // between the two barriers
  bool exhausted_ = false;       // no more tickets: finish what is in flight
  Clock::time_point now_{};
  Clock::time_point loadStart_{};  // when the current load phase (warm-up or measured) began
  std::vector<Conn> conns_;
  std::vector<char> rxBuf_;       // UDP: the datagrams of one recvmmsg
  std::vector<iovec> rxIov_;
  std::vector<mmsghdr> rxMsgs_;
  WorkerStats stats_;
  std::uint64_t warmupOps_ = 0, warmupErrors_ = 0;
};

}  // namespace sipsd::bench

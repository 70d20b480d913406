// One TCP or TLS connection as its owner worker sees it: socket, events, framer, send queue,
// transport session and timers. Internal to the engine (includes libevent); only the owner
// worker's thread ever touches a Connection.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/event/libevent.h"
#include "core/net/send_queue.h"
#include "core/net/sock_addr.h"
#include "core/net/stream_framer.h"
#include "core/net/transport.h"

namespace sipsd {

using SteadyClock = std::chrono::steady_clock;

class Connection {
 public:
  enum class State : uint8_t { Connecting, Handshaking, Open, Closed };

  Connection(uint64_t id, int fd, Proto proto, bool outbound, size_t maxMessage)
      : id_(id), fd_(fd), proto_(proto), outbound_(outbound), framer_(maxMessage) {}
  ~Connection();  // closes the socket if still open
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Closes the socket and drops the events (no callback can follow); idempotent.
  void closeSocket();
  bool closed() const { return state_ == State::Closed; }
  std::string peer() const { return std::string(protoName(proto_)) + " " + remote_.str(); }

  // Sends waiting for an outbound connection to be established: where to report, and how.
  struct Waiter {
    int worker;
    std::function<void(bool, const std::string&)> done;
  };

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
  SockAddr local_;
  SockAddr remote_;
  std::string reuseKey_;
  ev::EventPtr readEv_;
  ev::EventPtr writeEv_;
  StreamFramer framer_;
  SendQueue out_;
  std::unique_ptr<TransportSession> session_;
  std::vector<Waiter> waiters_;
  SteadyClock::time_point lastActivity_{};
  SteadyClock::time_point lastWriteProgress_{};  // while out_ is non-empty
  SteadyClock::time_point deadline_{};           // connect or handshake deadline
  std::chrono::milliseconds sendTimeout_{10000};
  // Slow-peer defence (issue 9). msgStart_: when the first byte not yet part of a complete
  // message arrived (zero: nothing pending), for tcp_msg_read_timeout. lastActivity_ above moves
  // only on complete messages and write progress, so a trickle cannot keep a connection alive.
  SteadyClock::time_point msgStart_{};
  SteadyClock::time_point acceptedAt_{};
  uint64_t messages_ = 0;        // complete messages and keep-alive pings received
  bool countedPerIp_ = false;    // holds a slot in Server::ipLimiter()
  // Inbound connections that have not completed a message, oldest first: eviction candidates
  // when the connection table is full (intrusive, so no allocation per connection).
  Connection* freshPrev_ = nullptr;
  Connection* freshNext_ = nullptr;
  bool inFreshList_ = false;
  // Outbound TLS: the handshake completed on our side, but the peer may still refuse our
  // certificate (TLS 1.3 judges client authentication after our Finished, with an alert).
  // Waiters hear "ok" only when the peer's first record after the handshake arrives, or at
  // verdictBy_ when it stays silent.
  bool verdictPending_ = false;
  SteadyClock::time_point verdictBy_{};
};

}  // namespace sipsd

// The calls in flight on one connection of sipsd-bench's call mode and their state machine, the
// flow of proxy/call_uac.py:
//   INVITE -> 1xx (ignored) -> 2xx: ACK, BYE after the hang-up delay -> 2xx to the BYE: completed.
// A non-2xx final reply (ACKed), a 2xx without a To tag, a reply that does not fit the call's state
// and a call not finished within the timeout are failed calls; a reply to a call that is no longer
// in flight is late, not a failure.  No socket here: the caller sends what is appended to `out`
// (one request per call of a method, so a datagram transport sends each on its own) and counts the
// outcomes, which keeps the state machine testable with plain strings.
#pragma once
#include "call_builder.h"
#include "call_reply.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sipsd::bench {

class CallSet {
 public:
  using Clock = std::chrono::steady_clock;

  enum class Outcome {
    kNothing,    // 1xx, a retransmitted 2xx (ACKed again)
    kAnswered,   // 2xx to the INVITE: ACK appended; `latency` = INVITE -> 2xx
    kCompleted,  // 2xx to the BYE: the call is done; `latency` = BYE -> 2xx
    kRejected,   // failed call: non-2xx final reply to the INVITE (ACK appended) or to the BYE
    kBadReply,   // failed call: a reply that breaks the flow (no To tag, wrong method for the state)
    kLate,       // a reply for a call that is no longer in flight (e.g. it timed out)
    kStray,      // not a reply, no Call-ID/CSeq, or a Call-ID that is not ours
  };
  struct Result {
    Outcome outcome = Outcome::kNothing;
    Clock::duration latency{};
    std::string detail;  // for failures: what happened (kept only while no first error is known)
  };

  // `window` calls at most in flight; the BYE goes `hangup` after the ACK; a call not completed
  // `timeout` after its INVITE fails.
  void prepare(std::string_view transport, std::string_view local, std::string_view ruri, std::string_view tag,
               std::size_t window, Clock::duration hangup, Clock::duration timeout);

  std::size_t inflight() const { return calls_.size() - free_.size(); }
  bool full() const { return free_.empty(); }

  // Starts a call: appends its INVITE to *out.  Only when !full().
  void start(Clock::time_point now, std::string* out);
  // A message received; may append one ACK to *out.  `wantDetail`: fill Result::detail on failures.
  Result onMessage(std::string_view msg, Clock::time_point now, std::string* out, bool wantDetail);
  // Appends the BYE of the next call whose hang-up time has come; false when none is due.
  bool nextBye(Clock::time_point now, std::string* out);
  // When the next BYE is due, if one is pending.
  std::optional<Clock::time_point> nextByeDue() const;
  // Fails the calls in flight for longer than the timeout and returns how many (scans the table
  // at most every 50 ms).
  std::size_t expire(Clock::time_point now);
  // Drops every call in flight (the connection is lost) and returns how many there were.
  std::size_t abandon();

 private:
  enum class State : std::uint8_t { kFree, kInviting, kAnswered, kByeSent };
  struct Call {
    State state = State::kFree;
    std::uint64_t seq = 0;
    Clock::time_point started{}, byeSent{};
    CallBuilder::Dialog dialog;
  };
  struct PendingBye {
    Clock::time_point due;
    std::uint32_t slot;
    std::uint64_t seq;
  };

  void finish(std::uint32_t slot);
  void pushBye(const PendingBye& p);

  CallBuilder builder_;
  CallReply reply_;
  std::vector<Call> calls_;
  std::vector<std::uint32_t> free_;  // free slots (a stack)
  // BYEs waiting for their hang-up time, in due order (a ring; the delay is the same for all).
  // An entry whose call has since ended is skipped when it comes up.
  std::vector<PendingBye> byes_;
  std::size_t byeHead_ = 0, byeCount_ = 0;
  std::uint64_t nextSeq_ = 0;
  Clock::duration hangup_{}, timeout_{};
  Clock::time_point nextSweep_{};
};

}  // namespace sipsd::bench

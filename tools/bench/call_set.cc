// The call-mode state machine (see call_set.h).
#include "call_set.h"

namespace sipsd::bench {
namespace {

constexpr auto kSweepEvery = std::chrono::milliseconds(50);

}  // namespace

void CallSet::prepare(std::string_view transport, std::string_view local, std::string_view ruri, std::string_view tag,
                      std::size_t window, Clock::duration hangup, Clock::duration timeout) {
  builder_.prepare(transport, local, ruri, tag);
  calls_.assign(window, Call{});
  free_.clear();
  for (std::size_t i = window; i-- > 0;) free_.push_back(static_cast<std::uint32_t>(i));
  byes_.assign(window, PendingBye{});
  byeHead_ = byeCount_ = 0;
  hangup_ = hangup;
  timeout_ = timeout;
  nextSweep_ = {};
}

void CallSet::start(Clock::time_point now, std::string* out) {
  const std::uint32_t slot = free_.back();
  free_.pop_back();
  Call& c = calls_[slot];
  c.state = State::kInviting;
  c.seq = ++nextSeq_;
  c.started = now;
  builder_.invite(slot, c.seq, out);
}

void CallSet::finish(std::uint32_t slot) {
  calls_[slot].state = State::kFree;
  free_.push_back(slot);
}

void CallSet::pushBye(const PendingBye& p) {
  if (byeCount_ == byes_.size()) {
    // Stale entries of timed-out calls can fill the ring: grow it, keeping the order.
    std::vector<PendingBye> bigger(byes_.size() * 2 + 1);
    for (std::size_t i = 0; i < byeCount_; ++i) bigger[i] = byes_[(byeHead_ + i) % byes_.size()];
    byes_.swap(bigger);
    byeHead_ = 0;
  }
  byes_[(byeHead_ + byeCount_) % byes_.size()] = p;
  ++byeCount_;
}

CallSet::Result CallSet::onMessage(std::string_view msg, Clock::time_point now, std::string* out, bool wantDetail) {
  Result r;
  std::string error;
  std::uint32_t slot = 0;
  std::uint64_t seq = 0;
  if (!reply_.parse(msg, &error)) {
    r.outcome = Outcome::kStray;
    if (wantDetail) r.detail = error;
    return r;
  }
  if (!builder_.parseCallId(reply_.callId(), &slot, &seq) || slot >= calls_.size()) {
    r.outcome = Outcome::kStray;
    if (wantDetail) r.detail = "reply with a Call-ID that is not one of ours: " + std::string(reply_.callId());
    return r;
  }
  Call& c = calls_[slot];
  if (c.state == State::kFree || c.seq != seq) {
    r.outcome = Outcome::kLate;
    return r;
  }
  const int code = reply_.status();
  if (code < 200) return r;  // 100/180: the call goes on
  const std::string_view method = reply_.cseqMethod();
  auto fail = [&](Outcome o, std::string_view why) {
    r.outcome = o;
    if (wantDetail) r.detail = std::string(why) + ": " + std::string(reply_.statusLine());
    finish(slot);
    return r;
  };
  if (method == "INVITE") {
    if (c.state != State::kInviting) {
      // A retransmitted 2xx: its ACK was lost or is on the way; ACK again (RFC 3261 13.2.2.4).
      if (code < 300) builder_.ack(slot, seq, c.dialog, out);
      return r;
    }
    if (code >= 300) {
      builder_.ackFailure(slot, seq, reply_.to(), out);
      return fail(Outcome::kRejected, "INVITE answered");
    }
    if (!reply_.toHasTag()) return fail(Outcome::kBadReply, "2xx to INVITE without a To tag");
    if (reply_.tooManyRoutes()) return fail(Outcome::kBadReply, "2xx to INVITE with more than 16 Record-Route entries");
    c.dialog.target.assign(reply_.contactUri().empty() ? builder_.ruri() : reply_.contactUri());
    c.dialog.to.assign(reply_.to());
    c.dialog.route.clear();
    reply_.appendRouteHeader(&c.dialog.route);
    builder_.ack(slot, seq, c.dialog, out);
    c.state = State::kAnswered;
    pushBye({now + hangup_, slot, seq});
    r.outcome = Outcome::kAnswered;
    r.latency = now - c.started;
    return r;
  }
  if (method == "BYE" && c.state == State::kByeSent) {
    if (code >= 300) return fail(Outcome::kRejected, "BYE answered");
    r.outcome = Outcome::kCompleted;
    r.latency = now - c.byeSent;
    finish(slot);
    return r;
  }
  return fail(Outcome::kBadReply, "reply that does not fit the call's state");
}

bool CallSet::nextBye(Clock::time_point now, std::string* out) {
  while (byeCount_ > 0) {
    const PendingBye p = byes_[byeHead_];
    if (p.due > now) return false;
    byeHead_ = (byeHead_ + 1) % byes_.size();
    --byeCount_;
    Call& c = calls_[p.slot];
    if (c.state != State::kAnswered || c.seq != p.seq) continue;  // the call ended meanwhile
    c.state = State::kByeSent;
    c.byeSent = now;
    builder_.bye(p.slot, p.seq, c.dialog, out);
    return true;
  }
  return false;
}

std::optional<CallSet::Clock::time_point> CallSet::nextByeDue() const {
  if (byeCount_ == 0) return std::nullopt;
  return byes_[byeHead_].due;
}

std::size_t CallSet::expire(Clock::time_point now) {
  if (now < nextSweep_ || inflight() == 0) return 0;
  nextSweep_ = now + kSweepEvery;
  std::size_t n = 0;
  for (std::uint32_t i = 0; i < calls_.size(); ++i) {
    if (calls_[i].state != State::kFree && now - calls_[i].started > timeout_) {
      finish(i);
      ++n;
    }
  }
  return n;
}

std::size_t CallSet::abandon() {
  const std::size_t n = inflight();
  for (std::uint32_t i = 0; i < calls_.size(); ++i)
    if (calls_[i].state != State::kFree) finish(i);
  byeHead_ = byeCount_ = 0;
  return n;
}

}  // namespace sipsd::bench

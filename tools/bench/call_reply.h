// The parts of a SIP reply that sipsd-bench's call mode needs to drive a dialog: status, Call-ID,
// CSeq method, the To header (with the callee's tag), the Contact URI and the Record-Route entries,
// from which it builds the route set of ACK and BYE.  Views into the message: valid while it is.
#pragma once
#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace sipsd::bench {

class CallReply {
 public:
  static constexpr std::size_t kMaxRoutes = 16;

  // Reads `msg`, a complete reply.  false (with *error saying what) when it is not a reply or
  // lacks Call-ID or CSeq: such a message cannot be matched to a call.  Everything else (no
  // To tag, no Contact, too many Record-Routes) is left for the call's state machine to judge.
  bool parse(std::string_view msg, std::string* error);

  int status() const { return status_; }
  std::string_view statusLine() const { return statusLine_; }
  std::string_view callId() const { return callId_; }
  std::string_view cseqMethod() const { return cseqMethod_; }
  std::string_view to() const { return to_; }       // the To value as received
  bool toHasTag() const;                            // a `tag` parameter on To
  std::string_view contactUri() const { return contactUri_; }  // first Contact's URI; empty if none
  std::size_t routeCount() const { return routeCount_; }
  std::string_view route(std::size_t i) const { return routes_[i]; }  // in the order received
  bool tooManyRoutes() const { return tooManyRoutes_; }

  // The UAC's route set (RFC 3261 12.1.2): "Route: " + the Record-Route entries in reverse order,
  // comma-separated, + CRLF.  Appends nothing when the reply had no Record-Route.
  void appendRouteHeader(std::string* out) const;

 private:
  void addRoutes(std::string_view value);

  int status_ = 0;
  std::string_view statusLine_, callId_, cseqMethod_, to_, contactUri_;
  std::array<std::string_view, kMaxRoutes> routes_{};
  std::size_t routeCount_ = 0;
  bool tooManyRoutes_ = false;
};

}  // namespace sipsd::bench

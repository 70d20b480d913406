// The requests of one call in sipsd-bench's call mode, the flow of proxy/call_uac.py:
// INVITE (no body), then for the 2xx an ACK and later a BYE that follow the dialog (Request-URI =
// the callee's Contact, Route = the reversed Record-Routes, To with the callee's tag), and for a
// non-2xx final reply the ACK of the INVITE transaction.  The text that is the same for every call
// of a connection is prepared once; a request is a handful of appends.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace sipsd::bench {

class CallBuilder {
 public:
  // What the 2xx to the INVITE fixed for ACK and BYE.
  struct Dialog {
    std::string target;  // the callee's Contact URI (the Request-URI if the 2xx had none)
    std::string to;      // the To value with the callee's tag
    std::string route;   // "Route: ...\r\n" or empty
  };

  // transport: "UDP"/"TCP"/"TLS"; local: this socket's "ip:port"; ruri: the callee;
  // tag: unique per connection, part of every Call-ID, From tag and branch.
  void prepare(std::string_view transport, std::string_view local, std::string_view ruri, std::string_view tag);

  // Call `seq` (unique per connection) in slot `slot` of the connection's call table: the slot
  // is written into the Call-ID so a reply finds its call without a lookup table.
  void invite(std::uint32_t slot, std::uint64_t seq, std::string* out) const;
  void ack(std::uint32_t slot, std::uint64_t seq, const Dialog& d, std::string* out) const;
  void bye(std::uint32_t slot, std::uint64_t seq, const Dialog& d, std::string* out) const;
  // ACK for a non-2xx final reply: part of the INVITE transaction (same branch, Request-URI,
  // no Route), To as in the reply (RFC 3261 17.1.1.3).
  void ackFailure(std::uint32_t slot, std::uint64_t seq, std::string_view to, std::string* out) const;

  // slot and seq of a Call-ID this builder made; false for any other Call-ID.
  bool parseCallId(std::string_view callId, std::uint32_t* slot, std::uint64_t* seq) const;

  std::string_view ruri() const { return ruri_; }

 private:
  void appendInDialog(std::string_view method, std::uint32_t slot, std::uint64_t seq, std::string_view requestUri,
                      std::string_view branchSuffix, std::string_view route, std::string_view to,
                      std::string_view cseq, std::string* out) const;

  std::string ruri_;
  std::string via_;      // "Via: SIP/2.0/UDP ip:port;branch=z9hG4bK-TAG-"
  std::string from_;     // "Max-Forwards: 70\r\nFrom: <sip:uac@bench.example>;tag=TAG-"
  std::string callId_;   // "-TAG@sipsd-bench": what follows "slot.seq" in the Call-ID
  std::string contact_;  // "Contact: <sip:uac@ip:port[;transport=tls]>\r\n"
};

}  // namespace sipsd::bench

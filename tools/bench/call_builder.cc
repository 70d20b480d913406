// Request text of the call mode (see call_builder.h).
#include "call_builder.h"

#include <charconv>

namespace sipsd::bench {
namespace {

struct Num {
  char buf[24];
  std::size_t len;
  explicit Num(std::uint64_t v) : len(static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf)) {}
  std::string_view view() const { return {buf, len}; }
};

}  // namespace

void CallBuilder::prepare(std::string_view transport, std::string_view local, std::string_view ruri,
                          std::string_view tag) {
  ruri_.assign(ruri);
  via_.assign("Via: SIP/2.0/").append(transport).append(" ").append(local).append(";branch=z9hG4bK-")
      .append(tag).append("-");
  from_.assign("Max-Forwards: 70\r\nFrom: <sip:uac@bench.example>;tag=").append(tag).append("-");
  callId_.assign("-").append(tag).append("@sipsd-bench");
  contact_.assign("Contact: <sip:uac@").append(local);
  if (transport == "TLS") contact_.append(";transport=tls");
  else if (transport == "TCP") contact_.append(";transport=tcp");
  contact_.append(">\r\n");
}

void CallBuilder::invite(std::uint32_t slot, std::uint64_t seq, std::string* out) const {
  const Num s(seq), k(slot);
  out->append("INVITE ").append(ruri_).append(" SIP/2.0\r\n")
      .append(via_).append(s.view()).append("i;rport\r\n")
      .append(from_).append(s.view())
      .append("\r\nTo: <").append(ruri_).append(">\r\nCall-ID: ")
      .append(k.view()).append(".").append(s.view()).append(callId_)
      .append("\r\nCSeq: 1 INVITE\r\n").append(contact_)
      .append("Content-Length: 0\r\n\r\n");
}

void CallBuilder::appendInDialog(std::string_view method, std::uint32_t slot, std::uint64_t seq,
                                 std::string_view requestUri, std::string_view branchSuffix, std::string_view route,
                                 std::string_view to, std::string_view cseq, std::string* out) const {
  const Num s(seq), k(slot);
  out->append(method).append(" ").append(requestUri).append(" SIP/2.0\r\n")
      .append(via_).append(s.view()).append(branchSuffix).append(";rport\r\n")
      .append(route)
      .append(from_).append(s.view())
      .append("\r\nTo: ").append(to).append("\r\nCall-ID: ")
      .append(k.view()).append(".").append(s.view()).append(callId_)
      .append("\r\nCSeq: ").append(cseq).append("\r\nContent-Length: 0\r\n\r\n");
}

void CallBuilder::ack(std::uint32_t slot, std::uint64_t seq, const Dialog& d, std::string* out) const {
  appendInDialog("ACK", slot, seq, d.target, "a", d.route, d.to, "1 ACK", out);
}

void CallBuilder::bye(std::uint32_t slot, std::uint64_t seq, const Dialog& d, std::string* out) const {
  appendInDialog("BYE", slot, seq, d.target, "b", d.route, d.to, "2 BYE", out);
}

void CallBuilder::ackFailure(std::uint32_t slot, std::uint64_t seq, std::string_view to, std::string* out) const {
  appendInDialog("ACK", slot, seq, ruri_, "i", {}, to, "1 ACK", out);
}

bool CallBuilder::parseCallId(std::string_view callId, std::uint32_t* slot, std::uint64_t* seq) const {
  const char* p = callId.data();
  const char* end = p + callId.size();
  auto r = std::from_chars(p, end, *slot);
  if (r.ec != std::errc() || r.ptr == end || *r.ptr != '.') return false;
  r = std::from_chars(r.ptr + 1, end, *seq);
  if (r.ec != std::errc()) return false;
  return std::string_view(r.ptr, static_cast<std::size_t>(end - r.ptr)) == callId_;
}

}  // namespace sipsd::bench

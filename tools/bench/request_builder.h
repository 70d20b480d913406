// Builds the OPTIONS requests sipsd-bench sends: valid SIP with a unique branch and Call-ID per
// request, Via with rport, Content-Length: 0.  The constant text is prepared once per connection
// so a request costs three small appends and three integer conversions.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace sipsd::bench {

class RequestBuilder {
 public:
  // transport: "UDP"/"TCP"/"TLS"; local: this socket's "ip:port"; ruri: the Request-URI;
  // tag: unique per connection (also the From tag and the Call-ID prefix).
  void prepare(std::string_view transport, std::string_view local, std::string_view ruri, std::string_view tag);
  // Appends the request with CSeq/sequence number `seq` to `out`.
  void append(std::uint64_t seq, std::string* out) const;

 private:
  std::string head_;  // up to the branch's sequence number
  std::string mid_;   // up to the Call-ID's sequence number
  std::string tail_;  // "@sipsd-bench\r\nCSeq: "
  static constexpr std::string_view kEnd =
      " OPTIONS\r\nUser-Agent: sipsd-bench\r\nContent-Length: 0\r\n\r\n";
};

}  // namespace sipsd::bench

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
  // users > 0 (--ruri-users): each request's Request-URI user part gets a number drawn uniformly
  // at random from 0..users-1 appended (sip:u@d -> sip:u4711@d), from a generator seeded by
  // `tag`, so the requests ask for AoRs spread over a whole location table; the To header keeps
  // `ruri` as given. `ruri` must then have a user part.
  void prepare(std::string_view transport, std::string_view local, std::string_view ruri, std::string_view tag,
               std::uint64_t users = 0);
  // Appends the request with CSeq/sequence number `seq` to `out`.
  void append(std::uint64_t seq, std::string* out);

 private:
  std::string head_;  // up to the branch's sequence number
  std::string mid_;   // up to the Call-ID's sequence number
  std::string tail_;  // "@sipsd-bench\r\nCSeq: "
  std::string user_;  // users > 0: "OPTIONS sip:USER" (head_ then starts at the '@')
  std::uint64_t users_ = 0;
  std::uint64_t rng_ = 0;  // xorshift64* state
  static constexpr std::string_view kEnd =
      " OPTIONS\r\nUser-Agent: sipsd-bench\r\nContent-Length: 0\r\n\r\n";
};

}  // namespace sipsd::bench

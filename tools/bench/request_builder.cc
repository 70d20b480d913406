// OPTIONS request text (see request_builder.h).
#include "request_builder.h"

#include <charconv>

namespace sipsd::bench {

void RequestBuilder::prepare(std::string_view transport, std::string_view local, std::string_view ruri,
                             std::string_view tag) {
  head_.clear();
  head_.append("OPTIONS ").append(ruri).append(" SIP/2.0\r\nVia: SIP/2.0/").append(transport).append(" ")
      .append(local).append(";branch=z9hG4bK-").append(tag).append("-");
  mid_.clear();
  mid_.append(";rport\r\nMax-Forwards: 70\r\nFrom: <sip:bench@").append(local).append(">;tag=").append(tag)
      .append("\r\nTo: <").append(ruri).append(">\r\nCall-ID: ").append(tag).append("-");
  tail_ = "@sipsd-bench\r\nCSeq: ";
}

void RequestBuilder::append(std::uint64_t seq, std::string* out) const {
  char num[24];
  const auto n = static_cast<std::size_t>(std::to_chars(num, num + sizeof num, seq).ptr - num);
  const std::string_view s(num, n);
  out->append(head_).append(s).append(mid_).append(s).append(tail_).append(s).append(kEnd);
}

}  // namespace sipsd::bench

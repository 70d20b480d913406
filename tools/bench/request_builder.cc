// OPTIONS request text (see request_builder.h).
#include "request_builder.h"

#include <charconv>

namespace sipsd::bench {

void RequestBuilder::prepare(std::string_view transport, std::string_view local, std::string_view ruri,
                             std::string_view tag, std::uint64_t users) {
  head_.clear();
  user_.clear();
  users_ = 0;
  const std::size_t at = ruri.find('@');
  if (users > 0 && at != std::string_view::npos) {
    users_ = users;
    user_.append("OPTIONS ").append(ruri.substr(0, at));
    head_.append(ruri.substr(at));
    // Seeded per connection (FNV-1a of the tag) so connections ask in different orders.
    rng_ = 1469598103934665603ull;
    for (const char ch : tag) rng_ = (rng_ ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
    if (rng_ == 0) rng_ = 1;
  } else {
    head_.append("OPTIONS ").append(ruri);
  }
  head_.append(" SIP/2.0\r\nVia: SIP/2.0/").append(transport).append(" ")
      .append(local).append(";branch=z9hG4bK-").append(tag).append("-");
  mid_.clear();
  mid_.append(";rport\r\nMax-Forwards: 70\r\nFrom: <sip:bench@").append(local).append(">;tag=").append(tag)
      .append("\r\nTo: <").append(ruri).append(">\r\nCall-ID: ").append(tag).append("-");
  tail_ = "@sipsd-bench\r\nCSeq: ";
}

void RequestBuilder::append(std::uint64_t seq, std::string* out) {
  char num[24];
  if (users_ > 0) {
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    // Scaled to 0..users-1 by a multiply, not a modulo (no bias worth speaking of, no division).
    const auto user = static_cast<std::uint64_t>(
        (static_cast<unsigned __int128>(rng_ * 2685821657736338717ull) * users_) >> 64);
    const auto u = static_cast<std::size_t>(std::to_chars(num, num + sizeof num, user).ptr - num);
    out->append(user_).append(num, u);
  }
  const auto n = static_cast<std::size_t>(std::to_chars(num, num + sizeof num, seq).ptr - num);
  const std::string_view s(num, n);
  out->append(head_).append(s).append(mid_).append(s).append(tail_).append(s).append(kEnd);
}

}  // namespace sipsd::bench

// The baseline responder's only "SIP logic": a fixed-shape 200 OK made by copying the request's
// Via/From/To/Call-ID/CSeq lines (full and compact names), adding a To tag when absent.
// Deliberately no parser: it is the floor sipsd is measured against, not a SIP implementation.
#pragma once
#include <string>
#include <string_view>

namespace sipsd::bench {

class ReplyBuilder {
 public:
  // Appends the 200 OK for `request` (a complete framed message) to `out`.  Returns false and
  // appends nothing for replies, ACKs and anything without a request line.
  static bool append200(std::string_view request, std::string* out);
};

}  // namespace sipsd::bench

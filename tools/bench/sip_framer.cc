// Content-Length framing for the benchmark tools (see sip_framer.h).
#include "sip_framer.h"

#include "sip_text.h"

#include <cstring>

namespace sipsd::bench {

char* SipFramer::writable(std::size_t min, std::size_t* size) {
  if (start_ == end_) {
    start_ = end_ = scan_ = 0;
  } else if (buf_.size() - end_ < min && start_ > 0) {
    std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
    end_ -= start_;
    scan_ -= start_;
    start_ = 0;
  }
  if (buf_.size() - end_ < min) buf_.resize(end_ + min);
  *size = buf_.size() - end_;
  return buf_.data() + end_;
}

SipFramer::Result SipFramer::next(std::string_view* msg, std::string* error) {
  // Keep-alives (RFC 5626 CRLF pings) between messages carry nothing.
  while (end_ - start_ >= 2 && buf_[start_] == '\r' && buf_[start_ + 1] == '\n') {
    start_ += 2;
    if (scan_ < start_) scan_ = start_;
  }
  if (start_ == end_) return Result::kNeedMore;
  if (scan_ < start_) scan_ = start_;
  const std::string_view data(buf_.data() + start_, end_ - start_);
  const std::size_t from = scan_ - start_ >= 3 ? scan_ - start_ - 3 : 0;
  const std::size_t hdrEnd = data.find("\r\n\r\n", from);
  if (hdrEnd == std::string_view::npos) {
    scan_ = end_;
    if (data.size() > kMaxHeader) {
      *error = "header block larger than 64 KiB";
      return Result::kError;
    }
    return Result::kNeedMore;
  }
  const auto body = contentLength(data.substr(0, hdrEnd + 2));
  if (!body) {
    *error = "malformed Content-Length";
    return Result::kError;
  }
  const std::size_t total = hdrEnd + 4 + *body;
  if (data.size() < total) {
    scan_ = start_ + hdrEnd;  // header found; only the body is missing
    return Result::kNeedMore;
  }
  *msg = data.substr(0, total);
  start_ += total;
  scan_ = start_;
  return Result::kMessage;
}

}  // namespace sipsd::bench

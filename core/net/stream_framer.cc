// Stream framing and datagram checks for SIP and HTTP/1.x (see stream_framer.h).
#include "core/net/stream_framer.h"

#include <algorithm>
#include <cstring>

#include "core/parser/header_section.h"
#include "core/parser/parse_util.h"

namespace sipsd {
namespace {

using parse::ieq;

// Whether the first line of `d` is an HTTP/1.x request line ("METHOD TARGET HTTP/1.x").
bool isHttpRequestLine(std::string_view d) {
  const void* nl = std::memchr(d.data(), '\n', std::min<size_t>(d.size(), 8192));
  std::string_view line = nl ? d.substr(0, size_t(static_cast<const char*>(nl) - d.data())) : d;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() < 9) return false;
  std::string_view version = line.substr(line.size() - 9);
  return version[0] == ' ' && ieq(version.substr(1, 7), "http/1.") && (version[8] == '0' || version[8] == '1');
}

}  // namespace

size_t StreamFramer::parse(std::string_view v, FramerSink& sink, std::string& err) {
  size_t pos = 0;
  for (;;) {
    if (pendingTotal_ == 0) {
      // Leading CRLFs: a double CRLF is a keep-alive ping, a single one a pong (or noise).
      while (pos < v.size() && (v[pos] == '\r' || v[pos] == '\n')) {
        std::string_view rest = v.substr(pos);
        if (rest.size() >= 4 && rest.substr(0, 4) == "\r\n\r\n") {
          sink.onPing();
          pos += 4;
        } else if (rest == "\r\n" || rest == "\r\n\r" || rest == "\r") {
          return pos;  // may become a ping with the next read
        } else if (rest.size() >= 2 && rest[0] == '\r' && rest[1] == '\n') {
          pos += 2;
        } else {
          pos += 1;
        }
        scanFrom_ = 0;
      }
      if (pos >= v.size()) return pos;
      std::string_view msg = v.substr(pos);
      size_t hdrEnd = framing::headerSectionEnd(msg, scanFrom_);
      if (hdrEnd == std::string_view::npos) {
        if (msg.size() > maxMessage_) {
          err = "headers exceed " + std::to_string(maxMessage_) + " bytes without an end";
          return pos;
        }
        scanFrom_ = framing::resumeFrom(msg.size());
        return pos;
      }
      std::string_view headers = msg.substr(0, hdrEnd);
      long long cl = framing::contentLength(headers);
      if (cl == -2) {
        err = "malformed Content-Length";
        return pos;
      }
      if (cl < 0) {
        if (framing::hasHeader(headers, "transfer-encoding")) {
          err = "Transfer-Encoding is not supported (Content-Length required)";
          return pos;
        }
        cl = 0;
      }
      unsigned long long total = hdrEnd + (unsigned long long)cl;
      if (total > maxMessage_) {
        err = "message of " + std::to_string(total) + " bytes exceeds " + std::to_string(maxMessage_);
        return pos;
      }
      pendingTotal_ = size_t(total);
      scanFrom_ = 0;
    }
    if (v.size() - pos < pendingTotal_) return pos;
    std::string_view msg = v.substr(pos, pendingTotal_);
    pos += pendingTotal_;
    pendingTotal_ = 0;
    if (!sink.onMessage(msg)) return pos;
  }
}

std::string StreamFramer::feed(std::string_view data, FramerSink& sink) {
  std::string err;
  if (buf_.empty()) {
    // Zero-copy path: messages are handed out as views into the caller's buffer.
    size_t used = parse(data, sink, err);
    if (err.empty() && used < data.size()) buf_.assign(data.substr(used));
    return err;
  }
  buf_.append(data);
  // Views handed to the sink point into buf_; it is not modified until parse returns.
  size_t used = parse(buf_, sink, err);
  if (err.empty()) buf_.erase(0, used);
  return err;
}

StreamFramer::Datagram StreamFramer::checkDatagram(std::string_view d, size_t maxMessage) {
  Datagram out;
  if (d.size() > maxMessage) {
    out.error = "datagram of " + std::to_string(d.size()) + " bytes exceeds " + std::to_string(maxMessage);
    return out;
  }
  while (!d.empty() && (d.front() == '\r' || d.front() == '\n' || d.front() == '\0')) d.remove_prefix(1);
  if (d.empty()) return out;  // keep-alive
  if (isHttpRequestLine(d)) {
    out.http = true;
    out.error = "HTTP request over UDP (HTTP is answered on TCP/TLS only)";
    return out;
  }
  size_t hdrEnd = framing::headerSectionEnd(d, 0);
  if (hdrEnd == std::string_view::npos) {
    out.msg = d;  // no body separator: the parser judges the header block
    return out;
  }
  long long cl = framing::contentLength(d.substr(0, hdrEnd));
  if (cl == -2) {
    out.error = "malformed Content-Length";
    return out;
  }
  size_t bodyAvail = d.size() - hdrEnd;
  if (cl < 0) {
    out.msg = d;
    return out;
  }
  if ((unsigned long long)cl > bodyAvail) {
    out.error = "Content-Length " + std::to_string(cl) + " exceeds the " + std::to_string(bodyAvail) +
                " body bytes in the datagram";
    return out;
  }
  out.msg = d.substr(0, hdrEnd + size_t(cl));
  return out;
}

}  // namespace sipsd

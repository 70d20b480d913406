// Stream framing and datagram checks for SIP and HTTP/1.x (see stream_framer.h).
#include "core/net/stream_framer.h"

#include <algorithm>
#include <cstring>

#include "core/parser/parse_util.h"

namespace sipsd {
namespace {

using parse::ieq;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Position of "\r\n\r\n" in v at or after `from`, or npos.
size_t findHeaderEnd(std::string_view v, size_t from) {
  if (v.size() < 4) return std::string_view::npos;
  const char* p = v.data() + from;
  const char* end = v.data() + v.size();
  while (p + 4 <= end) {
    const void* cr = std::memchr(p, '\r', size_t(end - p));
    if (!cr) return std::string_view::npos;
    p = static_cast<const char*>(cr);
    if (p + 4 > end) return std::string_view::npos;
    if (p[1] == '\n' && p[2] == '\r' && p[3] == '\n') return size_t(p - v.data());
    ++p;
  }
  return std::string_view::npos;
}

bool hasChunkedEncoding(std::string_view headers) {
  size_t pos = 0;
  while (pos < headers.size()) {
    size_t eol = headers.find('\n', pos);
    std::string_view line = headers.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? headers.size() : eol + 1;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    if (ieq(trim(line.substr(0, colon)), "transfer-encoding")) return true;
  }
  return false;
}

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

long long StreamFramer::contentLength(std::string_view headers) {
  long long found = -1;
  size_t pos = 0;
  while (pos < headers.size()) {
    size_t eol = headers.find('\n', pos);
    std::string_view line = headers.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? headers.size() : eol + 1;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = trim(line.substr(0, colon));
    if (!ieq(name, "content-length") && !ieq(name, "l")) continue;
    std::string_view val = trim(line.substr(colon + 1));
    if (val.empty() || val.size() > 15) return -2;
    long long n = 0;
    for (char c : val) {
      if (c < '0' || c > '9') return -2;
      n = n * 10 + (c - '0');
    }
    if (found >= 0 && found != n) return -2;  // two different lengths: no sound framing
    found = n;
  }
  return found;
}

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
      size_t hdrEnd = findHeaderEnd(msg, scanFrom_);
      if (hdrEnd == std::string_view::npos) {
        if (msg.size() > maxMessage_) {
          err = "headers exceed " + std::to_string(maxMessage_) + " bytes without an end";
          return pos;
        }
        scanFrom_ = msg.size() >= 3 ? msg.size() - 3 : 0;
        return pos;
      }
      std::string_view headers = msg.substr(0, hdrEnd + 2);
      long long cl = contentLength(headers);
      if (cl == -2) {
        err = "malformed Content-Length";
        return pos;
      }
      if (cl < 0) {
        if (hasChunkedEncoding(headers)) {
          err = "Transfer-Encoding is not supported (Content-Length required)";
          return pos;
        }
        cl = 0;
      }
      unsigned long long total = hdrEnd + 4 + (unsigned long long)cl;
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
  size_t hdrEnd = findHeaderEnd(d, 0);
  if (hdrEnd == std::string_view::npos) {
    out.msg = d;  // no body separator: the parser judges the header block
    return out;
  }
  long long cl = contentLength(d.substr(0, hdrEnd + 2));
  if (cl == -2) {
    out.error = "malformed Content-Length";
    return out;
  }
  size_t bodyAvail = d.size() - (hdrEnd + 4);
  if (cl < 0) {
    out.msg = d;
    return out;
  }
  if ((unsigned long long)cl > bodyAvail) {
    out.error = "Content-Length " + std::to_string(cl) + " exceeds the " + std::to_string(bodyAvail) +
                " body bytes in the datagram";
    return out;
  }
  out.msg = d.substr(0, hdrEnd + 4 + size_t(cl));
  return out;
}

}  // namespace sipsd

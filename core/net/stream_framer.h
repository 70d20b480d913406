// Message boundaries on byte streams (TCP/TLS) and sanity checks on datagrams (UDP).
// SIP and HTTP/1.x share the framing: a start line, headers up to an empty line, then
// Content-Length bytes of body — as core/parser/header_section.h defines it for the parser too. The framer never copies a message that arrives whole in one
// read: it hands out views into the caller's buffer and keeps only an incomplete tail.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace sipsd {

// Receives what the framer finds. Returning false from onMessage stops the current feed
// (the connection is going away); the framer must then not be fed again.
class FramerSink {
 public:
  virtual ~FramerSink() = default;
  virtual bool onMessage(std::string_view msg) = 0;
  // A "\r\n\r\n" keep-alive ping (RFC 5626 §3.5.1); the caller answers "\r\n".
  virtual void onPing() = 0;
};

class StreamFramer {
 public:
  explicit StreamFramer(size_t maxMessage) : maxMessage_(maxMessage) {}

  // Feeds bytes read from the stream. Returns "" or, when the framing is unsound (message over
  // the size bound, malformed or negative Content-Length), the reason: the stream must be closed.
  std::string feed(std::string_view data, FramerSink& sink);
  // Bytes held for an incomplete message.
  size_t buffered() const { return buf_.size(); }

  struct Datagram {
    std::string_view msg;  // the message (body trimmed to Content-Length); empty for keep-alives
    std::string error;     // non-empty: drop the datagram and log this
    bool http = false;     // an HTTP request: never answered over a datagram (see checkDatagram)
  };
  // Checks one UDP datagram: size bound, leading CRLF keep-alives, Content-Length against the
  // bytes actually present (RFC 3261 §18.3: extra bytes are discarded, missing bytes are an error).
  // An HTTP request line is an error with `http` set: HTTP is served on streams only, since an
  // answer to a spoofable datagram source would make sipsd a reflection amplifier.
  static Datagram checkDatagram(std::string_view d, size_t maxMessage);

 private:
  // Frames as many messages as possible from `v`; returns bytes consumed or sets err.
  size_t parse(std::string_view v, FramerSink& sink, std::string& err);

  size_t maxMessage_;
  std::string buf_;          // unconsumed tail (an incomplete message or partial CRLFs)
  size_t scanFrom_ = 0;      // where the search for the end of headers resumes in buf_
  size_t pendingTotal_ = 0;  // full length of the message at buf_ start once its headers are known
};

}  // namespace sipsd

// Stream framing of SIP messages by Content-Length, for the benchmark tools: bytes read from a
// TCP/TLS stream go in, complete messages (start line + headers + body) come out as views.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sipsd::bench {

class SipFramer {
 public:
  enum class Result { kNeedMore, kMessage, kError };

  // A writable area of at least `min` bytes at the end of the buffer; fill it, then commit().
  // Invalidates views returned by next().
  char* writable(std::size_t min, std::size_t* size);
  void commit(std::size_t n) { end_ += n; }

  // The next complete message, valid until the next writable().  Leading CRLF keep-alives are
  // skipped.  kError (with *error set) when the header block is too large or Content-Length is
  // malformed: the stream cannot be resynchronised, so the caller should close it.
  Result next(std::string_view* msg, std::string* error);

  std::size_t buffered() const { return end_ - start_; }
  void clear() { start_ = end_ = scan_ = 0; }

 private:
  static constexpr std::size_t kMaxHeader = 64 * 1024;
  std::vector<char> buf_;
  std::size_t start_ = 0;  // first unconsumed byte
  std::size_t end_ = 0;    // one past the last valid byte
  std::size_t scan_ = 0;   // where to resume the CRLFCRLF search (avoids rescanning)
};

}  // namespace sipsd::bench

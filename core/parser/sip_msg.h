// A parsed SIP request/reply or HTTP/1.x request. Every string_view points into `buf`,
// which the owner keeps alive while the message is processed (no copies on the hot path).
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

namespace sipsd {

enum class HdrType : uint8_t {
  Other, Via, From, To, CallId, CSeq, Contact, MaxForwards, ContentLength, ContentType,
  Route, RecordRoute, Host, Connection, UserAgent, Server, Supported, Require, Expires
};

struct Header {
  HdrType type = HdrType::Other;
  std::string_view name;   // as written (may be compact: "v", "f", ...)
  std::string_view value;  // trimmed
  std::string_view raw;    // whole header line incl. CRLF (for removal/rewrite)
};

struct SipMsg {
  enum class Kind : uint8_t { Request, Reply, HttpRequest };
  Kind kind = Kind::Request;
  std::string_view buf;      // the whole message
  std::string_view firstLine;
  // request (SIP or HTTP)
  std::string_view method;
  std::string_view ruri;     // request-URI (SIP) or request-target (HTTP)
  std::string_view version;  // "SIP/2.0" "HTTP/1.1"
  // reply
  int status = 0;
  std::string_view reason;
  std::vector<Header> headers;
  std::string_view body;

  // Set by every parseMessage() (unique per parse in the process, 0: not parsed): per-message
  // caches (nthVia's top Via) tell a reused SipMsg's parses apart. A copy gets 0, since what
  // such a cache holds points into the original's headers.
  struct ParseId {
    uint64_t value = 0;
    ParseId() = default;
    ParseId(const ParseId&) {}
    ParseId& operator=(const ParseId&) {
      value = 0;
      return *this;
    }
  } parseId;

  bool isRequest() const { return kind != Kind::Reply; }
  bool isHttp() const { return kind == Kind::HttpRequest; }
};

}  // namespace sipsd

// HTTP/1.1 responses for HTTP requests arriving on a SIP listener (XML-RPC, /health ...): the
// one response writer used by the core (its answer to requests a script leaves unanswered) and
// the sl, http and xmlrpc modules, so every HTTP answer sipsd sends has the same header set.
#pragma once
#include <string>
#include <string_view>

#include "core/parser/sip_msg.h"

namespace sipsd {

// Whether the connection stays open after the response (RFC 9112 §9.3): HTTP/1.1 unless a
// Connection header lists "close"; HTTP/1.0 only when it lists "keep-alive"; other versions close.
bool httpKeepAlive(const SipMsg& req);

struct HttpResponse {
  int code = 200;
  std::string_view reason = "OK";
  std::string_view contentType;   // empty: no Content-Type header
  std::string_view body;
  std::string_view extraHeaders;  // complete header lines (a missing final CRLF is added)
  bool keepAlive = true;          // false: "Connection: close"
  bool http10Peer = false;        // a 1.0 client that asked for keep-alive is told so explicitly
  bool headOnly = false;          // answer to HEAD: headers (with the body's length), no body
  // The body follows later, produced in parts (a streamed RPC answer): no Content-Length; a
  // 1.1 peer gets "Transfer-Encoding: chunked", a 1.0 peer a body that ends with the connection
  // (keepAlive must then be false). `body` is ignored.
  bool streamed = false;
};

// "HTTP/1.1 CODE REASON", Date, Server, Content-Type (when given and a body is allowed),
// Content-Length (not for 1xx/204; 0 for 304), Connection (close, or keep-alive for a 1.0
// peer), the extra header lines, then the body (never for HEAD, 1xx, 204, 304; RFC 9110 §6.4.1).
std::string buildHttpResponse(const HttpResponse& r);

// The same for a response to `req`: keep-alive, 1.0 peer and HEAD taken from the request.
std::string buildHttpResponse(const SipMsg& req, int code, std::string_view reason,
                              std::string_view contentType, std::string_view body,
                              std::string_view extraHeaders = {});

}  // namespace sipsd

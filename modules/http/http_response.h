// HTTP/1.1 responses for requests that arrived through the core's parser (SipMsg of kind
// HttpRequest): status line, Date/Server/Content-Type/Content-Length, and the keep-alive
// decision of RFC 9112 §9.3. Shared by the http and xmlrpc modules (a pic static library).
#pragma once
#include <string>
#include <string_view>

#include "core/parser/sip_msg.h"

namespace sipsd {

struct ScriptContext;

namespace http {

// Whether the connection stays open after answering `req`: HTTP/1.1 unless it says
// "Connection: close"; HTTP/1.0 only when it says "Connection: keep-alive".
bool keepAlive(const SipMsg& req);

struct Response {
  int code = 200;
  std::string_view reason = "OK";
  std::string_view contentType;  // empty: no Content-Type header
  std::string_view body;
  bool keepAlive = true;
  bool http10Peer = false;  // a 1.0 client that asked for keep-alive is told so explicitly
  bool headOnly = false;    // answer to HEAD: headers (with the body's length), no body
};

// Checks what the script supplied: code 100..599, reason and content type without control
// characters (they would let a select value inject headers). Empty on success.
std::string validate(int code, std::string_view reason, std::string_view contentType);

// The complete response bytes.
std::string build(const Response& r);

// Answers the HTTP request in `ctx`: decides keep-alive, builds, sends, closes the connection
// afterwards when the request asked for that, and marks ctx.replied. Returns an error text
// (empty on success) naming what was wrong.
std::string reply(ScriptContext& ctx, int code, std::string_view reason, std::string_view contentType,
                  std::string_view body);

}  // namespace http
}  // namespace sipsd

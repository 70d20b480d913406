// HTTP/1.1 responses for requests that arrived through the core's parser (SipMsg of kind
// HttpRequest): what the script supplied is checked here, the bytes are written by the core's
// one HTTP writer (core/proxy/http_reply_builder.h). Shared by the http and xmlrpc modules.
#pragma once
#include <string>
#include <string_view>

#include "core/parser/sip_msg.h"
#include "core/proxy/http_reply_builder.h"

namespace sipsd {

struct ScriptContext;

namespace http {

// Whether the connection stays open after answering `req` (the core's rule, httpKeepAlive).
bool keepAlive(const SipMsg& req);

// The response fields; the bytes come from the core's one HTTP writer (buildHttpResponse).
using Response = HttpResponse;

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

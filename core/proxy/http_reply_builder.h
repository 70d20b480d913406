// HTTP/1.1 responses for HTTP requests arriving on a SIP listener (XML-RPC, /health ...).
#pragma once
#include <string>
#include <string_view>

#include "core/parser/sip_msg.h"

namespace sipsd {

// Whether the connection stays open after the response: HTTP/1.1 unless "Connection: close",
// HTTP/1.0 only with "Connection: keep-alive".
bool httpKeepAlive(const SipMsg& req);

// "HTTP/1.1 CODE REASON" with Server, Content-Type (when given), Content-Length, Connection
// (keep-alive or close per httpKeepAlive(req)), optional extra header lines, then the body
// (left out for HEAD requests and 1xx/204/304 responses).
std::string buildHttpResponse(const SipMsg& req, int code, std::string_view reason,
                              std::string_view contentType, std::string_view body,
                              std::string_view extraHeaders = {});

}  // namespace sipsd

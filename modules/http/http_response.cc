// HTTP/1.1 response framing; see http_response.h.
#include "modules/http/http_response.h"

#include "core/module_api.h"
#include "core/script_context.h"

namespace sipsd::http {

namespace {

bool hasControlChars(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7F) return true;
  }
  return false;
}

}  // namespace

bool keepAlive(const SipMsg& req) { return httpKeepAlive(req); }

std::string validate(int code, std::string_view reason, std::string_view contentType) {
  if (code < 100 || code > 599) return "status code " + std::to_string(code) + " is outside 100..599";
  if (hasControlChars(reason)) return "reason phrase contains control characters";
  if (hasControlChars(contentType)) return "content type contains control characters";
  return {};
}

std::string build(const Response& r) { return buildHttpResponse(r); }

std::string reply(ScriptContext& ctx, int code, std::string_view reason, std::string_view contentType,
                  std::string_view body) {
  const SipMsg& req = ctx.msg;
  if (!req.isHttp()) return "the message is not an HTTP request";
  if (std::string err = validate(code, reason, contentType); !err.empty()) return err;
  std::string out = buildHttpResponse(req, code, reason, contentType, body);
  bool keep = httpKeepAlive(req);
  if (!ctx.core.sendReply(ctx, out)) return "sending the response to " + ctx.rcv.src.str() + " failed";
  ctx.replied = true;
  // The core flushes queued data before closing, so the response still goes out.
  if (!keep) ctx.core.closeConnection(ctx);
  return {};
}

}  // namespace sipsd::http

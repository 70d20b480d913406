// HTTP response construction.
#include "core/proxy/http_reply_builder.h"

#include "core/parser/parse_util.h"

namespace sipsd {

namespace {

// True when the comma-separated Connection value lists `token`.
bool hasConnectionToken(const SipMsg& req, std::string_view token) {
  for (const auto& h : req.headers) {
    if (h.type != HdrType::Connection) continue;
    std::string_view v = h.value;
    while (!v.empty()) {
      size_t c = v.find(',');
      if (parse::ieq(parse::trim(v.substr(0, c)), token)) return true;
      if (c == std::string_view::npos) break;
      v.remove_prefix(c + 1);
    }
  }
  return false;
}

}  // namespace

bool httpKeepAlive(const SipMsg& req) {
  if (parse::ieq(req.version, "HTTP/1.0")) return hasConnectionToken(req, "keep-alive");
  return !hasConnectionToken(req, "close");
}

std::string buildHttpResponse(const SipMsg& req, int code, std::string_view reason,
                              std::string_view contentType, std::string_view body,
                              std::string_view extraHeaders) {
  std::string out;
  out.reserve(160 + body.size() + extraHeaders.size());
  out += "HTTP/1.1 ";
  out += std::to_string(code);
  out += ' ';
  out.append(reason);
  out += "\r\nServer: sipsd\r\n";
  if (!contentType.empty()) {
    out += "Content-Type: ";
    out.append(contentType);
    out += "\r\n";
  }
  out += "Content-Length: ";
  out += std::to_string(body.size());
  out += httpKeepAlive(req) ? "\r\nConnection: keep-alive\r\n" : "\r\nConnection: close\r\n";
  if (!extraHeaders.empty()) {
    out.append(extraHeaders);
    if (out.back() != '\n') out += "\r\n";
  }
  out += "\r\n";
  // HEAD gets the headers of the full response; 1xx, 204 and 304 never carry a body (RFC 9110).
  bool noBody = parse::ieq(req.method, "HEAD") || code < 200 || code == 204 || code == 304;
  if (!noBody) out.append(body);
  return out;
}

}  // namespace sipsd

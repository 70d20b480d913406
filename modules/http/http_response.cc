// HTTP/1.1 response framing; see http_response.h.
#include "modules/http/http_response.h"

#include <cstdio>
#include <ctime>

#include "core/module_api.h"
#include "core/script_context.h"

#ifndef SIPSD_VERSION
#define SIPSD_VERSION "unknown"
#endif

namespace sipsd::http {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether the comma-separated Connection headers of `req` carry `token`.
bool connectionHas(const SipMsg& req, std::string_view token) {
  for (const Header& h : req.headers) {
    if (h.type != HdrType::Connection && !iequals(h.name, "connection")) continue;
    std::string_view v = h.value;
    while (!v.empty()) {
      size_t comma = v.find(',');
      if (iequals(trim(v.substr(0, comma)), token)) return true;
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return false;
}

bool hasControlChars(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7F) return true;
  }
  return false;
}

// RFC 9110 §5.6.7 IMF-fixdate, always in GMT and in the C locale's names.
std::string httpDate() {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7], tm.tm_mday,
                        kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return std::string(buf, n > 0 ? size_t(n) : 0);
}

bool isHttp10(const SipMsg& req) { return iequals(req.version, "HTTP/1.0"); }

}  // namespace

bool keepAlive(const SipMsg& req) {
  if (connectionHas(req, "close")) return false;
  if (isHttp10(req)) return connectionHas(req, "keep-alive");
  return iequals(req.version.substr(0, 7), "HTTP/1.");  // 0.9 and unknown versions: close
}

std::string validate(int code, std::string_view reason, std::string_view contentType) {
  if (code < 100 || code > 599) return "status code " + std::to_string(code) + " is outside 100..599";
  if (hasControlChars(reason)) return "reason phrase contains control characters";
  if (hasControlChars(contentType)) return "content type contains control characters";
  return {};
}

std::string build(const Response& r) {
  // 1xx, 204 and 304 never carry a body (RFC 9110 §6.4.1); 1xx and 204 no Content-Length.
  bool noBody = r.code < 200 || r.code == 204 || r.code == 304;
  bool sendLength = !(r.code < 200 || r.code == 204);
  std::string out;
  out.reserve(160 + r.reason.size() + r.contentType.size() + r.body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(r.code);
  out += ' ';
  out += r.reason;
  out += "\r\nDate: ";
  out += httpDate();
  out += "\r\nServer: sipsd/" SIPSD_VERSION "\r\n";
  if (!r.contentType.empty() && !noBody) {
    out += "Content-Type: ";
    out += r.contentType;
    out += "\r\n";
  }
  if (sendLength) {
    out += "Content-Length: ";
    out += std::to_string(noBody ? 0 : r.body.size());
    out += "\r\n";
  }
  if (!r.keepAlive) out += "Connection: close\r\n";
  else if (r.http10Peer) out += "Connection: keep-alive\r\n";
  out += "\r\n";
  if (!noBody && !r.headOnly) out += r.body;
  return out;
}

std::string reply(ScriptContext& ctx, int code, std::string_view reason, std::string_view contentType,
                  std::string_view body) {
  const SipMsg& req = ctx.msg;
  if (!req.isHttp()) return "the message is not an HTTP request";
  if (std::string err = validate(code, reason, contentType); !err.empty()) return err;
  Response r;
  r.code = code;
  r.reason = reason;
  r.contentType = contentType;
  r.body = body;
  r.keepAlive = keepAlive(req);
  r.http10Peer = isHttp10(req);
  r.headOnly = req.method == "HEAD";
  if (!ctx.core.sendReply(ctx, build(r))) return "sending the response to " + ctx.rcv.src.str() + " failed";
  ctx.replied = true;
  // The core flushes queued data before closing, so the response still goes out.
  if (!r.keepAlive) ctx.core.closeConnection(ctx);
  return {};
}

}  // namespace sipsd::http

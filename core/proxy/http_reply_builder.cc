// HTTP response construction (see http_reply_builder.h).
#include "core/proxy/http_reply_builder.h"

#include <cstdio>
#include <ctime>

#include "core/parser/parse_util.h"

#ifndef SIPSD_VERSION
#define SIPSD_VERSION "unknown"
#endif

namespace sipsd {

namespace {

// True when a Connection header's comma-separated value lists `token`.
bool hasConnectionToken(const SipMsg& req, std::string_view token) {
  for (const auto& h : req.headers) {
    // By type, or by name for a message built without the parser's classification.
    if (h.type != HdrType::Connection && !parse::ieq(h.name, "connection")) continue;
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

bool isHttp10(const SipMsg& req) { return parse::ieq(req.version, "HTTP/1.0"); }

// RFC 9110 §5.6.7 IMF-fixdate, always in GMT and with the C locale's names.
void appendHttpDate(std::string& out) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7], tm.tm_mday,
                        kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  out.append(buf, n > 0 ? size_t(n) : 0);
}

}  // namespace

bool httpKeepAlive(const SipMsg& req) {
  if (hasConnectionToken(req, "close")) return false;
  if (isHttp10(req)) return hasConnectionToken(req, "keep-alive");
  return parse::ieq(req.version.substr(0, 7), "HTTP/1.");  // 0.9 and unknown versions: close
}

std::string buildHttpResponse(const HttpResponse& r) {
  bool noBody = r.code < 200 || r.code == 204 || r.code == 304;
  bool sendLength = !(r.code < 200 || r.code == 204);
  std::string out;
  out.reserve(192 + r.reason.size() + r.contentType.size() + r.body.size() + r.extraHeaders.size());
  out += "HTTP/1.1 ";
  out += std::to_string(r.code);
  out += ' ';
  out.append(r.reason);
  out += "\r\nDate: ";
  appendHttpDate(out);
  out += "\r\nServer: sipsd/" SIPSD_VERSION "\r\n";
  if (!r.contentType.empty() && !noBody) {
    out += "Content-Type: ";
    out.append(r.contentType);
    out += "\r\n";
  }
  if (r.streamed) {
    if (!r.http10Peer) out += "Transfer-Encoding: chunked\r\n";
  } else if (sendLength) {
    out += "Content-Length: ";
    out += std::to_string(noBody ? 0 : r.body.size());
    out += "\r\n";
  }
  if (!r.keepAlive) out += "Connection: close\r\n";
  else if (r.http10Peer) out += "Connection: keep-alive\r\n";
  if (!r.extraHeaders.empty()) {
    out.append(r.extraHeaders);
    if (out.back() != '\n') out += "\r\n";
  }
  out += "\r\n";
  if (!noBody && !r.headOnly && !r.streamed) out.append(r.body);
  return out;
}

std::string buildHttpResponse(const SipMsg& req, int code, std::string_view reason, std::string_view contentType,
                              std::string_view body, std::string_view extraHeaders) {
  HttpResponse r;
  r.code = code;
  r.reason = reason;
  r.contentType = contentType;
  r.body = body;
  r.extraHeaders = extraHeaders;
  r.keepAlive = httpKeepAlive(req);
  r.http10Peer = isHttp10(req);
  r.headOnly = parse::ieq(req.method, "HEAD");
  return buildHttpResponse(r);
}

}  // namespace sipsd

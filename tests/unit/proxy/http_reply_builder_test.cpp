// HTTP responses and the keep-alive decision.
#include <doctest/doctest.h>

#include <string>

#include "core/parser/msg_parser.h"
#include "core/proxy/http_reply_builder.h"

using namespace sipsd;

namespace {
SipMsg parsed(const std::string& text) {
  SipMsg m;
  std::string err;
  REQUIRE_MESSAGE(parseMessage(text, m, err), err);
  return m;
}
}  // namespace

TEST_CASE("keep-alive per version and Connection header") {
  std::string a = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string b = "GET / HTTP/1.1\r\nConnection: Upgrade, Close\r\n\r\n";
  std::string c = "GET / HTTP/1.0\r\n\r\n";
  std::string d = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
  CHECK(httpKeepAlive(parsed(a)));
  CHECK_FALSE(httpKeepAlive(parsed(b)));
  CHECK_FALSE(httpKeepAlive(parsed(c)));
  CHECK(httpKeepAlive(parsed(d)));
}

// The date changes; everything else is exact.
std::string withoutDate(std::string s) {
  size_t d = s.find("\r\nDate: ");
  REQUIRE(d != std::string::npos);
  size_t e = s.find("\r\n", d + 2);
  CHECK(s.substr(e - 4, 4) == " GMT");
  return s.erase(d, e - d);
}

TEST_CASE("HTTP response text") {
  std::string a = "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
  SipMsg req = parsed(a);
  std::string out = withoutDate(buildHttpResponse(req, 200, "OK", "application/json", "{\"status\": \"healthy\"}"));
  CHECK(out == "HTTP/1.1 200 OK\r\nServer: sipsd/" SIPSD_VERSION
               "\r\nContent-Type: application/json\r\nContent-Length: 21\r\n\r\n{\"status\": \"healthy\"}");
  std::string c = "GET / HTTP/1.0\r\n\r\n";
  out = withoutDate(buildHttpResponse(parsed(c), 404, "Not Found", "", "", "X-A: 1"));
  CHECK(out == "HTTP/1.1 404 Not Found\r\nServer: sipsd/" SIPSD_VERSION
               "\r\nContent-Length: 0\r\nConnection: close\r\nX-A: 1\r\n\r\n");
  std::string d = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
  CHECK(buildHttpResponse(parsed(d), 200, "OK", "", "").find("\r\nConnection: keep-alive\r\n") != std::string::npos);
}

TEST_CASE("HEAD and bodiless status codes send no body; 204 has no Content-Length") {
  std::string h = "HEAD /health HTTP/1.1\r\n\r\n";
  std::string out = withoutDate(buildHttpResponse(parsed(h), 200, "OK", "text/plain", "healthy"));
  CHECK(out == "HTTP/1.1 200 OK\r\nServer: sipsd/" SIPSD_VERSION
               "\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\n");
  std::string g = "GET / HTTP/1.1\r\n\r\n";
  out = buildHttpResponse(parsed(g), 304, "Not Modified", "", "x");
  CHECK(out.substr(out.size() - 4) == "\r\n\r\n");
  CHECK(out.find("Content-Length: 0\r\n") != std::string::npos);
  out = buildHttpResponse(parsed(g), 204, "No Content", "text/plain", "x");
  CHECK(out.find("Content-Length") == std::string::npos);
  CHECK(out.find("Content-Type") == std::string::npos);
  CHECK(out.substr(out.size() - 4) == "\r\n\r\n");
}

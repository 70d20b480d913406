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

TEST_CASE("HTTP response text") {
  std::string a = "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
  SipMsg req = parsed(a);
  std::string out = buildHttpResponse(req, 200, "OK", "application/json", "{\"status\": \"healthy\"}");
  CHECK(out ==
        "HTTP/1.1 200 OK\r\nServer: sipsd\r\nContent-Type: application/json\r\nContent-Length: 21\r\n"
        "Connection: keep-alive\r\n\r\n{\"status\": \"healthy\"}");
  std::string c = "GET / HTTP/1.0\r\n\r\n";
  out = buildHttpResponse(parsed(c), 404, "Not Found", "", "", "X-A: 1");
  CHECK(out == "HTTP/1.1 404 Not Found\r\nServer: sipsd\r\nContent-Length: 0\r\nConnection: close\r\nX-A: 1\r\n\r\n");
}

TEST_CASE("HEAD and bodiless status codes send no body") {
  std::string h = "HEAD /health HTTP/1.1\r\n\r\n";
  std::string out = buildHttpResponse(parsed(h), 200, "OK", "text/plain", "healthy");
  CHECK(out == "HTTP/1.1 200 OK\r\nServer: sipsd\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n"
               "Connection: keep-alive\r\n\r\n");
  std::string g = "GET / HTTP/1.1\r\n\r\n";
  out = buildHttpResponse(parsed(g), 304, "Not Modified", "", "x");
  CHECK(out.substr(out.size() - 4) == "\r\n\r\n");
}

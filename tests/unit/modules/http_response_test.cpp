// http_reply and the HTTP/1.1 framing: Content-Length, keep-alive rules, HEAD, bodyless codes,
// header-injection checks at load and at run time.
#include <doctest/doctest.h>

#include "fake_core.h"
#include "modules/http/http_response.h"
#include "tests/unit/error_text.h"

extern "C" const sipsd::ModuleExports* sipsd_module_exports();

using namespace sipsd;
using sipsd::test::FakeCore;
using sipsd::test::httpRequest;

namespace {

bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

FuncArg str(std::string s) {
  FuncArg a;
  a.str = std::move(s);
  return a;
}

const FunctionExport& httpReply() {
  const auto& fs = sipsd_module_exports()->functions;
  REQUIRE(fs.size() == 3);  // http_reply, http_metrics, http_acme
  REQUIRE(fs[0].name == "http_reply");
  return fs[0];
}

struct Fixture {
  FakeCore core;
  ReceiveInfo rcv;
  Fixture() {
    rcv.proto = Proto::TLS;
    rcv.src = *SockAddr::fromString("127.0.0.1:40001");
  }
  std::string run(SipMsg& msg, std::vector<FuncArg> args, int expect = 1) {
    std::shared_ptr<void> fixed;
    REQUIRE(httpReply().fixup(args, fixed).ok());
    ScriptContext ctx(msg, rcv, core);
    CHECK(httpReply().handler(ctx, args, fixed.get()) == expect);
    return core.sent.empty() ? std::string() : core.sent.back();
  }
};

}  // namespace

TEST_CASE("keep-alive decision") {
  CHECK(http::keepAlive(httpRequest("GET", "HTTP/1.1", "")));
  CHECK_FALSE(http::keepAlive(httpRequest("GET", "HTTP/1.1", "", {{"Connection", "close"}})));
  CHECK_FALSE(http::keepAlive(httpRequest("GET", "HTTP/1.1", "", {{"connection", "Upgrade, CLOSE"}})));
  CHECK_FALSE(http::keepAlive(httpRequest("GET", "HTTP/1.0", "")));
  CHECK(http::keepAlive(httpRequest("GET", "HTTP/1.0", "", {{"Connection", "Keep-Alive"}})));
  CHECK_FALSE(http::keepAlive(httpRequest("GET", "HTTP/0.9", "")));
  CHECK_FALSE(http::keepAlive(httpRequest("GET", "http/1.0", "")));  // the parser accepts any case
  CHECK(http::keepAlive(httpRequest("GET", "http/1.1", "")));
}

TEST_CASE("build: status line, headers, Content-Length and body") {
  http::Response r;
  r.code = 200;
  r.reason = "OK";
  r.contentType = "application/json";
  r.body = "{\"status\": \"healthy\"}";
  std::string s = http::build(r);
  CHECK(s.rfind("HTTP/1.1 200 OK\r\nDate: ", 0) == 0);
  CHECK(contains(s, " GMT\r\nServer: sipsd/"));
  CHECK(contains(s, "\r\nContent-Type: application/json\r\nContent-Length: 21\r\n\r\n{\"status\": \"healthy\"}"));
  CHECK(s.size() == s.find("\r\n\r\n") + 4 + 21);
  CHECK_FALSE(contains(s, "Connection:"));

  r.keepAlive = false;
  CHECK(contains(http::build(r), "Connection: close\r\n"));
  r.keepAlive = true;
  r.http10Peer = true;
  CHECK(contains(http::build(r), "Connection: keep-alive\r\n"));

  r.http10Peer = false;
  r.headOnly = true;
  s = http::build(r);
  CHECK(contains(s, "Content-Length: 21\r\n"));
  CHECK(s.substr(s.size() - 4) == "\r\n\r\n");

  r.headOnly = false;
  r.code = 204;
  r.reason = "No Content";
  s = http::build(r);
  CHECK_FALSE(contains(s, "Content-Length"));
  CHECK_FALSE(contains(s, "Content-Type"));
  CHECK(s.substr(s.size() - 4) == "\r\n\r\n");
  r.code = 304;
  CHECK(contains(http::build(r), "Content-Length: 0\r\n"));
}

TEST_CASE("http_reply: /health answer on a keep-alive connection") {
  Fixture f;
  SipMsg msg = httpRequest("GET", "HTTP/1.1", "");
  std::string s = f.run(msg, {str("200"), str("OK"), str("application/json"), str("{\"status\": \"healthy\"}")});
  CHECK(s.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(contains(s, "Content-Length: 21\r\n\r\n{\"status\": \"healthy\"}"));
  CHECK_FALSE(f.core.closed);
}

TEST_CASE("http_reply closes when asked and answers HEAD without a body") {
  Fixture f;
  SipMsg msg = httpRequest("GET", "HTTP/1.1", "", {{"Connection", "close"}});
  std::string s = f.run(msg, {str("404"), str("Not Found"), str("text/plain"), str("no such page")});
  CHECK(s.rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
  CHECK(contains(s, "Connection: close\r\n"));
  CHECK(f.core.closed);

  Fixture g;
  SipMsg head = httpRequest("HEAD", "HTTP/1.1", "");
  s = g.run(head, {str("200"), str("OK"), str("text/plain"), str("12345")});
  CHECK(contains(s, "Content-Length: 5\r\n"));
  CHECK(s.substr(s.size() - 4) == "\r\n\r\n");
}

TEST_CASE("http_reply: integer literal code, as etc/sipsd.cfg writes it") {
  Fixture f;
  FuncArg code;
  code.kind = FuncArg::Kind::Int;
  code.num = 200;
  SipMsg msg = httpRequest("GET", "HTTP/1.1", "");
  std::string s = f.run(msg, {code, str("OK"), str(""), str("")});
  CHECK(s.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(contains(s, "Content-Length: 0\r\n\r\n"));
  CHECK_FALSE(contains(s, "Content-Type"));

  std::shared_ptr<void> fixed;
  code.num = 99;
  std::vector<FuncArg> low{code, str("x"), str(""), str("")};
  CHECK(errorText(httpReply().fixup(low, fixed)) == "http_reply: status code 99 is outside 100..599");
}

TEST_CASE("http_reply: bad literals are config errors") {
  std::shared_ptr<void> fixed;
  std::vector<FuncArg> a{str("20x"), str("OK"), str("t"), str("b")};
  CHECK(errorText(httpReply().fixup(a, fixed)) == "http_reply: status code \"20x\" is not an integer");
  std::vector<FuncArg> b{str("600"), str("OK"), str("t"), str("b")};
  CHECK(errorText(httpReply().fixup(b, fixed)) == "http_reply: status code 600 is outside 100..599");
  std::vector<FuncArg> c{str("200"), str("OK\r\nSet-Cookie: x"), str("t"), str("b")};
  CHECK(errorText(httpReply().fixup(c, fixed)) == "http_reply: reason phrase contains control characters");
  std::vector<FuncArg> d{str("200"), str("OK"), str("text/html\nX: y"), str("b")};
  CHECK(errorText(httpReply().fixup(d, fixed)) == "http_reply: content type contains control characters");
}

TEST_CASE("http_reply: values from selects are checked per request") {
  Fixture f;
  SipMsg msg = httpRequest("GET", "HTTP/1.1", "");
  FuncArg reason;
  reason.kind = FuncArg::Kind::Select;
  reason.str = "@msg.X-Evil";
  reason.select = [](ScriptContext&) { return Value::owned("OK\r\nX-Injected: 1"); };
  FuncArg code;
  code.kind = FuncArg::Kind::Select;
  code.str = "@msg.X-Code";
  code.select = [](ScriptContext&) { return Value::view("503"); };
  f.run(msg, {code, reason, str("text/plain"), str("x")}, -1);
  CHECK(f.core.sent.empty());
  REQUIRE_FALSE(f.core.logs.empty());
  CHECK(contains(f.core.logs.back().second, "reason phrase contains control characters"));

  reason.select = [](ScriptContext&) { return Value::view("Service Unavailable"); };
  FuncArg body;
  body.kind = FuncArg::Kind::Select;
  body.select = [](ScriptContext&) { return Value::integer(42); };
  std::string s = f.run(msg, {code, reason, str("text/plain"), body});
  CHECK(s.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0);
  CHECK(contains(s, "Content-Length: 2\r\n\r\n42"));
}

TEST_CASE("http_reply refuses SIP messages") {
  Fixture f;
  SipMsg sip;
  sip.kind = SipMsg::Kind::Request;
  f.run(sip, {str("200"), str("OK"), str("t"), str("b")}, -1);
  CHECK(f.core.sent.empty());
  CHECK(contains(f.core.logs.back().second, "not an HTTP request"));
}

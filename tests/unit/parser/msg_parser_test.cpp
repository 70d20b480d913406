// parseMessage: SIP requests/replies, HTTP requests, compact forms, folding, limits, bad input.
#include <doctest/doctest.h>

#include <string>

#include "core/parser/header_section.h"
#include "core/parser/msg_parser.h"

using namespace sipsd;

namespace {

const std::string kInvite =
    "INVITE sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bK776asdhds\r\n"
    "Max-Forwards: 70\r\n"
    "To: Bob <sip:bob@example.com>\r\n"
    "From: Alice <sip:alice@example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@pc33.example.com>\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 4\r\n"
    "\r\n"
    "v=0\n";

bool within(std::string_view outer, std::string_view inner) {
  return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

}  // namespace

TEST_CASE("SIP request: start line, headers, body, all views into the buffer") {
  SipMsg m;
  std::string err;
  REQUIRE(parseMessage(kInvite, m, err));
  CHECK(m.kind == SipMsg::Kind::Request);
  CHECK(m.isRequest());
  CHECK_FALSE(m.isHttp());
  CHECK(m.method == "INVITE");
  CHECK(m.ruri == "sip:bob@example.com");
  CHECK(m.version == "SIP/2.0");
  CHECK(m.firstLine == "INVITE sip:bob@example.com SIP/2.0");
  REQUIRE(m.headers.size() == 9);
  CHECK(m.headers[0].type == HdrType::Via);
  CHECK(m.headers[0].name == "Via");
  CHECK(m.headers[0].value == "SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bK776asdhds");
  CHECK(m.headers[0].raw == "Via: SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bK776asdhds\r\n");
  CHECK(m.headers[1].type == HdrType::MaxForwards);
  CHECK(m.headers[2].type == HdrType::To);
  CHECK(m.headers[3].type == HdrType::From);
  CHECK(m.headers[4].type == HdrType::CallId);
  CHECK(m.headers[5].type == HdrType::CSeq);
  CHECK(m.headers[6].type == HdrType::Contact);
  CHECK(m.headers[7].type == HdrType::ContentType);
  CHECK(m.headers[8].type == HdrType::ContentLength);
  CHECK(m.body == "v=0\n");
  std::string_view buf(kInvite);
  for (const auto& h : m.headers) {
    CHECK(within(buf, h.name));
    CHECK(within(buf, h.value));
    CHECK(within(buf, h.raw));
  }
  CHECK(within(buf, m.body));
  CHECK(findHeader(m, HdrType::CallId)->value == "a84b4c76e66710@pc33.example.com");
  CHECK(findHeader(m, "call-id") == findHeader(m, HdrType::CallId));
  CHECK(findHeader(m, "i") == findHeader(m, HdrType::CallId));
  CHECK(findHeader(m, HdrType::Route) == nullptr);
}

TEST_CASE("SIP reply") {
  const std::string r =
      "SIP/2.0 180 Ringing Now\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nContent-Length: 0\r\n\r\n";
  SipMsg m;
  std::string err;
  REQUIRE(parseMessage(r, m, err));
  CHECK(m.kind == SipMsg::Kind::Reply);
  CHECK_FALSE(m.isRequest());
  CHECK(m.status == 180);
  CHECK(m.reason == "Ringing Now");
  CHECK(m.version == "SIP/2.0");
  CHECK(m.body.empty());
  CHECK(parseMessage("SIP/2.0 200 \r\n\r\n", m, err));
  CHECK(m.status == 200);
  CHECK(parseMessage("SIP/2.0 200\r\n\r\n", m, err));
  CHECK(m.reason.empty());
}

TEST_CASE("HTTP request with query and body") {
  const std::string r =
      "POST /RPC2?x=1 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\nContent-Length: 5\r\n"
      "Connection: close\r\n\r\n<a/>\n";
  SipMsg m;
  std::string err;
  REQUIRE(parseMessage(r, m, err));
  CHECK(m.kind == SipMsg::Kind::HttpRequest);
  CHECK(m.isHttp());
  CHECK(m.isRequest());
  CHECK(m.method == "POST");
  CHECK(m.ruri == "/RPC2?x=1");
  CHECK(m.version == "HTTP/1.1");
  CHECK(m.headers[0].type == HdrType::Host);
  CHECK(m.headers[3].type == HdrType::Connection);
  CHECK(m.body == "<a/>\n");
  REQUIRE(parseMessage("GET /health HTTP/1.0\r\n\r\n", m, err));
  CHECK(m.version == "HTTP/1.0");
  CHECK(m.headers.empty());
}

TEST_CASE("compact header forms are classified") {
  const std::string r =
      "OPTIONS sip:x@y SIP/2.0\r\nv: SIP/2.0/UDP a\r\nf: <sip:a@b>;tag=1\r\nt: <sip:x@y>\r\ni: cid\r\n"
      "m: <sip:a@c>\r\nl: 0\r\nc: text/plain\r\nk: path\r\ne: gzip\r\ns: hi\r\nCSeq: 1 OPTIONS\r\n\r\n";
  SipMsg m;
  std::string err;
  REQUIRE(parseMessage(r, m, err));
  CHECK(m.headers[0].type == HdrType::Via);
  CHECK(m.headers[1].type == HdrType::From);
  CHECK(m.headers[2].type == HdrType::To);
  CHECK(m.headers[3].type == HdrType::CallId);
  CHECK(m.headers[4].type == HdrType::Contact);
  CHECK(m.headers[5].type == HdrType::ContentLength);
  CHECK(m.headers[6].type == HdrType::ContentType);
  CHECK(m.headers[7].type == HdrType::Supported);
  CHECK(m.headers[8].type == HdrType::Other);
  CHECK(findHeader(m, "Content-Encoding") == &m.headers[8]);
  CHECK(findHeader(m, "subject") == &m.headers[9]);
  CHECK(sameHeaderName("User_Agent", "user-agent"));
  CHECK(sameHeaderName("v", "VIA"));
  CHECK_FALSE(sameHeaderName("v", "f"));
  CHECK(headerType("RECORD-ROUTE") == HdrType::RecordRoute);
  CHECK(headerType("X-Foo") == HdrType::Other);
}

TEST_CASE("folded header lines are joined into one value view") {
  const std::string r =
      "OPTIONS sip:x@y SIP/2.0\r\nSubject: first\r\n  second\r\n\tthird\r\nCSeq: 1 OPTIONS\r\n\r\n";
  SipMsg m;
  std::string err;
  REQUIRE(parseMessage(r, m, err));
  REQUIRE(m.headers.size() == 2);
  CHECK(m.headers[0].value == "first\r\n  second\r\n\tthird");
  CHECK(m.headers[0].raw == "Subject: first\r\n  second\r\n\tthird\r\n");
  CHECK(m.headers[1].name == "CSeq");
  CHECK_FALSE(parseMessage("OPTIONS sip:x@y SIP/2.0\r\n folded\r\n\r\n", m, err));
  CHECK(err == "line 2: continuation line before any header");
}

TEST_CASE("leading CRLFs are skipped, bare LF line ends accepted") {
  SipMsg m;
  std::string err;
  REQUIRE(parseMessage("\r\n\r\nOPTIONS sip:x@y SIP/2.0\nCSeq: 1 OPTIONS\n\n", m, err));
  CHECK(m.method == "OPTIONS");
  CHECK(m.headers[0].value == "1 OPTIONS");
}

TEST_CASE("Content-Length is checked against the body") {
  SipMsg m;
  std::string err;
  CHECK_FALSE(parseMessage("OPTIONS sip:x@y SIP/2.0\r\nContent-Length: 10\r\n\r\nshort", m, err));
  CHECK(err == "body is 5 bytes but Content-Length says 10");
  CHECK_FALSE(parseMessage("OPTIONS sip:x@y SIP/2.0\r\nContent-Length: abc\r\n\r\n", m, err));
  CHECK(err == "bad Content-Length 'abc'");
  CHECK_FALSE(parseMessage("OPTIONS sip:x@y SIP/2.0\r\nContent-Length: -1\r\n\r\n", m, err));
  CHECK_FALSE(parseMessage("OPTIONS sip:x@y SIP/2.0\r\nContent-Length: 99999999999\r\n\r\n", m, err));
  CHECK_FALSE(parseMessage("OPTIONS sip:x@y SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab", m, err));
  CHECK(err == "conflicting Content-Length headers (1 and 2)");
  // RFC 3261 §18.3: extra bytes past the body are discarded.
  REQUIRE(parseMessage("OPTIONS sip:x@y SIP/2.0\r\nContent-Length: 2\r\n\r\nabcd", m, err));
  CHECK(m.body == "ab");
  // Without Content-Length the rest is the body (UDP).
  REQUIRE(parseMessage("OPTIONS sip:x@y SIP/2.0\r\n\r\nxyz", m, err));
  CHECK(m.body == "xyz");
  CHECK_FALSE(parseMessage("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", m, err));
  CHECK(err.find("Transfer-Encoding") != std::string::npos);
}

TEST_CASE("bad input gets a clear error naming the line") {
  SipMsg m;
  std::string err;
  CHECK_FALSE(parseMessage("", m, err));
  CHECK(err == "line 1: empty message");
  CHECK_FALSE(parseMessage("\r\n\r\n", m, err));
  CHECK_FALSE(parseMessage("\x01\x02garbage\xff", m, err));
  CHECK(err == "line 1: start line not terminated by CRLF");
  CHECK_FALSE(parseMessage("garbage\r\n\r\n", m, err));
  CHECK(err.find("bad request line") != std::string::npos);
  CHECK_FALSE(parseMessage("INVITE sip:a@b SIP/3.0\r\n\r\n", m, err));
  CHECK(err == "line 1: unsupported protocol version 'SIP/3.0' (SIP/2.0, HTTP/1.0 or HTTP/1.1)");
  CHECK_FALSE(parseMessage("INV{TE sip:a@b SIP/2.0\r\n\r\n", m, err));
  CHECK(err.find("bad character in method") != std::string::npos);
  CHECK_FALSE(parseMessage("INVITE  sip:a@b SIP/2.0\r\n\r\n", m, err));
  CHECK_FALSE(parseMessage("SIP/2.0 99 Low\r\n\r\n", m, err));
  CHECK(err.find("bad status code") != std::string::npos);
  CHECK_FALSE(parseMessage("SIP/2.0 2000 OK\r\n\r\n", m, err));
  CHECK_FALSE(parseMessage("HTTP/1.1 200 OK\r\n\r\n", m, err));
  CHECK(err == "line 1: HTTP responses are not accepted");
  CHECK_FALSE(parseMessage("OPTIONS sip:x@y SIP/2.0\r\nCSeq: 1 OPTIONS\r\n", m, err));
  CHECK(err == "line 3: headers not terminated by an empty line (missing CRLF)");
  CHECK_FALSE(parseMessage("OPTIONS sip:x@y SIP/2.0\r\nCSeq: 1 OPTIONS", m, err));
  CHECK(err == "line 2: header line not terminated by CRLF");
  CHECK_FALSE(parseMessage("OPTIONS sip:x@y SIP/2.0\r\nNoColon\r\n\r\n", m, err));
  CHECK(err == "line 2: expected ':' after header name 'NoColon'");
  CHECK_FALSE(parseMessage("OPTIONS sip:x@y SIP/2.0\r\n: empty\r\n\r\n", m, err));
  CHECK(err == "line 2: bad header line ': empty'");
  // The SipMsg is reusable after a failure.
  REQUIRE(parseMessage(kInvite, m, err));
  CHECK(m.headers.size() == 9);
}

TEST_CASE("size limits: header count and line length") {
  std::string many = "OPTIONS sip:x@y SIP/2.0\r\n";
  for (int i = 0; i < 129; ++i) many += "X-H: " + std::to_string(i) + "\r\n";
  many += "\r\n";
  SipMsg m;
  std::string err;
  CHECK_FALSE(parseMessage(many, m, err));
  CHECK(err == "line 130: too many headers (limit 128)");
  ParseLimits lim;
  lim.maxHeaders = 200;
  CHECK(parseMessage(many, m, err, lim));
  CHECK(m.headers.size() == 129);

  std::string longLine = "OPTIONS sip:x@y SIP/2.0\r\nX-Long: " + std::string(9000, 'a') + "\r\n\r\n";
  CHECK_FALSE(parseMessage(longLine, m, err));
  CHECK(err == "line 2: header line too long (9008 bytes, limit 8192)");
  std::string longStart = "OPTIONS sip:" + std::string(9000, 'a') + " SIP/2.0\r\n\r\n";
  CHECK_FALSE(parseMessage(longStart, m, err));
  CHECK(err.find("start line too long") != std::string::npos);
  std::string longFold = "OPTIONS sip:x@y SIP/2.0\r\nX-Fold: a\r\n";
  for (int i = 0; i < 100; ++i) longFold += " " + std::string(100, 'b') + "\r\n";
  longFold += "\r\n";
  CHECK_FALSE(parseMessage(longFold, m, err));
  CHECK(err == "line 82: folded header 'X-Fold' too long");
}

TEST_CASE("framing::contentLength: full and compact names in any case, folded values, conflicts") {
  CHECK(framing::contentLength("INVITE sip:a@b SIP/2.0\r\nVia: x\r\nContent-Length: 12\r\n\r\n") == 12);
  CHECK(framing::contentLength("SIP/2.0 200 OK\r\nl: 5\r\ncontent-length :\r\n 5\r\n\r\n") == 5);
  CHECK(framing::contentLength("X\r\nL: 5\r\nCONTENT-LENGTH: 6\r\n\r\n") == -2);
  CHECK(framing::contentLength("X\r\nCall-ID: c\r\n Content-Length: 9\r\n\r\n") == -1);  // a fold, not a header
  CHECK(framing::contentLength("X\r\n\r Content-Length: 3\r\n\r\n") == 3);  // trimmed like the value
  CHECK(framing::contentLength("X\r\nContent-Type: a\r\nCSeq: 1 A\r\n\r\n") == -1);
  CHECK(framing::contentLength("X\r\nContent-Length: 1x\r\n\r\n") == -2);
}

// Stateless SIP replies: copied headers, received/rport, To-tag, extra headers and body.
#include <doctest/doctest.h>

#include <string>

#include "core/parser/msg_parser.h"
#include "core/proxy/reply_builder.h"
#include "core/proxy/via_builder.h"

using namespace sipsd;

namespace {

ReceiveInfo rcvFrom(const char* ipPort, Proto proto = Proto::UDP) {
  ReceiveInfo r;
  r.proto = proto;
  r.src = *SockAddr::fromString(ipPort);
  r.dst = *SockAddr::fromString("127.0.0.1:5060");
  return r;
}

SipMsg parsed(const std::string& text) {
  SipMsg m;
  std::string err;
  REQUIRE_MESSAGE(parseMessage(text, m, err), err);
  return m;
}

const std::string kOptions =
    "OPTIONS sip:proxy.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP client.example.com:5062;branch=z9hG4bKc1;rport\r\n"
    "Via: SIP/2.0/UDP 10.9.9.9;branch=z9hG4bKc0, SIP/2.0/TCP 10.8.8.8;branch=z9hG4bKcz\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:alice@example.com>;tag=ft1\r\n"
    "To: <sip:proxy.example.com>\r\n"
    "Call-ID: cid-1\r\n"
    "CSeq: 7 OPTIONS\r\n"
    "Accept: application/sdp\r\n"
    "Content-Length: 0\r\n\r\n";

}  // namespace

TEST_CASE("reply copies Vias in order, adds received and fills rport on the top Via") {
  std::string text = kOptions;
  SipMsg req = parsed(text);
  std::string out, err;
  REQUIRE(buildSipReply(req, rcvFrom("192.0.2.10:40000"), 200, "OK", {}, out, err));
  std::string tag = makeToTag(req);
  CHECK(out ==
        "SIP/2.0 200 OK\r\n"
        "Via: SIP/2.0/UDP client.example.com:5062;branch=z9hG4bKc1;rport=40000;received=192.0.2.10\r\n"
        "Via: SIP/2.0/UDP 10.9.9.9;branch=z9hG4bKc0, SIP/2.0/TCP 10.8.8.8;branch=z9hG4bKcz\r\n"
        "From: <sip:alice@example.com>;tag=ft1\r\n"
        "To: <sip:proxy.example.com>;tag=" + tag + "\r\n"
        "Call-ID: cid-1\r\n"
        "CSeq: 7 OPTIONS\r\n"
        "Server: sipsd\r\n"
        "Content-Length: 0\r\n\r\n");
  // The reply itself parses, and its To-tag is the deterministic one.
  SipMsg rep = parsed(out);
  CHECK(rep.status == 200);
  CHECK(rep.headers.size() == 8);
}

TEST_CASE("received only when the sent-by host differs; no rport unless asked") {
  std::string text =
      "MESSAGE sip:b@x SIP/2.0\r\nv: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bKa\r\nf: <sip:a@x>;tag=1\r\n"
      "t: <sip:b@x>;tag=already\r\ni: c\r\nCSeq: 1 MESSAGE\r\n\r\n";
  SipMsg req = parsed(text);
  std::string out, err;
  REQUIRE(buildSipReply(req, rcvFrom("192.0.2.10:33333", Proto::TLS), 202, "Accepted", {}, out, err));
  CHECK(out.find("v: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bKa\r\n") != std::string::npos);
  CHECK(out.find("t: <sip:b@x>;tag=already\r\n") != std::string::npos);  // existing tag kept
  REQUIRE(buildSipReply(req, rcvFrom("192.0.2.11:33333"), 202, "Accepted", {}, out, err));
  CHECK(out.find("branch=z9hG4bKa;received=192.0.2.11\r\n") != std::string::npos);
  SipReplyOptions force;
  force.forceRport = true;
  REQUIRE(buildSipReply(req, rcvFrom("192.0.2.10:33333"), 202, "Accepted", force, out, err));
  CHECK(out.find("branch=z9hG4bKa;received=192.0.2.10;rport=33333\r\n") != std::string::npos);
}

TEST_CASE("IPv6 sent-by compared as an address") {
  std::string text =
      "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP [2001:DB8::1]:5060;rport;branch=z9hG4bKv6\r\nFrom: <sip:a@x>;tag=1\r\n"
      "To: <sip:x>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n";
  SipMsg req = parsed(text);
  std::string out, err;
  REQUIRE(buildSipReply(req, rcvFrom("[2001:db8::1]:6000"), 200, "OK", {}, out, err));
  // rport filled; RFC 3581 adds received even though the address is the same.
  CHECK(out.find("Via: SIP/2.0/UDP [2001:DB8::1]:5060;rport=6000;branch=z9hG4bKv6;received=2001:db8::1\r\n") !=
        std::string::npos);
}

TEST_CASE("To-tag is deterministic per request and differs between requests") {
  std::string a = kOptions;
  std::string b = kOptions;
  b.replace(b.find("cid-1"), 5, "cid-2");
  SipMsg ra = parsed(a), rb = parsed(b);
  CHECK(makeToTag(ra) == makeToTag(ra));
  std::string copy = a;  // a retransmission: other buffer, same content
  SipMsg rc = parsed(copy);
  CHECK(makeToTag(rc) == makeToTag(ra));
  CHECK(makeToTag(ra) != makeToTag(rb));
  CHECK(makeToTag(ra).size() == 18);
}

TEST_CASE("100 Trying gets no To-tag; extra headers, body and explicit tag") {
  std::string text = kOptions;
  SipMsg req = parsed(text);
  std::string out, err;
  REQUIRE(buildSipReply(req, rcvFrom("192.0.2.10:40000"), 100, "Trying", {}, out, err));
  CHECK(out.find("To: <sip:proxy.example.com>\r\n") != std::string::npos);
  SipReplyOptions opt;
  opt.toTag = "fixed";
  opt.extraHeaders = "Allow: INVITE, ACK\r\nX-A: b";
  opt.contentType = "text/plain";
  opt.body = "hello";
  REQUIRE(buildSipReply(req, rcvFrom("192.0.2.10:40000"), 486, "Busy Here", opt, out, err));
  CHECK(out.find("To: <sip:proxy.example.com>;tag=fixed\r\n") != std::string::npos);
  CHECK(out.find("Server: sipsd\r\nAllow: INVITE, ACK\r\nX-A: b\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello") !=
        std::string::npos);
  SipMsg rep = parsed(out);
  CHECK(rep.body == "hello");
}

TEST_CASE("reply to a request without Via uses the created Via; errors otherwise") {
  std::string text = "OPTIONS sip:x SIP/2.0\r\nCall-ID: c\r\n\r\n";
  SipMsg req = parsed(text);
  ReceiveInfo rcv = rcvFrom("192.0.2.5:7000", Proto::TCP);
  std::string out, err;
  CHECK_FALSE(buildSipReply(req, rcv, 200, "OK", {}, out, err));
  CHECK(err == "request has no Via header to reply to");
  std::string created = createViaValue(req, rcv);
  CHECK(created.rfind("SIP/2.0/TCP 192.0.2.5:7000;branch=z9hG4bKcv", 0) == 0);
  CHECK(created.find(";rport=7000") != std::string::npos);
  SipReplyOptions opt;
  opt.createdVia = created;
  REQUIRE(buildSipReply(req, rcv, 200, "OK", opt, out, err));
  CHECK(out.find("Via: " + created + "\r\n") != std::string::npos);

  std::string reply = "SIP/2.0 200 OK\r\n\r\n";
  SipMsg rep = parsed(reply);
  CHECK_FALSE(buildSipReply(rep, rcv, 200, "OK", {}, out, err));
  CHECK_FALSE(buildSipReply(req, rcv, 700, "Bad", opt, out, err));
  CHECK(err == "reply code 700 is outside 100..699");
  std::string badVia = "OPTIONS sip:x SIP/2.0\r\nVia: garbage\r\n\r\n";
  SipMsg bv = parsed(badVia);
  CHECK_FALSE(buildSipReply(bv, rcv, 400, "Bad Request", {}, out, err));
  CHECK(err.find("bad Via") != std::string::npos);
}

TEST_CASE("appendViaWithReceived replaces an existing received and keeps rport values") {
  ViaBody v;
  std::string_view rest;
  std::string err;
  REQUIRE(parseVia("SIP/2.0/UDP h;received=1.1.1.1;rport=9", v, rest, err));
  std::string out;
  CHECK(appendViaWithReceived(out, v, *SockAddr::fromString("2.2.2.2:5"), false));
  CHECK(out == "SIP/2.0/UDP h;received=2.2.2.2;rport=9");
  out.clear();
  REQUIRE(parseVia("SIP/2.0/UDP 2.2.2.2;branch=z9hG4bKx", v, rest, err));
  CHECK_FALSE(appendViaWithReceived(out, v, *SockAddr::fromString("2.2.2.2:5"), false));
  CHECK(out == "SIP/2.0/UDP 2.2.2.2;branch=z9hG4bKx");
}

TEST_CASE("an unparseable Via fails unless verbatimBadVia: then it is copied as received") {
  std::string text = kOptions;
  text.replace(text.find("SIP/2.0/UDP client.example.com:5062;branch=z9hG4bKc1;rport"),
               std::string("SIP/2.0/UDP client.example.com:5062;branch=z9hG4bKc1;rport").size(), "SIP/2.0/TCP @@@;;");
  SipMsg m = parsed(text);
  std::string out, err;
  CHECK_FALSE(buildSipReply(m, rcvFrom("192.0.2.7:5062", Proto::TCP), 400, "Bad Request", {}, out, err));
  SipReplyOptions opt;
  opt.verbatimBadVia = true;
  err.clear();
  REQUIRE_MESSAGE(buildSipReply(m, rcvFrom("192.0.2.7:5062", Proto::TCP), 400, "Bad Request", opt, out, err), err);
  CHECK(out.rfind("SIP/2.0 400 Bad Request\r\n", 0) == 0);
  CHECK(out.find("Via: SIP/2.0/TCP @@@;;\r\n") != std::string::npos);
  CHECK(out.find("Call-ID: cid-1\r\n") != std::string::npos);
}

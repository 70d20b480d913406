// Forwarded requests: our Via on top, sender's Via received/rport, Max-Forwards, branch stability.
#include <doctest/doctest.h>

#include <string>

#include "core/parser/msg_parser.h"
#include "core/parser/via_parser.h"
#include "core/proxy/request_forward_builder.h"

using namespace sipsd;

namespace {

SipMsg parsed(const std::string& text) {
  SipMsg m;
  std::string err;
  REQUIRE_MESSAGE(parseMessage(text, m, err), err);
  return m;
}

ReceiveInfo rcvFrom(const char* ipPort) {
  ReceiveInfo r;
  r.proto = Proto::TLS;
  r.src = *SockAddr::fromString(ipPort);
  return r;
}

const std::string kInvite =
    "INVITE sip:bob@b.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TLS a.example.com:5061;branch=z9hG4bKinv1;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:alice@a.example.com>;tag=f1\r\n"
    "To: <sip:bob@b.example.com>\r\n"
    "Call-ID: inv-1\r\n"
    "CSeq: 1 INVITE\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 4\r\n\r\n"
    "v=0\n";

const LocalVia kSelf{Proto::TLS, "198.51.100.1", 5061};

}  // namespace

TEST_CASE("forward inserts our Via, marks the sender's Via, decrements Max-Forwards") {
  std::string text = kInvite;
  SipMsg req = parsed(text);
  std::string out, err;
  REQUIRE(buildForwardedRequest(req, rcvFrom("203.0.113.5:41000"), kSelf, {}, out, err));
  ViaBody top;
  std::string_view rest;
  size_t vs = out.find("Via: ") + 5;
  std::string firstVia = out.substr(vs, out.find("\r\n", vs) - vs);
  REQUIRE(parseVia(firstVia, top, rest, err));
  std::string branch(top.branch);
  CHECK(branch.rfind("z9hG4bK", 0) == 0);
  std::string expected =
      "INVITE sip:bob@b.example.com SIP/2.0\r\n"
      "Via: SIP/2.0/TLS 198.51.100.1:5061;branch=" + branch + ";rport\r\n"
      "Via: SIP/2.0/TLS a.example.com:5061;branch=z9hG4bKinv1;rport=41000;received=203.0.113.5\r\n"
      "Max-Forwards: 69\r\n"
      "From: <sip:alice@a.example.com>;tag=f1\r\n"
      "To: <sip:bob@b.example.com>\r\n"
      "Call-ID: inv-1\r\n"
      "CSeq: 1 INVITE\r\n"
      "Content-Type: application/sdp\r\n"
      "Content-Length: 4\r\n\r\n"
      "v=0\n";
  CHECK(out == expected);
  SipMsg fwd = parsed(out);
  CHECK(fwd.body == "v=0\n");
}

TEST_CASE("branch: same for a retransmission and the CANCEL, different for another request") {
  std::string text = kInvite;
  SipMsg req = parsed(text);
  std::string out1, out2, out3, err;
  REQUIRE(buildForwardedRequest(req, rcvFrom("203.0.113.5:41000"), kSelf, {}, out1, err));
  std::string again = kInvite;
  SipMsg req2 = parsed(again);
  REQUIRE(buildForwardedRequest(req2, rcvFrom("203.0.113.5:41000"), kSelf, {}, out2, err));
  CHECK(out1 == out2);
  std::string cancel =
      "CANCEL sip:bob@b.example.com SIP/2.0\r\nVia: SIP/2.0/TLS a.example.com:5061;branch=z9hG4bKinv1;rport\r\n"
      "Max-Forwards: 70\r\nFrom: <sip:alice@a.example.com>;tag=f1\r\nTo: <sip:bob@b.example.com>\r\n"
      "Call-ID: inv-1\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n";
  SipMsg c = parsed(cancel);
  REQUIRE(buildForwardedRequest(c, rcvFrom("203.0.113.5:41000"), kSelf, {}, out3, err));
  ViaBody v1, v3;
  SipMsg m1 = parsed(out1), m3 = parsed(out3);
  REQUIRE(nthVia(m1, 0, v1, err));
  REQUIRE(nthVia(m3, 0, v3, err));
  CHECK(v1.branch == v3.branch);
  std::string other = kInvite;
  other.replace(other.find("z9hG4bKinv1"), 11, "z9hG4bKinv2");
  SipMsg o = parsed(other);
  std::string out4;
  REQUIRE(buildForwardedRequest(o, rcvFrom("203.0.113.5:41000"), kSelf, {}, out4, err));
  SipMsg m4 = parsed(out4);
  ViaBody v4;
  REQUIRE(nthVia(m4, 0, v4, err));
  CHECK(v4.branch != v1.branch);
  // RFC 2543 request (no magic cookie) still gets a stable RFC 3261 branch.
  std::string old = kInvite;
  old.replace(old.find(";branch=z9hG4bKinv1"), 19, "");
  SipMsg om = parsed(old);
  std::string o1, o2;
  REQUIRE(buildForwardedRequest(om, rcvFrom("203.0.113.5:41000"), kSelf, {}, o1, err));
  REQUIRE(buildForwardedRequest(om, rcvFrom("203.0.113.5:41000"), kSelf, {}, o2, err));
  CHECK(o1 == o2);
  CHECK(o1.find(";branch=z9hG4bK") != std::string::npos);
}

TEST_CASE("Max-Forwards inserted when absent, checked for 0 and garbage; header order preserved") {
  std::string text =
      "MESSAGE sip:b@x SIP/2.0\r\nMax-Forwards: 0\r\nVia: SIP/2.0/UDP 203.0.113.5;branch=z9hG4bKm\r\n\r\n";
  SipMsg req = parsed(text);
  CHECK(maxForwards(req) == 0);
  CHECK(maxForwardsExhausted(req));
  std::string out, err;
  CHECK_FALSE(buildForwardedRequest(req, rcvFrom("203.0.113.5:1"), kSelf, {}, out, err));
  CHECK(err.find("483") != std::string::npos);

  std::string mfFirst =
      "MESSAGE sip:b@x SIP/2.0\r\nMax-Forwards: 5\r\nVia: SIP/2.0/UDP 203.0.113.5;branch=z9hG4bKm\r\n\r\n";
  SipMsg mf = parsed(mfFirst);
  REQUIRE(buildForwardedRequest(mf, rcvFrom("203.0.113.5:5060"), kSelf, {}, out, err));
  CHECK(out.find("MESSAGE sip:b@x SIP/2.0\r\nMax-Forwards: 4\r\nVia: SIP/2.0/TLS 198.51.100.1:5061;branch=") == 0);
  CHECK(out.find(";rport\r\nVia: SIP/2.0/UDP 203.0.113.5;branch=z9hG4bKm\r\n\r\n") != std::string::npos);

  std::string none = "MESSAGE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.5;branch=z9hG4bKm\r\nCall-ID: q\r\n\r\n";
  SipMsg nm = parsed(none);
  CHECK(maxForwards(nm) == -1);
  CHECK_FALSE(maxForwardsExhausted(nm));
  ForwardOptions force;
  force.forceRport = true;
  REQUIRE(buildForwardedRequest(nm, rcvFrom("203.0.113.5:5099"), kSelf, force, out, err));
  CHECK(out.find(";rport\r\nMax-Forwards: 70\r\nVia: SIP/2.0/UDP 203.0.113.5;branch=z9hG4bKm;received=203.0.113.5;"
                 "rport=5099\r\nCall-ID: q\r\n\r\n") != std::string::npos);

  std::string bad = "MESSAGE sip:b@x SIP/2.0\r\nMax-Forwards: many\r\n\r\n";
  SipMsg bm = parsed(bad);
  CHECK(maxForwards(bm) == -2);
  CHECK_FALSE(buildForwardedRequest(bm, rcvFrom("203.0.113.5:1"), kSelf, {}, out, err));
  CHECK(err == "bad Max-Forwards 'many'");
}

TEST_CASE("forward of a request without Via, with create_via() and an IPv6 self address") {
  std::string text = "POST sip:rpc@x SIP/2.0\r\nCall-ID: z\r\nContent-Length: 2\r\n\r\nab";
  SipMsg req = parsed(text);
  LocalVia self6{Proto::TCP, "2001:db8::1", 5060};
  ForwardOptions opt;
  opt.createdVia = "SIP/2.0/TCP 192.0.2.1:4000;branch=z9hG4bKcv1;rport=4000";
  std::string out, err;
  REQUIRE(buildForwardedRequest(req, rcvFrom("192.0.2.1:4000"), self6, opt, out, err));
  CHECK(out.find("POST sip:rpc@x SIP/2.0\r\nVia: SIP/2.0/TCP [2001:db8::1]:5060;branch=z9hG4bK") == 0);
  CHECK(out.find(";rport\r\nVia: SIP/2.0/TCP 192.0.2.1:4000;branch=z9hG4bKcv1;rport=4000\r\nMax-Forwards: 70\r\n"
                 "Call-ID: z\r\nContent-Length: 2\r\n\r\nab") != std::string::npos);
  std::string reply = "SIP/2.0 200 OK\r\n\r\n";
  SipMsg rep = parsed(reply);
  CHECK_FALSE(buildForwardedRequest(rep, rcvFrom("192.0.2.1:4000"), self6, opt, out, err));
}

TEST_CASE("$ru replaces the request-URI, a given branch is used as is") {
  SipMsg req = parsed(kInvite);
  ForwardOptions opt;
  opt.ruri = "sip:bob@10.0.0.7:5070;transport=udp";
  opt.branch = "z9hG4bKtm1.2a.0";
  std::string out, err;
  REQUIRE(buildForwardedRequest(req, rcvFrom("192.0.2.10:40000"), kSelf, opt, out, err));
  CHECK(out.rfind("INVITE sip:bob@10.0.0.7:5070;transport=udp SIP/2.0\r\n", 0) == 0);
  CHECK(out.find("Via: SIP/2.0/TLS 198.51.100.1:5061;branch=z9hG4bKtm1.2a.0;rport\r\n") != std::string::npos);
  CHECK(out.find("Max-Forwards: 69\r\n") != std::string::npos);
  CHECK(out.find("To: <sip:bob@b.example.com>\r\n") != std::string::npos);  // only the request line changes
  CHECK(out.substr(out.size() - 4) == "v=0\n");
}

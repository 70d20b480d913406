// The script's edit list applied by the request forward builder: append_hf, remove_hf,
// Route stripping (loose_route), Record-Route (single, double, preset), R-URI replacement.
#include <doctest/doctest.h>

#include <string>

#include "core/parser/msg_parser.h"
#include "core/proxy/request_forward_builder.h"

using namespace sipsd;

namespace {

const std::string kReq =
    "MESSAGE sip:bob@192.0.2.9 SIP/2.0\r\n"
    "User-Agent: ua1\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKm1\r\n"
    "Route: <sip:198.51.100.1;lr>, <sip:198.51.100.1:5061;transport=tls;lr>\r\n"
    "Route: <sip:192.0.2.50:5080;lr>\r\n"
    "Max-Forwards: 5\r\n"
    "From: <sip:alice@a.example>;tag=ft1\r\n"
    "To: <sip:bob@b.example>\r\n"
    "X-Secret: s\r\n"
    "x-secret: s2\r\n"
    "Call-ID: m-1\r\n"
    "CSeq: 1 MESSAGE\r\n"
    "Content-Length: 2\r\n\r\n"
    "hi";

const LocalVia kOut{Proto::UDP, "198.51.100.1", 5060};
const LocalVia kIn{Proto::TLS, "198.51.100.1", 5061};

std::string build(const MsgEdits& e, ForwardOptions opt = {}) {
  SipMsg m;
  std::string err, out;
  REQUIRE(parseMessage(kReq, m, err));
  ReceiveInfo rcv;
  rcv.proto = Proto::UDP;
  rcv.src = *SockAddr::fromString("192.0.2.1:5070");
  opt.edits = &e;
  opt.branch = "z9hG4bKtest";
  REQUIRE_MESSAGE(buildForwardedRequest(m, rcv, kOut, opt, out, err), err);
  SipMsg check;
  REQUIRE_MESSAGE(parseMessage(out, check, err), (err + "\n" + out));  // still a valid message
  return out;
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("no edits: the message is relayed as before") {
  MsgEdits e;
  std::string out = build(e);
  CHECK(out.find("Route: <sip:198.51.100.1;lr>, <sip:198.51.100.1:5061;transport=tls;lr>\r\n") != std::string::npos);
  CHECK(out.find("Max-Forwards: 4\r\n") != std::string::npos);
  CHECK(out.find("Record-Route") == std::string::npos);
}

TEST_CASE("append_hf lines go after the last header, before the body") {
  MsgEdits e;
  e.appendHeaders = "X-A: 1\r\nX-B: 2\r\n";
  std::string out = build(e);
  CHECK(out.find("Content-Length: 2\r\nX-A: 1\r\nX-B: 2\r\n\r\nhi") != std::string::npos);
}

TEST_CASE("remove_hf drops every instance, any case, and keeps the rest") {
  MsgEdits e;
  e.removeHeaders = {"X-SECRET", "User-Agent"};
  std::string out = build(e);
  CHECK(out.find("ecret") == std::string::npos);
  CHECK(out.find("User-Agent") == std::string::npos);
  CHECK(out.find("Call-ID: m-1\r\n") != std::string::npos);
  // Our Via still goes on top, right after the start line.
  CHECK(out.rfind("MESSAGE sip:bob@192.0.2.9 SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKtest", 0) == 0);
}

TEST_CASE("Route entries are stripped across headers") {
  MsgEdits e;
  SUBCASE("the first entry of a header: the rest stays in it") {
    e.stripRoutes = 1;
    std::string out = build(e);
    CHECK(out.find("Route: <sip:198.51.100.1:5061;transport=tls;lr>\r\nRoute: <sip:192.0.2.50:5080;lr>\r\n") !=
          std::string::npos);
    CHECK(count(out, "Route:") == 2);
  }
  SUBCASE("a whole header goes") {
    e.stripRoutes = 2;
    std::string out = build(e);
    CHECK(count(out, "Route:") == 1);
    CHECK(out.find("Route: <sip:192.0.2.50:5080;lr>\r\n") != std::string::npos);
  }
  SUBCASE("all of them") {
    e.stripRoutes = 3;
    std::string out = build(e);
    CHECK(out.find("Route") == std::string::npos);
  }
}

TEST_CASE("Record-Route: one when in and out are the same socket, two with r2=on when they differ") {
  MsgEdits e;
  e.recordRoute.enabled = true;
  SUBCASE("same socket") {
    ForwardOptions o;
    o.inbound = kOut;
    std::string out = build(e, o);
    CHECK(count(out, "Record-Route:") == 1);
    CHECK(out.find("Record-Route: <sip:198.51.100.1:5060;lr>\r\n") != std::string::npos);
  }
  SUBCASE("TLS in, UDP out: the outgoing side on top") {
    ForwardOptions o;
    o.inbound = kIn;
    e.recordRoute.params = ";ftag=ft1";
    std::string out = build(e, o);
    CHECK(out.find("Record-Route: <sip:198.51.100.1:5060;r2=on;lr;ftag=ft1>\r\n"
                   "Record-Route: <sip:198.51.100.1:5061;transport=tls;r2=on;lr;ftag=ft1>\r\n") != std::string::npos);
  }
  SUBCASE("enable_double_rr=0") {
    ForwardOptions o;
    o.inbound = kIn;
    e.recordRoute.doubleRr = false;
    std::string out = build(e, o);
    CHECK(count(out, "Record-Route:") == 1);
  }
  SUBCASE("preset") {
    e.recordRoute.preset = "proxy.example.com:5070";
    std::string out = build(e);
    CHECK(out.find("Record-Route: <sip:proxy.example.com:5070;lr>\r\n") != std::string::npos);
  }
  SUBCASE("with the first header removed, the Record-Route is still inserted") {
    e.removeHeaders = {"User-Agent"};
    std::string out = build(e);
    CHECK(count(out, "Record-Route:") == 1);
  }
}

TEST_CASE("R-URI replacement and Max-Forwards insertion") {
  MsgEdits e;
  ForwardOptions o;
  o.ruri = "sip:carol@192.0.2.77:5090";
  std::string out = build(e, o);
  CHECK(out.rfind("MESSAGE sip:carol@192.0.2.77:5090 SIP/2.0\r\n", 0) == 0);

  // Without a Max-Forwards, mf_process_maxfwd_header(N) decides the inserted value.
  std::string text = kReq;
  text.erase(text.find("Max-Forwards: 5\r\n"), 17);
  SipMsg m;
  std::string err, out2;
  REQUIRE(parseMessage(text, m, err));
  e.maxForwardsInsert = 10;
  ForwardOptions o2;
  o2.edits = &e;
  ReceiveInfo rcv;
  rcv.src = *SockAddr::fromString("192.0.2.1:5070");
  REQUIRE(buildForwardedRequest(m, rcv, kOut, o2, out2, err));
  CHECK(out2.find("Max-Forwards: 10\r\n") != std::string::npos);
}

TEST_CASE("a bad Route header is an error, not a crash") {
  std::string text = kReq;
  text.replace(text.find("Route: <sip:192.0.2.50:5080;lr>"), 31, "Route: <sip:192.0.2.50:5080;lr");
  SipMsg m;
  std::string err, out;
  REQUIRE(parseMessage(text, m, err));
  MsgEdits e;
  e.stripRoutes = 3;
  ForwardOptions o;
  o.edits = &e;
  ReceiveInfo rcv;
  CHECK_FALSE(buildForwardedRequest(m, rcv, kOut, o, out, err));
  CHECK(err.find("Route") != std::string::npos);
}

TEST_CASE("strict-router fix-up: the last Route entry goes, with leading ones in the same header") {
  MsgEdits e;
  e.stripLastRoute = true;
  std::string out = build(e);
  CHECK(count(out, "Route:") == 1);
  CHECK(out.find("Route: <sip:198.51.100.1;lr>, <sip:198.51.100.1:5061;transport=tls;lr>\r\n") != std::string::npos);
  e.stripRoutes = 1;
  out = build(e);
  CHECK(out.find("Route: <sip:198.51.100.1:5061;transport=tls;lr>\r\nMax-Forwards") != std::string::npos);
  CHECK(count(out, "Route:") == 1);
}

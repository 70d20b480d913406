// Relayed replies: top Via removal and the next hop from the following Via.
#include <doctest/doctest.h>

#include <string>

#include "core/parser/msg_parser.h"
#include "core/proxy/reply_forward_builder.h"

using namespace sipsd;

namespace {
SipMsg parsed(const std::string& text) {
  SipMsg m;
  std::string err;
  REQUIRE_MESSAGE(parseMessage(text, m, err), err);
  return m;
}
}  // namespace

TEST_CASE("top Via header removed when it holds one value") {
  std::string text =
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS proxy:5061;branch=z9hG4bKp\r\n"
      "Via: SIP/2.0/UDP client;branch=z9hG4bKc;rport=5099;received=192.0.2.9\r\nCSeq: 1 INVITE\r\n"
      "Content-Length: 2\r\n\r\nokEXTRA";
  SipMsg rep = parsed(text);
  std::string out, err;
  REQUIRE(buildForwardedReply(rep, out, err));
  CHECK(out ==
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP client;branch=z9hG4bKc;rport=5099;received=192.0.2.9\r\n"
        "CSeq: 1 INVITE\r\nContent-Length: 2\r\n\r\nok");
  ReplyHop hop;
  REQUIRE(nextReplyHop(rep, hop, err));
  CHECK(hop.proto == Proto::UDP);
  CHECK_FALSE(hop.reliable);
  CHECK(hop.host == "192.0.2.9");
  CHECK(hop.port == 5099);
  CHECK(hop.via.branch == "z9hG4bKc");
}

TEST_CASE("first value removed from a multi-value Via; next hop defaults") {
  std::string text =
      "SIP/2.0 180 Ringing\r\nv: SIP/2.0/TLS proxy;branch=z9hG4bKp ,\r\n SIP/2.0/TLS [2001:db8::7];branch=z9hG4bKc\r\n\r\n";
  SipMsg rep = parsed(text);
  std::string out, err;
  REQUIRE(buildForwardedReply(rep, out, err));
  CHECK(out == "SIP/2.0 180 Ringing\r\nv: SIP/2.0/TLS [2001:db8::7];branch=z9hG4bKc\r\n\r\n");
  SipMsg fwd = parsed(out);
  CHECK(fwd.headers.size() == 1);
  ReplyHop hop;
  REQUIRE(nextReplyHop(rep, hop, err));
  CHECK(hop.proto == Proto::TLS);
  CHECK(hop.reliable);
  CHECK(hop.host == "2001:db8::7");
  CHECK(hop.port == 5061);
}

TEST_CASE("maddr wins; missing or broken Vias are errors") {
  std::string text =
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP p;branch=z9hG4bKp\r\nVia: SIP/2.0/UDP c:5070;maddr=239.1.1.1;received=1.2.3.4\r\n\r\n";
  SipMsg rep = parsed(text);
  ReplyHop hop;
  std::string err, out;
  REQUIRE(nextReplyHop(rep, hop, err));
  CHECK(hop.host == "239.1.1.1");
  CHECK(hop.port == 5070);

  std::string one = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP p;branch=z9hG4bKp\r\n\r\n";
  SipMsg r1 = parsed(one);
  REQUIRE(buildForwardedReply(r1, out, err));
  CHECK(out == "SIP/2.0 200 OK\r\n\r\n");
  CHECK_FALSE(nextReplyHop(r1, hop, err));
  CHECK(err == "reply has no second Via to relay it to");
  std::string none = "SIP/2.0 200 OK\r\n\r\n";
  SipMsg r0 = parsed(none);
  CHECK_FALSE(buildForwardedReply(r0, out, err));
  CHECK(err == "reply has no Via header");
  std::string broken = "SIP/2.0 200 OK\r\nVia: ???\r\n\r\n";
  SipMsg rb = parsed(broken);
  CHECK_FALSE(buildForwardedReply(rb, out, err));
  CHECK(err.find("bad Via") != std::string::npos);
}

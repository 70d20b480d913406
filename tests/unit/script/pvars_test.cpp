// Pseudo-variables, $ru/$du assignment and xlog format strings, compiled and run on a real
// parsed message.
#include "core/parser/msg_parser.h"
#include "script_fixture.h"

namespace {

const char* kInvite =
    "INVITE sip:bob@example.org:5070;transport=tcp SIP/2.0\r\n"
    "Via: SIP/2.0/TLS 10.1.2.3:40000;branch=z9hG4bK1\r\n"
    "From: \"Alice\" <sip:alice@atlanta.example>;tag=ft1\r\n"
    "To: <sip:bob@example.org>\r\n"
    "Call-ID: cid-42@atlanta\r\n"
    "CSeq: 7 INVITE\r\n"
    "User-Agent: phone/1.0\r\n"
    "X-Color: blue\r\n"
    "Content-Length: 0\r\n\r\n";

struct PvFixture : sipsd::test::Fixture {
  std::string buf;
  explicit PvFixture(const char* text = kInvite) : buf(text) {
    std::string err;
    REQUIRE_MESSAGE(sipsd::parseMessage(buf, msg, err), err);
  }
};

}  // namespace

TEST_CASE("pseudo-variables read the message, the transport and what the script set") {
  PvFixture f;
  f.run(R"(route {
    xlog("L_INFO", "$rm|$ru|$rU|$rd|$rp|$si|$sp|$Ri|$Rp|$pr|$proto\n");
    xlog(L_INFO, "$fu|$fU|$fd|$ft|$tu|$tU|$td|$tt|$ci|$cs|$ua|$hdr(X-Color)|$hdr(X-None)|$du|$rs|$T_reply_code");
    xlog(L_DBG, "via @via[1].host:@via[1].port, user@example.com \$rm \@via");
  })");
  REQUIRE(f.core.lines.size() == 3);
  CHECK(f.core.lines[0] ==
        "3 INVITE|sip:bob@example.org:5070;transport=tcp|bob|example.org|5070|10.1.2.3|40000|127.0.0.1|5061|tls|tls");
  CHECK(f.core.lines[1] ==
        "3 sip:alice@atlanta.example|alice|atlanta.example|ft1|sip:bob@example.org|bob|example.org|<null>|"
        "cid-42@atlanta|7|phone/1.0|blue|<null>|<null>|<null>|<null>");
  CHECK(f.core.lines[2] == "4 via 10.1.2.3:40000, user@example.com $rm @via");
}

TEST_CASE("$ru and $du are assignable; $ru's family reads the new URI; conditions and arguments take $pv") {
  PvFixture f;
  int r = f.run(R"(route {
    if ($rm != "INVITE" || $rU != "bob") { t(0); }
    $ru = "sip:carol@" + $si + ":5080";
    $du = "sip:10.0.0.2:5060;transport=tls";
    t(1, $rU, $rd);
    t(1, $rp, $du);
    if ($hdr(X-Color) =~ "^bl") { t(1, $ru); }
    xlog("$ru");
  })");
  CHECK(r == 1);
  CHECK(f.calls == std::vector<std::string>{"t(1,carol,10.1.2.3)", "t(1,5080,sip:10.0.0.2:5060;transport=tls)",
                                            "t(1,sip:carol@10.1.2.3:5080)"});
  CHECK(f.core.lines == std::vector<std::string>{"0 sip:carol@10.1.2.3:5080"});  // xlog without level: L_ERR
}

TEST_CASE("replies: $rs, $rr, $rm from the CSeq, $T_reply_code; a level above debug= interpolates nothing") {
  PvFixture f("SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK2\r\nCSeq: 3 INVITE\r\n"
              "Call-ID: x\r\nContent-Length: 0\r\n\r\n");
  f.core.level = 2;
  f.run(R"(onreply_route { xlog(L_NOTICE, "$rs $rr $rm $T_reply_code $rp"); xlog(L_INFO, "hidden $rs"); })");
  CHECK(f.core.lines == std::vector<std::string>{"2 486 Busy Here INVITE 486 <null>"});
}

// loose_route(): our Route entries stripped, next hop from the next Route, pre-loaded foreign
// routes, strict-router fix-up (RFC 3261 §16.4) and strict next hops (§16.6 item 7); checked
// on the request the forward builder then produces.
#include <doctest/doctest.h>

#include <string>

#include "core/parser/msg_parser.h"
#include "core/proxy/request_forward_builder.h"
#include "fake_core.h"
#include "modules/rr/loose_router.h"

using namespace sipsd;

namespace {

// "Us" is 10.0.0.1 (any port) and proxy.example.com.
bool isUs(std::string_view uri) {
  return uri.find("10.0.0.1") != std::string_view::npos || uri.find("proxy.example.com") != std::string_view::npos;
}

struct Run {
  std::string text;
  SipMsg msg;
  ReceiveInfo rcv;
  test::FakeCore core;
  std::unique_ptr<ScriptContext> ctx;
  int ret = 0;
  std::string out;

  Run(const std::string& ruri, const std::string& routes) {
    text = "BYE " + ruri + " SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n" + routes +
           "From: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: c\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";
    std::string err;
    REQUIRE_MESSAGE(parseMessage(text, msg, err), err);
    rcv.proto = Proto::UDP;
    rcv.src = *SockAddr::fromString("192.0.2.1:5060");
    ctx = std::make_unique<ScriptContext>(msg, rcv, core);
    rr::LooseRouter router(isUs);
    ret = router.route(*ctx, err);
    ForwardOptions opt;
    opt.edits = &ctx->edits;
    opt.ruri = ctx->newRuri;
    REQUIRE_MESSAGE(buildForwardedRequest(msg, rcv, LocalVia{Proto::UDP, "10.0.0.1", 5060}, opt, out, err), err);
  }
};

}  // namespace

TEST_CASE("no Route: -1 and nothing changes") {
  Run r("sip:b@192.0.2.9", "");
  CHECK(r.ret == -1);
  CHECK(r.ctx->dstUri.empty());
  CHECK(r.ctx->edits.empty());
}

TEST_CASE("our entries (double Record-Route) are stripped; the request-URI is the next hop") {
  Run r("sip:b@192.0.2.9:5070",
        "Route: <sip:10.0.0.1:5060;r2=on;lr>\r\nRoute: <sip:10.0.0.1:5061;transport=tls;r2=on;lr>\r\n");
  CHECK(r.ret == 1);
  CHECK(r.ctx->dstUri.empty());
  CHECK(r.out.find("Route") == std::string::npos);
  CHECK(r.out.rfind("BYE sip:b@192.0.2.9:5070 SIP/2.0\r\n", 0) == 0);
}

TEST_CASE("pre-loaded Route: <us;lr>, <next;lr>: next becomes $du, our entry goes") {
  Run r("sip:b@192.0.2.9", "Route: <sip:proxy.example.com;lr>, <sip:192.0.2.50:5080;lr>\r\n");
  CHECK(r.ret == 1);
  CHECK(r.ctx->dstUri == "sip:192.0.2.50:5080;lr");
  CHECK(r.out.find("Route: <sip:192.0.2.50:5080;lr>\r\n") != std::string::npos);
  CHECK(r.out.find("proxy.example.com") == std::string::npos);
}

TEST_CASE("a foreign pre-loaded Route: -3, $du is its top, nothing stripped") {
  Run r("sip:b@192.0.2.9", "Route: <sip:192.0.2.50:5080;lr>\r\n");
  CHECK(r.ret == -3);
  CHECK(r.ctx->dstUri == "sip:192.0.2.50:5080;lr");
  CHECK(r.out.find("Route: <sip:192.0.2.50:5080;lr>\r\n") != std::string::npos);
}

TEST_CASE("strict router before us: R-URI is ours, the last Route becomes the R-URI") {
  Run r("sip:10.0.0.1;lr", "Route: <sip:192.0.2.60;lr>, <sip:bob@192.0.2.9:5070>\r\n");
  CHECK(r.ret == 1);
  CHECK(r.ctx->newRuri == "sip:bob@192.0.2.9:5070");
  CHECK(r.ctx->dstUri == "sip:192.0.2.60;lr");
  CHECK(r.out.rfind("BYE sip:bob@192.0.2.9:5070 SIP/2.0\r\n", 0) == 0);
  CHECK(r.out.find("Route: <sip:192.0.2.60;lr>\r\n") != std::string::npos);
  CHECK(r.out.find("bob@192.0.2.9:5070>") == std::string::npos);
}

TEST_CASE("a strict router next: it becomes the R-URI and the R-URI the last Route") {
  Run r("sip:b@192.0.2.9", "Route: <sip:10.0.0.1;lr>, <sip:192.0.2.70>\r\n");
  CHECK(r.ret == 1);
  CHECK(r.ctx->newRuri == "sip:192.0.2.70");
  CHECK(r.out.rfind("BYE sip:192.0.2.70 SIP/2.0\r\n", 0) == 0);
  CHECK(r.out.find("Route: <sip:b@192.0.2.9>\r\n") != std::string::npos);
  CHECK(r.out.find("10.0.0.1;lr") == std::string::npos);
}

TEST_CASE("a malformed Route is -1 with a reason") {
  SipMsg msg;
  std::string text =
      "BYE sip:b@192.0.2.9 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nRoute: <sip:10.0.0.1;lr\r\n"
      "From: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: c\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";
  std::string err;
  REQUIRE(parseMessage(text, msg, err));
  ReceiveInfo rcv;
  test::FakeCore core;
  ScriptContext ctx(msg, rcv, core);
  CHECK(rr::LooseRouter(isUs).route(ctx, err) == -1);
  CHECK(err.find("Route") != std::string::npos);
}

// Unit tests of sipsd-bench's call mode: the requests of a call (CallBuilder), the reply fields
// and route set (CallReply) and the calls' state machine (CallSet), fed with replies as a
// record-routing proxy and a UAS (sipp, uas.xml) send them.  Part of the bench_unit test.
#include <doctest/doctest.h>

#include "call_builder.h"
#include "call_reply.h"
#include "call_set.h"
#include "sip_framer.h"
#include "sip_text.h"

#include <chrono>
#include <cstring>
#include <string>
#include <string_view>

using namespace sipsd::bench;
using namespace std::chrono_literals;

namespace {

// The value of header `name` in `msg` ("" if absent).
std::string header(std::string_view msg, std::string_view name) {
  std::size_t pos = msg.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < msg.size()) {
    const std::size_t eol = msg.find("\r\n", pos + 2);
    const std::string_view line = msg.substr(pos + 2, eol - pos - 2);
    std::string_view v;
    if (headerIs(line, name, 0, &v)) return std::string(v);
    pos = eol;
  }
  return "";
}

std::string firstLine(std::string_view msg) { return std::string(msg.substr(0, msg.find("\r\n"))); }

// A reply to `request` as the proxy relays the UAS's: Via/From/Call-ID/CSeq copied, To with
// `toTag` (none if empty), then `extra` header lines (Record-Route, Contact).
std::string replyTo(std::string_view request, std::string_view status, std::string_view toTag,
                    std::string_view extra = {}) {
  std::string to = header(request, "to");
  if (!toTag.empty() && to.find(";tag=") == std::string::npos) to += ";tag=" + std::string(toTag);
  return "SIP/2.0 " + std::string(status) + "\r\nVia: " + header(request, "via") + "\r\n" + std::string(extra) +
         "From: " + header(request, "from") + "\r\nTo: " + to + "\r\nCall-ID: " + header(request, "call-id") +
         "\r\nCSeq: " + header(request, "cseq") + "\r\nContent-Length: 0\r\n\r\n";
}

// Exactly one framed message in `out` (and `out` emptied).
std::string take(std::string* out) {
  SipFramer f;
  std::size_t room = 0;
  char* p = f.writable(out->size() + 1, &room);
  std::memcpy(p, out->data(), out->size());
  f.commit(out->size());
  std::string_view msg;
  std::string error;
  REQUIRE(f.next(&msg, &error) == SipFramer::Result::kMessage);
  std::string one(msg);
  CHECK(f.next(&msg, &error) == SipFramer::Result::kNeedMore);
  out->clear();
  return one;
}

constexpr std::string_view kRecordRoutes =
    "Record-Route: <sip:127.0.0.1:5060;r2=on;lr>\r\n"
    "Record-Route: <sip:127.0.0.1:5061;transport=tls;r2=on;lr>\r\n";
constexpr std::string_view kContact = "Contact: <sip:127.0.0.1:7000;transport=UDP>\r\n";

}  // namespace

TEST_CASE("call requests: INVITE of a slot, Call-ID round trip, transport in Contact") {
  CallBuilder b;
  b.prepare("TLS", "127.0.0.1:40000", "sip:service@127.0.0.1:7000", "t1");
  std::string out;
  b.invite(3, 42, &out);
  const std::string inv = take(&out);
  CHECK(firstLine(inv) == "INVITE sip:service@127.0.0.1:7000 SIP/2.0");
  CHECK(header(inv, "via") == "SIP/2.0/TLS 127.0.0.1:40000;branch=z9hG4bK-t1-42i;rport");
  CHECK(header(inv, "call-id") == "3.42-t1@sipsd-bench");
  CHECK(header(inv, "cseq") == "1 INVITE");
  CHECK(header(inv, "from") == "<sip:uac@bench.example>;tag=t1-42");
  CHECK(header(inv, "to") == "<sip:service@127.0.0.1:7000>");
  CHECK(header(inv, "contact") == "<sip:uac@127.0.0.1:40000;transport=tls>");
  CHECK(header(inv, "max-forwards") == "70");
  CHECK(header(inv, "content-length") == "0");

  std::uint32_t slot = 0;
  std::uint64_t seq = 0;
  REQUIRE(b.parseCallId("3.42-t1@sipsd-bench", &slot, &seq));
  CHECK(slot == 3);
  CHECK(seq == 42);
  CHECK_FALSE(b.parseCallId("3.42-t2@sipsd-bench", &slot, &seq));  // another connection's
  CHECK_FALSE(b.parseCallId("3.42-t1@sipsd-bench.x", &slot, &seq));
  CHECK_FALSE(b.parseCallId("342-t1@sipsd-bench", &slot, &seq));
  CHECK_FALSE(b.parseCallId("x.42-t1@sipsd-bench", &slot, &seq));
  CHECK_FALSE(b.parseCallId("", &slot, &seq));

  CallBuilder udp;
  udp.prepare("UDP", "127.0.0.1:40000", "sip:service@127.0.0.1:7000", "t1");
  udp.invite(0, 1, &out);
  CHECK(header(take(&out), "contact") == "<sip:uac@127.0.0.1:40000>");
}

TEST_CASE("call replies: fields, compact forms, To tag, Contact URI") {
  CallReply r;
  std::string error;
  const std::string msg =
      "SIP/2.0 200 OK\r\nv: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK1\r\ni: abc@x\r\nt: <sip:b@h>;tag=99\r\n"
      "f: <sip:a@h>;tag=1\r\nCSeq: 2 BYE\r\nm: \"Bob, B\" <sip:b@10.0.0.1:5070;transport=UDP>;expires=60, <sip:c@h>\r\n"
      "l: 0\r\n\r\n";
  REQUIRE(r.parse(msg, &error));
  CHECK(r.status() == 200);
  CHECK(r.statusLine() == "SIP/2.0 200 OK");
  CHECK(r.callId() == "abc@x");
  CHECK(r.cseqMethod() == "BYE");
  CHECK(r.to() == "<sip:b@h>;tag=99");
  CHECK(r.toHasTag());
  CHECK(r.contactUri() == "sip:b@10.0.0.1:5070;transport=UDP");
  CHECK(r.routeCount() == 0);
  std::string route;
  r.appendRouteHeader(&route);
  CHECK(route.empty());

  REQUIRE(r.parse("SIP/2.0 180 Ringing\r\nCall-ID: a\r\nCSeq: 1 INVITE\r\nTo: <sip:b@h;tag=x>\r\n"
                  "Contact: sip:b@h:5;expires=3\r\n\r\n", &error));
  CHECK_FALSE(r.toHasTag());  // a URI parameter, not the header's
  CHECK(r.contactUri() == "sip:b@h:5");
  REQUIRE(r.parse("SIP/2.0 200 OK\r\nCall-ID: a\r\nCSeq: 1 INVITE\r\nTo: sip:b@h ; TAG = 7\r\n\r\n", &error));
  CHECK(r.toHasTag());
  CHECK(r.contactUri().empty());
  REQUIRE(r.parse("SIP/2.0 200 OK\r\nCall-ID: a\r\nCSeq: 1 INVITE\r\nTo: <sip:b@h>;tag=\r\n\r\n", &error));
  CHECK_FALSE(r.toHasTag());

  CHECK_FALSE(r.parse("INVITE sip:b@h SIP/2.0\r\nCall-ID: a\r\nCSeq: 1 INVITE\r\n\r\n", &error));
  CHECK(error == "not a SIP reply");
  CHECK_FALSE(r.parse("SIP/2.0 200 OK\r\nCSeq: 1 INVITE\r\n\r\n", &error));
  CHECK(error.find("without Call-ID") != std::string::npos);
  CHECK_FALSE(r.parse("SIP/2.0 200 OK\r\nCall-ID: a\r\nCSeq: 1\r\n\r\n", &error));
  CHECK(error.find("CSeq") != std::string::npos);
}

TEST_CASE("route set: Record-Route entries of all headers, reversed, commas inside <> and quotes kept") {
  CallReply r;
  std::string error;
  REQUIRE(r.parse("SIP/2.0 200 OK\r\nCall-ID: a\r\nCSeq: 1 INVITE\r\n"
                  "Record-Route: <sip:p3;lr>, \"x, y\" <sip:p2;lr;a=b,c>\r\n"
                  "record-route :  <sip:p1;lr>  \r\nTo: <sip:b@h>;tag=1\r\n\r\n", &error));
  REQUIRE(r.routeCount() == 3);
  CHECK(r.route(0) == "<sip:p3;lr>");
  CHECK(r.route(1) == "\"x, y\" <sip:p2;lr;a=b,c>");
  CHECK(r.route(2) == "<sip:p1;lr>");
  std::string route;
  r.appendRouteHeader(&route);
  CHECK(route == "Route: <sip:p1;lr>, \"x, y\" <sip:p2;lr;a=b,c>, <sip:p3;lr>\r\n");
  CHECK_FALSE(r.tooManyRoutes());

  std::string many = "SIP/2.0 200 OK\r\nCall-ID: a\r\nCSeq: 1 INVITE\r\nRecord-Route: ";
  for (int i = 0; i < 17; ++i) many += (i ? ", " : "") + std::string("<sip:p;lr>");
  REQUIRE(r.parse(many + "\r\n\r\n", &error));
  CHECK(r.tooManyRoutes());
}

TEST_CASE("call set: a whole call, INVITE -> 100/180 -> 200 -> ACK -> hang-up delay -> BYE -> 200") {
  CallSet calls;
  calls.prepare("UDP", "127.0.0.1:40000", "sip:service@127.0.0.1:7000", "t1", 2, 20ms, 8s);
  const auto t0 = CallSet::Clock::time_point{} + 1h;
  std::string out;
  REQUIRE_FALSE(calls.full());
  calls.start(t0, &out);
  const std::string inv = take(&out);
  CHECK(calls.inflight() == 1);

  for (const char* status : {"100 Trying", "180 Ringing"}) {
    const auto r = calls.onMessage(replyTo(inv, status, status[0] == '1' && status[1] == '8' ? "uas1" : ""),
                                   t0 + 1ms, &out, true);
    CHECK(r.outcome == CallSet::Outcome::kNothing);
    CHECK(out.empty());
  }
  const auto ok = replyTo(inv, "200 OK", "uas1", std::string(kRecordRoutes) + std::string(kContact));
  auto r = calls.onMessage(ok, t0 + 2ms, &out, true);
  CHECK(r.outcome == CallSet::Outcome::kAnswered);
  CHECK(r.latency == 2ms);
  const std::string ack = take(&out);
  CHECK(firstLine(ack) == "ACK sip:127.0.0.1:7000;transport=UDP SIP/2.0");
  CHECK(header(ack, "route") == "<sip:127.0.0.1:5061;transport=tls;r2=on;lr>, <sip:127.0.0.1:5060;r2=on;lr>");
  CHECK(header(ack, "to") == "<sip:service@127.0.0.1:7000>;tag=uas1");
  CHECK(header(ack, "from") == header(inv, "from"));
  CHECK(header(ack, "call-id") == header(inv, "call-id"));
  CHECK(header(ack, "cseq") == "1 ACK");
  CHECK(header(ack, "via") != header(inv, "via"));  // a 2xx's ACK is a transaction of its own

  // The BYE waits for the hang-up delay.
  REQUIRE(calls.nextByeDue().has_value());
  CHECK(*calls.nextByeDue() == t0 + 22ms);
  CHECK_FALSE(calls.nextBye(t0 + 21ms, &out));
  CHECK(out.empty());
  REQUIRE(calls.nextBye(t0 + 22ms, &out));
  const std::string bye = take(&out);
  CHECK_FALSE(calls.nextBye(t0 + 1s, &out));
  CHECK(firstLine(bye) == "BYE sip:127.0.0.1:7000;transport=UDP SIP/2.0");
  CHECK(header(bye, "route") == header(ack, "route"));
  CHECK(header(bye, "to") == header(ack, "to"));
  CHECK(header(bye, "cseq") == "2 BYE");
  CHECK(header(bye, "via") != header(ack, "via"));

  // A retransmitted 200 to the INVITE is ACKed again and changes nothing.
  r = calls.onMessage(ok, t0 + 23ms, &out, true);
  CHECK(r.outcome == CallSet::Outcome::kNothing);
  CHECK(take(&out) == ack);

  r = calls.onMessage(replyTo(bye, "200 OK", ""), t0 + 25ms, &out, true);
  CHECK(r.outcome == CallSet::Outcome::kCompleted);
  CHECK(r.latency == 3ms);
  CHECK(calls.inflight() == 0);
  CHECK(out.empty());
  // Anything later for this call is late, not a second outcome.
  CHECK(calls.onMessage(replyTo(bye, "200 OK", ""), t0 + 26ms, &out, true).outcome == CallSet::Outcome::kLate);
}

TEST_CASE("call set: failures are counted once and never as completed calls") {
  CallSet calls;
  calls.prepare("TLS", "127.0.0.1:40000", "sip:service@127.0.0.1:7000", "t1", 3, 0ms, 8s);
  const auto t0 = CallSet::Clock::time_point{} + 1h;
  std::string out;

  SUBCASE("a non-2xx to the INVITE fails the call and is ACKed in its transaction") {
    calls.start(t0, &out);
    const std::string inv = take(&out);
    const auto r = calls.onMessage(replyTo(inv, "486 Busy Here", "u", std::string(kRecordRoutes)), t0, &out, true);
    CHECK(r.outcome == CallSet::Outcome::kRejected);
    CHECK(r.detail == "INVITE answered: SIP/2.0 486 Busy Here");
    const std::string ack = take(&out);
    CHECK(firstLine(ack) == "ACK sip:service@127.0.0.1:7000 SIP/2.0");
    CHECK(header(ack, "via") == header(inv, "via"));
    CHECK(header(ack, "route").empty());
    CHECK(header(ack, "to") == "<sip:service@127.0.0.1:7000>;tag=u");
    CHECK(header(ack, "cseq") == "1 ACK");
    CHECK(calls.inflight() == 0);
    CHECK_FALSE(calls.nextByeDue().has_value());
  }
  SUBCASE("a 2xx without a To tag is a bad reply: no ACK, no BYE") {
    calls.start(t0, &out);
    const std::string inv = take(&out);
    const auto r = calls.onMessage(replyTo(inv, "200 OK", ""), t0, &out, true);
    CHECK(r.outcome == CallSet::Outcome::kBadReply);
    CHECK(out.empty());
    CHECK(calls.inflight() == 0);
    CHECK_FALSE(calls.nextBye(t0 + 1s, &out));
  }
  SUBCASE("a non-2xx to the BYE fails the call") {
    calls.start(t0, &out);
    const std::string inv = take(&out);
    CHECK(calls.onMessage(replyTo(inv, "200 OK", "u", kContact), t0, &out, true).outcome ==
          CallSet::Outcome::kAnswered);
    take(&out);
    REQUIRE(calls.nextBye(t0, &out));  // hang-up delay 0: due at once
    const std::string bye = take(&out);
    CHECK(header(bye, "route").empty());  // no Record-Route, no Route
    const auto r = calls.onMessage(replyTo(bye, "481 Call/Transaction Does Not Exist", ""), t0, &out, true);
    CHECK(r.outcome == CallSet::Outcome::kRejected);
    CHECK(calls.inflight() == 0);
  }
  SUBCASE("a reply to the BYE before the BYE was sent breaks the flow") {
    calls.start(t0, &out);
    const std::string inv = take(&out);
    std::string fake = replyTo(inv, "200 OK", "u");
    fake.replace(fake.find("1 INVITE"), 8, "2 BYE");
    CHECK(calls.onMessage(fake, t0, &out, true).outcome == CallSet::Outcome::kBadReply);
    CHECK(calls.inflight() == 0);
  }
  SUBCASE("calls time out after the timeout; their replies are late afterwards") {
    calls.start(t0, &out);
    const std::string inv1 = take(&out);
    calls.start(t0 + 1s, &out);
    take(&out);
    CHECK(calls.expire(t0 + 8s) == 0);
    CHECK(calls.expire(t0 + 8s + 1ms) == 0);  // scanned at most every 50 ms
    CHECK(calls.expire(t0 + 8s + 60ms) == 1);
    CHECK(calls.inflight() == 1);
    CHECK(calls.onMessage(replyTo(inv1, "200 OK", "u"), t0 + 9s, &out, true).outcome == CallSet::Outcome::kLate);
    CHECK(out.empty());
    // The slot is used again by the next call: the old call's replies still do not match.
    calls.start(t0 + 9s, &out);
    const std::string inv3 = take(&out);
    CHECK(header(inv3, "call-id").substr(0, 2) == header(inv1, "call-id").substr(0, 2));
    CHECK(calls.onMessage(replyTo(inv1, "200 OK", "u"), t0 + 9s, &out, true).outcome == CallSet::Outcome::kLate);
    CHECK(calls.onMessage(replyTo(inv3, "200 OK", "u"), t0 + 9s, &out, true).outcome == CallSet::Outcome::kAnswered);
  }
  SUBCASE("the window: full after `window` calls; abandon fails them all") {
    for (int i = 0; i < 3; ++i) calls.start(t0, &out);
    CHECK(calls.full());
    CHECK(calls.inflight() == 3);
    CHECK(calls.abandon() == 3);
    CHECK(calls.inflight() == 0);
    CHECK_FALSE(calls.full());
  }
  SUBCASE("messages that are not replies to our calls are strays") {
    CHECK(calls.onMessage("OPTIONS sip:x SIP/2.0\r\nCall-ID: a\r\nCSeq: 1 OPTIONS\r\n\r\n", t0, &out, true).outcome ==
          CallSet::Outcome::kStray);
    const auto r = calls.onMessage("SIP/2.0 200 OK\r\nCall-ID: 0.1-other@sipsd-bench\r\nCSeq: 1 INVITE\r\n\r\n", t0,
                                   &out, true);
    CHECK(r.outcome == CallSet::Outcome::kStray);
    CHECK(r.detail.find("0.1-other@sipsd-bench") != std::string::npos);
    CHECK(calls.onMessage("SIP/2.0 200 OK\r\nCall-ID: 7.1-t1@sipsd-bench\r\nCSeq: 1 INVITE\r\n\r\n", t0, &out, true)
              .outcome == CallSet::Outcome::kStray);  // slot beyond the window
  }
}

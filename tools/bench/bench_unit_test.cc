// Unit tests of the benchmark tools' pieces: Content-Length framing, the baseline's 200 OK,
// the OPTIONS text, the latency histogram, address parsing and sipsd-bench's phases (warm-up).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "bench_options.h"
#include "latency_histogram.h"
#include "net_addr.h"
#include "reply_builder.h"
#include "request_builder.h"
#include "run_control.h"
#include "sip_framer.h"
#include "sip_text.h"

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

using namespace sipsd::bench;
using namespace std::chrono_literals;

namespace {

void feed(SipFramer& f, std::string_view bytes) {
  std::size_t room = 0;
  char* p = f.writable(bytes.size(), &room);
  REQUIRE(room >= bytes.size());
  std::memcpy(p, bytes.data(), bytes.size());
  f.commit(bytes.size());
}

std::vector<std::string> drain(SipFramer& f) {
  std::vector<std::string> out;
  std::string_view msg;
  std::string error;
  while (f.next(&msg, &error) == SipFramer::Result::kMessage) out.emplace_back(msg);
  return out;
}

}  // namespace

TEST_CASE("framer: messages split at every byte, with bodies and keep-alives") {
  const std::string a = "SIP/2.0 200 OK\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
  const std::string b = "MESSAGE sip:x SIP/2.0\r\nl: 5\r\n\r\nhello";
  const std::string stream = "\r\n\r\n" + a + "\r\n" + b + a;
  SipFramer f;
  std::vector<std::string> got;
  for (char c : stream) {
    feed(f, std::string_view(&c, 1));
    for (auto& m : drain(f)) got.push_back(m);
  }
  REQUIRE(got.size() == 3);
  CHECK(got[0] == a);
  CHECK(got[1] == b);
  CHECK(got[2] == a);
  CHECK(f.buffered() == 0);
}

TEST_CASE("framer: malformed Content-Length and oversized headers are errors") {
  SipFramer f;
  feed(f, "SIP/2.0 200 OK\r\nContent-Length: 12x\r\n\r\n");
  std::string_view msg;
  std::string error;
  CHECK(f.next(&msg, &error) == SipFramer::Result::kError);
  CHECK(error.find("Content-Length") != std::string::npos);

  SipFramer g;
  feed(g, "SIP/2.0 200 OK\r\n" + std::string(70000, 'a'));
  CHECK(g.next(&msg, &error) == SipFramer::Result::kError);
}

TEST_CASE("sip text: status codes and header names") {
  CHECK(statusCode("SIP/2.0 200 OK\r\n") == 200);
  CHECK(statusCode("SIP/2.0 486 Busy\r\n") == 486);
  CHECK(statusCode("OPTIONS sip:a SIP/2.0\r\n") == -1);
  CHECK(statusCode("SIP/2.0 2x0 OK") == -1);
  std::string_view v;
  CHECK(headerIs("cOnTeNt-LeNgTh :  42 ", "content-length", 'l', &v));
  CHECK(v == "42");
  CHECK(headerIs("l:7", "content-length", 'l', &v));
  CHECK(v == "7");
  CHECK_FALSE(headerIs("Content-Type: x", "content-length", 'l', &v));
  CHECK(contentLength("Via: x\r\nContent-Length: 10\r\n") == 10u);
  CHECK(contentLength("Via: x\r\n") == 0u);
  CHECK_FALSE(contentLength("Content-Length: -1\r\n").has_value());
}

TEST_CASE("baseline reply: copies Via/From/To/Call-ID/CSeq, adds a To tag, skips ACK and replies") {
  const std::string req =
      "OPTIONS sip:127.0.0.1 SIP/2.0\r\n"
      "Via: SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK-1;rport\r\n"
      "v: SIP/2.0/TCP 10.0.0.2;branch=z9hG4bK-2\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:a@b>;tag=x\r\n"
      "To: <sip:c@d>\r\n"
      "i: abc@host\r\n"
      "CSeq: 7 OPTIONS\r\n"
      "Content-Length: 0\r\n\r\n";
  std::string out;
  REQUIRE(ReplyBuilder::append200(req, &out));
  CHECK(out ==
        "SIP/2.0 200 OK\r\n"
        "Via: SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK-1;rport\r\n"
        "v: SIP/2.0/TCP 10.0.0.2;branch=z9hG4bK-2\r\n"
        "From: <sip:a@b>;tag=x\r\n"
        "To: <sip:c@d>;tag=sipsd-baseline\r\n"
        "i: abc@host\r\n"
        "CSeq: 7 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n");

  std::string tagged;
  REQUIRE(ReplyBuilder::append200("BYE sip:x SIP/2.0\r\nTo: <sip:c@d>; tag=9\r\n\r\n", &tagged));
  CHECK(tagged.find("To: <sip:c@d>; tag=9\r\n") != std::string::npos);
  CHECK(tagged.find("sipsd-baseline") == std::string::npos);

  std::string none;
  CHECK_FALSE(ReplyBuilder::append200("ACK sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n", &none));
  CHECK_FALSE(ReplyBuilder::append200("SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", &none));
  CHECK(none.empty());
}

TEST_CASE("OPTIONS requests: framed, unique branch and Call-ID, rport, Content-Length 0") {
  RequestBuilder rb;
  rb.prepare("TLS", "127.0.0.1:40000", "sip:127.0.0.1:5061", "t1");
  std::string out;
  rb.append(1, &out);
  rb.append(2, &out);
  SipFramer f;
  feed(f, out);
  const auto msgs = drain(f);
  REQUIRE(msgs.size() == 2);
  CHECK(msgs[0].rfind("OPTIONS sip:127.0.0.1:5061 SIP/2.0\r\n", 0) == 0);
  CHECK(msgs[0].find("Via: SIP/2.0/TLS 127.0.0.1:40000;branch=z9hG4bK-t1-1;rport\r\n") != std::string::npos);
  CHECK(msgs[1].find("branch=z9hG4bK-t1-2;") != std::string::npos);
  CHECK(msgs[0].find("Call-ID: t1-1@sipsd-bench\r\n") != std::string::npos);
  CHECK(msgs[1].find("Call-ID: t1-2@sipsd-bench\r\n") != std::string::npos);
  CHECK(msgs[1].find("CSeq: 2 OPTIONS\r\n") != std::string::npos);
  CHECK(msgs[0].find("Content-Length: 0\r\n\r\n") == msgs[0].size() - 21);
  std::string reply;
  CHECK(ReplyBuilder::append200(msgs[0], &reply));
  CHECK(statusCode(reply) == 200);
}

namespace {

// The requests `count` appends of a builder make, framed one by one.
std::vector<std::string> requestsOf(RequestBuilder& rb, std::uint64_t count) {
  std::string out;
  for (std::uint64_t i = 1; i <= count; ++i) rb.append(i, &out);
  SipFramer f;
  feed(f, out);
  return drain(f);
}

}  // namespace

TEST_CASE("OPTIONS requests with --ruri-users: the R-URI user is spread over 0..N-1") {
  RequestBuilder rb;
  rb.prepare("UDP", "127.0.0.1:40000", "sip:u@example.com", "t1", 1000);
  const auto msgs = requestsOf(rb, 20000);
  REQUIRE(msgs.size() == 20000);
  std::vector<int> seen(1000, 0);
  std::vector<int> first;  // the first 20 users asked for
  for (const auto& m : msgs) {
    REQUIRE(m.rfind("OPTIONS sip:u", 0) == 0);
    const auto at = m.find("@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK-t1-");
    REQUIRE(at != std::string::npos);
    const int user = std::stoi(m.substr(13, at - 13));
    REQUIRE(user >= 0);
    REQUIRE(user < 1000);
    ++seen[static_cast<std::size_t>(user)];
    if (first.size() < 20) first.push_back(user);
    CHECK(m.find("To: <sip:u@example.com>\r\n") != std::string::npos);
  }
  // 20 requests per user on average: every user asked for, none more than a few times the mean.
  for (const int n : seen) {
    CHECK(n > 0);
    CHECK(n < 60);
  }
  // Another connection (tag) asks in another order.
  RequestBuilder other;
  other.prepare("UDP", "127.0.0.1:40001", "sip:u@example.com", "t2", 1000);
  std::vector<int> first2;
  for (const auto& m : requestsOf(other, 20)) first2.push_back(std::stoi(m.substr(13, m.find('@') - 13)));
  REQUIRE(first2.size() == 20);
  CHECK(first2 != first);
}

TEST_CASE("latency histogram: percentiles within a few percent") {
  LatencyHistogram h;
  CHECK(h.percentile(0.5) == 0);
  for (std::uint64_t i = 1; i <= 100000; ++i) h.record(i * 1000);  // 1 us .. 100 ms
  const double p50 = static_cast<double>(h.percentile(0.50));
  const double p99 = static_cast<double>(h.percentile(0.99));
  CHECK(p50 == doctest::Approx(50e6).epsilon(0.04));
  CHECK(p99 == doctest::Approx(99e6).epsilon(0.04));
  LatencyHistogram small;
  small.record(7);
  small.merge(h);
  CHECK(small.count() == 100001);
  CHECK(small.percentile(0.0) == 7);
}

TEST_CASE("addresses: IPv4 and bracketed IPv6, bad input refused") {
  const auto a = parseHostPort("127.0.0.1:5061");
  REQUIRE(a.has_value());
  CHECK(formatHostPort(a->sa()) == "127.0.0.1:5061");
  const auto b = parseHostPort("[::1]:5060");
  REQUIRE(b.has_value());
  CHECK(formatHostPort(b->sa()) == "[::1]:5060");
  CHECK(formatIp(b->sa()) == "::1");
  CHECK_FALSE(parseHostPort("localhost:5060").has_value());
  CHECK_FALSE(parseHostPort("127.0.0.1").has_value());
  CHECK_FALSE(parseHostPort("127.0.0.1:70000").has_value());
  CHECK_FALSE(parseHostPort("[::1]5060").has_value());
}

TEST_CASE("options: --warmup S and --warmup-wait") {
  auto parse = [](std::vector<const char*> args, BenchOptions* o) {
    args.insert(args.begin(), "sipsd-bench");
    return parseBenchOptions(static_cast<int>(args.size()), const_cast<char**>(args.data()), o);
  };
  BenchOptions o;
  REQUIRE(parse({"--target", "127.0.0.1:5060", "--warmup", "1.5", "--warmup-wait"}, &o) == 0);
  CHECK(o.warmup == doctest::Approx(1.5));
  CHECK(o.warmupWait);
  BenchOptions d;
  REQUIRE(parse({"--target", "127.0.0.1:5060"}, &d) == 0);
  CHECK(d.warmup == 0);
  CHECK_FALSE(d.warmupWait);
  BenchOptions bad;
  CHECK(parse({"--target", "127.0.0.1:5060", "--warmup-wait"}, &bad) == 2);  // nothing to wait after
  CHECK(parse({"--target", "127.0.0.1:5060", "--warmup", "0"}, &bad) == 2);
  CHECK(parse({"--target", "127.0.0.1:5060", "--warmup", "x"}, &bad) == 2);
}

TEST_CASE("phases: a warm-up runs to its own deadline, takes nothing from --count, is not measured") {
  BenchOptions o;
  o.count = 3;
  o.warmup = 5;  // never waited for: the test passes time stamps
  RunControl rc(o, 1);
  const auto before = Clock::now();
  rc.arriveAndWait();  // the warm-up starts
  const auto now = Clock::now();
  for (int i = 0; i < 10; ++i) CHECK(rc.takeTicket(now));  // more than the count
  CHECK_FALSE(rc.takeTicket(now + 10s));                   // past the warm-up's deadline
  CHECK(rc.start() == Clock::time_point{});                // nothing measured yet
  rc.arriveAndWait();  // the measured phase starts: the whole count is left
  CHECK(rc.start() >= before);
  CHECK(rc.takeTicket(now + 1s));
  CHECK(rc.takeTicket(now + 1s));
  CHECK(rc.takeTicket(now + 1s));
  CHECK_FALSE(rc.takeTicket(now + 1s));
  rc.arriveAndWait();  // the end
  CHECK(rc.end() >= rc.start());
}

TEST_CASE("phases: without a warm-up the first barrier starts the measured interval") {
  BenchOptions o;
  o.duration = 5;
  RunControl rc(o, 1);
  rc.arriveAndWait();
  const auto start = rc.start();
  CHECK(start != Clock::time_point{});
  CHECK(rc.takeTicket(start));
  CHECK_FALSE(rc.takeTicket(start + 10s));  // the duration's deadline
  rc.arriveAndWait();
  CHECK(rc.end() >= start);
}

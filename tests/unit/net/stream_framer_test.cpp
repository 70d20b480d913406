// StreamFramer: pipelined and split messages, keep-alive pings, size bound, bad Content-Length,
// zero-copy delivery, datagram checks.
#include "core/net/stream_framer.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "net_test_util.h"

using sipsd::StreamFramer;
using sipsd::test::sipMessage;

namespace {

struct Collect : sipsd::FramerSink {
  std::vector<std::string> msgs;
  std::vector<const char*> starts;  // where each view pointed (zero-copy check)
  int pings = 0;
  bool stopAfterFirst = false;
  bool onMessage(std::string_view m) override {
    msgs.emplace_back(m);
    starts.push_back(m.data());
    return !stopAfterFirst;
  }
  void onPing() override { ++pings; }
};

}  // namespace

TEST_SUITE("unit") {

TEST_CASE("framer: several messages in one read are delivered in order, zero-copy") {
  std::string a = sipMessage("INVITE sip:a@b SIP/2.0", "v=0\r\n");
  std::string b = sipMessage("SIP/2.0 200 OK", "");
  std::string c = sipMessage("OPTIONS sip:x SIP/2.0", "hello");
  std::string all = a + b + c;
  StreamFramer f(65536);
  Collect s;
  CHECK(f.feed(all, s).empty());
  REQUIRE(s.msgs.size() == 3);
  CHECK(s.msgs[0] == a);
  CHECK(s.msgs[1] == b);
  CHECK(s.msgs[2] == c);
  CHECK(s.starts[0] == all.data());
  CHECK(s.starts[1] == all.data() + a.size());
  CHECK(f.buffered() == 0);
}

TEST_CASE("framer: one message split at every byte position") {
  std::string m = sipMessage("MESSAGE sip:a@b SIP/2.0", "0123456789");
  for (size_t cut = 1; cut < m.size(); ++cut) {
    StreamFramer f(65536);
    Collect s;
    CHECK(f.feed(std::string_view(m).substr(0, cut), s).empty());
    CHECK(s.msgs.empty());
    CHECK(f.feed(std::string_view(m).substr(cut), s).empty());
    REQUIRE(s.msgs.size() == 1);
    CHECK(s.msgs[0] == m);
  }
}

TEST_CASE("framer: byte by byte, with a message and a half per chunk") {
  std::string m1 = sipMessage("A sip:x SIP/2.0", "body-one");
  std::string m2 = sipMessage("B sip:x SIP/2.0", "");
  std::string stream = m1 + m2 + m1;
  StreamFramer f(65536);
  Collect s;
  for (char ch : stream) CHECK(f.feed(std::string_view(&ch, 1), s).empty());
  REQUIRE(s.msgs.size() == 3);
  CHECK(s.msgs[0] == m1);
  CHECK(s.msgs[1] == m2);
  CHECK(s.msgs[2] == m1);
  Collect s2;
  StreamFramer f2(65536);
  std::string two = m1 + m2.substr(0, 10);
  CHECK(f2.feed(two, s2).empty());
  CHECK(s2.msgs.size() == 1);
  CHECK(f2.buffered() == 10);
  CHECK(f2.feed(m2.substr(10), s2).empty());
  REQUIRE(s2.msgs.size() == 2);
  CHECK(s2.msgs[1] == m2);
}

TEST_CASE("framer: keep-alive ping, pong and leading CRLFs") {
  StreamFramer f(65536);
  Collect s;
  CHECK(f.feed("\r\n\r\n", s).empty());
  CHECK(s.pings == 1);
  CHECK(s.msgs.empty());
  // A ping split across reads is still one ping.
  CHECK(f.feed("\r\n", s).empty());
  CHECK(s.pings == 1);
  CHECK(f.feed("\r\n", s).empty());
  CHECK(s.pings == 2);
  // A lone CRLF (pong) before a message is skipped.
  std::string m = sipMessage("OPTIONS sip:x SIP/2.0", "");
  CHECK(f.feed("\r\n" + m, s).empty());
  REQUIRE(s.msgs.size() == 1);
  CHECK(s.msgs[0] == m);
  CHECK(s.pings == 2);
  // Ping between pipelined messages.
  CHECK(f.feed(m + "\r\n\r\n" + m, s).empty());
  CHECK(s.msgs.size() == 3);
  CHECK(s.pings == 3);
}

TEST_CASE("framer: missing Content-Length means no body; compact form l: works") {
  StreamFramer f(65536);
  Collect s;
  std::string noCl = "BYE sip:x SIP/2.0\r\nCall-ID: 1\r\n\r\n";
  std::string compact = "MESSAGE sip:x SIP/2.0\r\nl:  3 \r\n\r\nabc";
  CHECK(f.feed(noCl + compact, s).empty());
  REQUIRE(s.msgs.size() == 2);
  CHECK(s.msgs[0] == noCl);
  CHECK(s.msgs[1] == compact);
}

TEST_CASE("framer: oversize messages are refused") {
  StreamFramer f(200);
  Collect s;
  std::string big = sipMessage("MESSAGE sip:x SIP/2.0", std::string(300, 'x'));
  CHECK(!f.feed(big, s).empty());
  CHECK(s.msgs.empty());
  // Headers that never end.
  StreamFramer f2(200);
  std::string hdrs = "INVITE sip:x SIP/2.0\r\n";
  std::string err;
  for (int i = 0; i < 50 && err.empty(); ++i) err = f2.feed("X-Header: yyyyyyyyyy\r\n", s);
  CHECK(err.find("without an end") != std::string::npos);
  // A Content-Length announcing more than the bound fails as soon as the headers are known.
  StreamFramer f3(200);
  CHECK(!f3.feed("MESSAGE sip:x SIP/2.0\r\nContent-Length: 100000\r\n\r\n", s).empty());
}

TEST_CASE("framer: malformed, negative and conflicting Content-Length") {
  for (const char* cl : {"-1", "abc", "12x", "", "99999999999999999999"}) {
    StreamFramer f(65536);
    Collect s;
    std::string m = std::string("MESSAGE sip:x SIP/2.0\r\nContent-Length: ") + cl + "\r\n\r\n";
    CHECK_MESSAGE(f.feed(m, s) == "malformed Content-Length", cl);
    CHECK(s.msgs.empty());
  }
  StreamFramer f(65536);
  Collect s;
  CHECK(f.feed("MESSAGE sip:x SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nab", s) == "malformed Content-Length");
  StreamFramer g(65536);
  CHECK(g.feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", s).find("Transfer-Encoding") !=
        std::string::npos);
}

TEST_CASE("framer: a sink that stops is not called again in that feed") {
  StreamFramer f(65536);
  Collect s;
  s.stopAfterFirst = true;
  std::string m = sipMessage("A sip:x SIP/2.0", "");
  CHECK(f.feed(m + m + m, s).empty());
  CHECK(s.msgs.size() == 1);
}

TEST_CASE("datagram: keep-alives, Content-Length trimming and errors") {
  auto ka = StreamFramer::checkDatagram("\r\n\r\n", 1000);
  CHECK(ka.error.empty());
  CHECK(ka.msg.empty());
  std::string m = sipMessage("MESSAGE sip:x SIP/2.0", "abc");
  std::string withTrailer = m + "garbage";
  auto ok = StreamFramer::checkDatagram(withTrailer, 1000);
  CHECK(ok.error.empty());
  CHECK(ok.msg == m);
  auto truncated = StreamFramer::checkDatagram(m.substr(0, m.size() - 1), 1000);
  CHECK(truncated.error.find("exceeds") != std::string::npos);
  auto big = StreamFramer::checkDatagram(m, 10);
  CHECK(!big.error.empty());
  auto bad = StreamFramer::checkDatagram("A sip:x SIP/2.0\r\nContent-Length: -5\r\n\r\n", 1000);
  CHECK(bad.error == "malformed Content-Length");
  auto noCl = StreamFramer::checkDatagram("A sip:x SIP/2.0\r\nCall-ID: 1\r\n\r\nbody", 1000);
  CHECK(noCl.msg == "A sip:x SIP/2.0\r\nCall-ID: 1\r\n\r\nbody");
}

TEST_CASE("framer: a header name only looks like Content-Length when its letters match, not its punctuation") {
  // Case folding with `c | 0x20` would read "Content\rLength" as "content-length" ('\r' | 0x20
  // is '-') and take the five bytes after the header section as this message's body.
  std::string m = "OPTIONS sip:x SIP/2.0\r\nContent\rLength: 5\r\n\r\n";
  StreamFramer f(65536);
  Collect s;
  CHECK(f.feed(m + "ABCDE", s).empty());
  REQUIRE(s.msgs.size() == 1);
  CHECK(s.msgs[0] == m);
  CHECK(f.buffered() == 5);
  // The same for the HTTP version on a datagram's first line: '\x0f' | 0x20 is '/'.
  auto d = StreamFramer::checkDatagram("GET /metrics HTTP\x0f" "1.1\r\nHost: x\r\n\r\n", 1000);
  CHECK_FALSE(d.http);
  CHECK(StreamFramer::checkDatagram("GET /metrics hTtP/1.1\r\nHost: x\r\n\r\n", 1000).http);
}

}  // TEST_SUITE

TEST_CASE("datagrams: an HTTP request line is refused (HTTP is for streams only)") {
  auto get = StreamFramer::checkDatagram("GET /health HTTP/1.1\r\n\r\n", 1000);
  CHECK(get.http);
  CHECK_FALSE(get.error.empty());
  auto lf = StreamFramer::checkDatagram("\r\nPOST /RPC2 http/1.0\nContent-Length: 0\n\n", 1000);
  CHECK(lf.http);
  auto sip = StreamFramer::checkDatagram("OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n", 1000);
  CHECK_FALSE(sip.http);
  CHECK(sip.error.empty());
  // A SIP URI that merely contains the text is not HTTP.
  auto tricky = StreamFramer::checkDatagram("OPTIONS sip:HTTP/1.1 SIP/2.0\r\n\r\n", 1000);
  CHECK_FALSE(tricky.http);
}

// One corpus, three readers: the stream framer (TCP/TLS, fed whole and byte by byte), the
// datagram check (UDP) and the message parser must agree on where every message ends — the
// property whose absence makes request smuggling possible (issue 9 item 5).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/net/stream_framer.h"
#include "core/parser/msg_parser.h"

using namespace sipsd;

namespace {

struct Collect : FramerSink {
  std::vector<std::string> msgs;
  bool onMessage(std::string_view m) override {
    msgs.emplace_back(m);
    return true;
  }
  void onPing() override {}
};

// What the stream framer makes of `wire`: the messages, or "ERR: ..." as the last element.
std::vector<std::string> frame(const std::string& wire, bool byteByByte) {
  StreamFramer f(65536);
  Collect c;
  std::string err;
  if (byteByByte) {
    for (char ch : wire)
      if (err.empty()) err = f.feed(std::string_view(&ch, 1), c);
  } else {
    err = f.feed(wire, c);
  }
  if (!err.empty()) c.msgs.push_back("ERR: " + err);
  return c.msgs;
}

struct Case {
  const char* name;
  std::string wire;
  // What all readers must find: the first message's exact bytes, or "" when the message is
  // refused (stream: framing error or an incomplete message; datagram: dropped; parser: error).
  std::string first;
  // A stream carries more after it (the next message), which the framer must find as well.
  std::string second;
};

const std::string kHead = "OPTIONS sip:a@example.org SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK1\r\n"
                          "From: <sip:b@example.org>;tag=1\r\nTo: <sip:a@example.org>\r\nCall-ID: c1\r\n"
                          "CSeq: 1 OPTIONS\r\n";
const std::string kHeadLf = "OPTIONS sip:a@example.org SIP/2.0\nVia: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK1\n"
                            "From: <sip:b@example.org>;tag=1\nTo: <sip:a@example.org>\nCall-ID: c1\n"
                            "CSeq: 1 OPTIONS\n";
const std::string kNext = kHead + "Content-Length: 0\r\n\r\n";

std::vector<Case> corpus() {
  std::vector<Case> v;
  auto same = [&](const char* name, const std::string& m) { v.push_back({name, m + kNext, m, kNext}); };
  same("CRLF, no body", kHead + "Content-Length: 0\r\n\r\n");
  same("CRLF, body", kHead + "Content-Length: 5\r\n\r\nhello");
  same("compact l", kHead + "l: 3\r\n\r\nabc");
  same("LF only, no body", kHeadLf + "Content-Length: 0\n\n");
  same("LF only, body", kHeadLf + "Content-Length: 4\n\nbody");
  same("mixed line ends", kHeadLf + "Content-Length: 2\r\n\r\nhi");
  same("LF then CRLF empty line", kHeadLf + "Content-Length: 2\n\r\nhi");
  // A folded continuation line that looks like a header is folding (of X-Note), not a length.
  same("folded Content-Length look-alike", kHead + "X-Note: a\r\n Content-Length: 7\r\nContent-Length: 0\r\n\r\n");
  same("folded look-alike, no real length", kHead + "X-Note: a\r\n\tContent-Length: 9\r\n\r\n");
  same("Content-Length value folded onto the next line", kHead + "Content-Length:\r\n 4\r\n\r\nbody");
  same("same length twice", kHead + "Content-Length: 3\r\nl: 3\r\n\r\nabc");
  same("length with spaces", kHead + "Content-Length:   3  \r\n\r\nabc");
  // Refused by all: conflicting and malformed lengths.
  v.push_back({"two different lengths", kHead + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "", ""});
  v.push_back({"negative length", kHead + "Content-Length: -1\r\n\r\n", "", ""});
  v.push_back({"length split by folding", kHead + "Content-Length: 1\r\n 2\r\n\r\n" + std::string(12, 'x'), "", ""});
  return v;
}

}  // namespace

TEST_SUITE("unit") {

TEST_CASE("framing corpus: stream framer, datagram check and parser agree on every message's end") {
  for (const Case& c : corpus()) {
    std::string name = c.name;
    CAPTURE(name);
    for (bool bytes : {false, true}) {
      CAPTURE(bytes);
      auto got = frame(c.wire, bytes);
      if (c.first.empty()) {
        // Refused: a framing error, or at least no message ending where the parser would
        // accept one.
        bool refused = got.empty() || got.back().rfind("ERR: ", 0) == 0;
        CHECK(refused);
      } else {
        REQUIRE(got.size() == 2);
        CHECK(got[0] == c.first);
        CHECK(got[1] == c.second);
      }
    }
    // The datagram check takes the first message alone (a datagram holds one message).
    std::string dgram = c.first.empty() ? c.wire : c.first;
    auto d = StreamFramer::checkDatagram(dgram, 65536);
    SipMsg m;
    std::string err;
    bool parsed = parseMessage(dgram, m, err);
    if (c.first.empty()) {
      CHECK((!d.error.empty() || !parsed));
      CHECK_FALSE(parsed);
    } else {
      CHECK(d.error.empty());
      CHECK(d.msg == c.first);
      REQUIRE_MESSAGE(parsed, err);
      // The parser's body ends exactly where the framers ended the message.
      CHECK(m.body.data() + m.body.size() == dgram.data() + c.first.size());
    }
  }
}

}  // TEST_SUITE

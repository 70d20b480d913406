// Deterministic mutation "fuzz": truncations and random byte edits of valid messages must never
// crash the parser or the sub-parsers (run under ASan+UBSan in CI).
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/parser/core_selects.h"
#include "core/parser/cseq_parser.h"
#include "core/parser/msg_parser.h"
#include "core/parser/name_addr_parser.h"
#include "core/parser/uri_parser.h"
#include "core/parser/via_parser.h"

using namespace sipsd;

namespace {

const char* const kSeeds[] = {
    "INVITE sip:bob:pw@[2001:db8::1]:5070;transport=tls?h=v SIP/2.0\r\n"
    "Via: SIP/2.0/TLS [2001:db8::9]:5061;branch=z9hG4bKtop;rport, SIP/2.0/UDP b;received=1.2.3.4 (c)\r\n"
    "f: \"A \\\"q\\\"\" <sip:a@b>;tag=1\r\nt: sip:c@d\r\ni: id\r\nCSeq: 1 INVITE\r\n"
    "m: <sip:a@1>;expires=3, *\r\nSubject: x\r\n y\r\nl: 3\r\n\r\nabc",
    "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h:1;branch=z9hG4bK1;rport=5\r\nTo: <sip:x@y>;tag=2\r\n\r\n",
    "POST /RPC2?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nConnection: close\r\n\r\n<>",
};

// xorshift: deterministic across runs and platforms.
struct Rng {
  uint64_t s = 0x9e3779b97f4a7c15ull;
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  size_t below(size_t n) { return n ? size_t(next() % n) : 0; }
};

// Exercises every sub-parser on whatever the message parser accepted.
void exercise(const SipMsg& m) {
  std::string err;
  ViaBody v;
  for (size_t i = 0; i < 4; ++i)
    if (!nthVia(m, i, v, err)) break;
  NameAddr na;
  for (size_t i = 0; i < 4; ++i)
    if (!nthContact(m, i, na, err)) break;
  std::string_view rest;
  SipUri u;
  for (const auto& h : m.headers) {
    if (h.type == HdrType::From || h.type == HdrType::To) {
      if (parseNameAddr(h.value, na, rest, false, err)) (void)parseUri(na.uri, u, err);
    } else if (h.type == HdrType::CSeq) {
      CSeqBody c;
      (void)parseCSeq(h.value, c, err);
    }
  }
  if (m.kind == SipMsg::Kind::Request) (void)parseUri(m.ruri, u, err);
}

}  // namespace

TEST_CASE("fuzz: truncations and mutations never crash") {
  Rng rng;
  SipMsg m;
  std::string err;
  size_t accepted = 0, rejected = 0;
  static const char kAlphabet[] = "\r\n :;,<>\"[]@=/\\\t0123456789abcSIP\x00\xff";
  for (const char* seed : kSeeds) {
    const std::string base(seed);
    REQUIRE_MESSAGE(parseMessage(base, m, err), err);
    // Every prefix.
    for (size_t n = 0; n <= base.size(); ++n) {
      std::string t = base.substr(0, n);  // own allocation so ASan catches over-reads
      if (parseMessage(t, m, err)) {
        ++accepted;
        exercise(m);
      } else {
        ++rejected;
        CHECK_FALSE(err.empty());
      }
    }
    // Random edits: replace, insert, delete, duplicate a span.
    for (int iter = 0; iter < 3000; ++iter) {
      std::string t = base;
      int edits = 1 + int(rng.below(4));
      for (int e = 0; e < edits && !t.empty(); ++e) {
        size_t pos = rng.below(t.size());
        switch (rng.below(4)) {
          case 0: t[pos] = kAlphabet[rng.below(sizeof kAlphabet - 1)]; break;
          case 1: t.insert(pos, 1, kAlphabet[rng.below(sizeof kAlphabet - 1)]); break;
          case 2: t.erase(pos, 1 + rng.below(8)); break;
          case 3: t.insert(pos, t.substr(rng.below(t.size()), rng.below(16))); break;
        }
      }
      if (rng.below(3) == 0) t.resize(rng.below(t.size() + 1));
      if (parseMessage(t, m, err)) {
        ++accepted;
        exercise(m);
      } else {
        ++rejected;
        CHECK_FALSE(err.empty());
      }
    }
  }
  // Both outcomes must occur, or the mutations are not reaching the parser's branches.
  CHECK(accepted > 100);
  CHECK(rejected > 100);
}

// Via, URI, name-addr, CSeq and parameter-list sub-parsers.
#include <doctest/doctest.h>

#include <string>

#include "core/parser/cseq_parser.h"
#include "core/parser/msg_parser.h"
#include "core/parser/name_addr_parser.h"
#include "core/parser/param_list.h"
#include "core/parser/uri_parser.h"
#include "core/parser/via_parser.h"

using namespace sipsd;

TEST_CASE("Via: protocol, sent-by, known params, rport with and without value") {
  ViaBody v;
  std::string_view rest;
  std::string err;
  REQUIRE(parseVia("SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bKabc;rport;received=10.0.0.9;maddr=224.0.0.1;ttl=16",
                   v, rest, err));
  CHECK(v.protoName == "SIP");
  CHECK(v.protoVersion == "2.0");
  CHECK(v.transport == "TLS");
  CHECK(v.host == "192.0.2.1");
  CHECK(v.portText == "5061");
  CHECK(v.port == 5061);
  CHECK(v.branch == "z9hG4bKabc");
  CHECK(v.hasRport);
  CHECK(v.rport.empty());
  CHECK(v.hasReceived);
  CHECK(v.received == "10.0.0.9");
  CHECK(v.maddr == "224.0.0.1");
  CHECK(v.ttl == "16");
  CHECK(v.params == ";branch=z9hG4bKabc;rport;received=10.0.0.9;maddr=224.0.0.1;ttl=16");
  CHECK(rest.empty());
  CHECK(v.lastInHeader);

  REQUIRE(parseVia("SIP / 2.0 / UDP host.example.com ; rport=5070 ; branch=z9hG4bK1", v, rest, err));
  CHECK(v.transport == "UDP");
  CHECK(v.host == "host.example.com");
  CHECK(v.port == 0);
  CHECK(v.portText.empty());
  CHECK(v.rport == "5070");
  CHECK(v.branch == "z9hG4bK1");
  CHECK(v.raw == "SIP / 2.0 / UDP host.example.com ; rport=5070 ; branch=z9hG4bK1");
}

TEST_CASE("Via: IPv6 sent-by and several via-parms in one value") {
  ViaBody v;
  std::string_view rest;
  std::string err;
  std::string_view value = "SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKa, SIP/2.0/TCP [::1];branch=z9hG4bKb (comment),"
                           "\r\n SIP/2.0/TLS h3";
  REQUIRE(parseVia(value, v, rest, err));
  CHECK(v.host == "[2001:db8::1]");
  CHECK(stripBrackets(v.host) == "2001:db8::1");
  CHECK(v.port == 5060);
  CHECK_FALSE(v.lastInHeader);
  CHECK(v.raw == "SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKa");
  CHECK(v.rest.data() == rest.data());
  CHECK(v.rest.size() == rest.size());
  REQUIRE(parseVia(rest, v, rest, err));
  CHECK(v.host == "[::1]");
  CHECK(v.port == 0);
  CHECK(v.transport == "TCP");
  CHECK(v.branch == "z9hG4bKb");
  REQUIRE(parseVia(rest, v, rest, err));
  CHECK(v.host == "h3");
  CHECK(v.transport == "TLS");
  CHECK(v.params.empty());
  CHECK(rest.empty());
}

TEST_CASE("Via: a bracketed parameter value is one value up to its ']'") {
  // What the grammar check accepted as one value is never read as further parameters.
  ViaBody v;
  std::string_view rest;
  std::string err;
  REQUIRE(parseVia("SIP/2.0/UDP h;maddr=[::1;rport=5];received=\"a;b\"", v, rest, err));
  CHECK(v.maddr == "[::1;rport=5]");
  CHECK_FALSE(v.hasRport);
  CHECK(v.received == "a;b");
}

TEST_CASE("Via: nthVia counts across headers") {
  const std::string r =
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=1, SIP/2.0/UDP b;branch=2\r\nCSeq: 1 X\r\nv: SIP/2.0/TCP c:1\r\n\r\n";
  SipMsg m;
  std::string err;
  REQUIRE(parseMessage(r, m, err));
  ViaBody v;
  REQUIRE(nthVia(m, 0, v, err));
  CHECK(v.host == "a");
  CHECK(v.header == &m.headers[0]);
  REQUIRE(nthVia(m, 1, v, err));
  CHECK(v.host == "b");
  REQUIRE(nthVia(m, 2, v, err));
  CHECK(v.host == "c");
  CHECK(v.header == &m.headers[2]);
  CHECK_FALSE(nthVia(m, 3, v, err));
  CHECK(err.empty());
}

TEST_CASE("Via: nthVia's top-Via cache follows reparses of one buffer and ignores copies") {
  // Same buffer, same size, same SipMsg: only the parse tells the two messages apart.
  std::string buf = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP aa;branch=z9hG4bK1\r\nCSeq: 1 X\r\n\r\n";
  SipMsg m;
  std::string err;
  ViaBody v;
  REQUIRE(parseMessage(buf, m, err));
  REQUIRE(nthVia(m, 0, v, err));
  CHECK(v.host == "aa");
  buf.replace(buf.find("aa;"), 2, "bb");
  REQUIRE(parseMessage(buf, m, err));
  REQUIRE(nthVia(m, 0, v, err));
  CHECK(v.host == "bb");
  // A malformed top Via: the cached answer is the same failure, with its reason.
  std::string bad = "SIP/2.0 200 OK\r\nVia: SIP/2.0 nohost\r\nCSeq: 1 X\r\n\r\n";
  REQUIRE(parseMessage(bad, m, err));
  CHECK_FALSE(nthVia(m, 0, v, err));
  CHECK_FALSE(err.empty());
  std::string again;
  CHECK_FALSE(nthVia(m, 0, v, again));
  CHECK(again == err);
  // A copy is parsed afresh: its Via points at its own headers.
  REQUIRE(parseMessage(buf, m, err));
  REQUIRE(nthVia(m, 0, v, err));
  SipMsg copy = m;
  CHECK(copy.parseId.value == 0);
  REQUIRE(nthVia(copy, 0, v, err));
  CHECK(v.header == &copy.headers[0]);
}

TEST_CASE("Via: malformed values are rejected with a reason") {
  ViaBody v;
  std::string_view rest;
  std::string err;
  CHECK_FALSE(parseVia("", v, rest, err));
  CHECK(err.find("missing protocol name") != std::string::npos);
  CHECK_FALSE(parseVia("SIP/2.0 host", v, rest, err));
  CHECK_FALSE(parseVia("SIP/2.0/UDP", v, rest, err));
  CHECK_FALSE(parseVia("SIP/2.0/UDP [::1", v, rest, err));
  CHECK(err.find("unterminated IPv6") != std::string::npos);
  CHECK_FALSE(parseVia("SIP/2.0/UDP h:99999", v, rest, err));
  CHECK(err.find("bad port") != std::string::npos);
  CHECK_FALSE(parseVia("SIP/2.0/UDP h;", v, rest, err));
  CHECK_FALSE(parseVia("SIP/2.0/UDP h;branch=", v, rest, err));
  CHECK_FALSE(parseVia("SIP/2.0/UDP h,", v, rest, err));
  CHECK_FALSE(parseVia("SIP/2.0/UDP h x", v, rest, err));
}

TEST_CASE("URI: sip, sips, tel, userinfo, IPv6, params, headers") {
  SipUri u;
  std::string err;
  REQUIRE(parseUri("sip:alice:secret@example.com:5070;transport=tls;lr?subject=x&priority=y", u, err));
  CHECK(u.scheme == SipUri::Scheme::Sip);
  CHECK(u.user == "alice");
  CHECK(u.password == "secret");
  CHECK(u.host == "example.com");
  CHECK(u.port == 5070);
  CHECK(u.params == ";transport=tls;lr");
  CHECK(u.headers == "subject=x&priority=y");
  CHECK(findParam(u.params, "transport") == std::optional<std::string_view>("tls"));
  CHECK(findParam(u.params, "LR") == std::optional<std::string_view>(""));
  CHECK_FALSE(findParam(u.params, "maddr").has_value());

  REQUIRE(parseUri("SIPS:[2001:db8::5]:5061", u, err));
  CHECK(u.scheme == SipUri::Scheme::Sips);
  CHECK(u.user.empty());
  CHECK(u.host == "[2001:db8::5]");
  CHECK(u.port == 5061);

  REQUIRE(parseUri("sip:+1-555;npdi@gw.example.com", u, err));
  CHECK(u.user == "+1-555;npdi");
  CHECK(u.host == "gw.example.com");

  REQUIRE(parseUri("tel:+15551234;phone-context=example.com", u, err));
  CHECK(u.scheme == SipUri::Scheme::Tel);
  CHECK(u.user == "+15551234");
  CHECK(u.host.empty());
  CHECK(u.params == ";phone-context=example.com");

  CHECK_FALSE(parseUri("http://x", u, err));
  CHECK(err.find("unsupported scheme") != std::string::npos);
  CHECK_FALSE(parseUri("nocolon", u, err));
  CHECK_FALSE(parseUri("sip:", u, err));
  CHECK_FALSE(parseUri("sip:@host", u, err));
  CHECK_FALSE(parseUri("sip:[::1", u, err));
  CHECK_FALSE(parseUri("sip:[zz]", u, err));
  CHECK_FALSE(parseUri("sip:h:0", u, err));
  CHECK_FALSE(parseUri("sip:h:abc", u, err));
  CHECK_FALSE(parseUri("sip:a b@c", u, err));
}

TEST_CASE("name-addr: the first tag counts, never one inside another parameter's value") {
  NameAddr na;
  std::string_view rest;
  std::string err;
  REQUIRE(parseNameAddr("<sip:a@h>;x=[::1;tag=no];y=\"tag=no\";TAG=first;tag=second", na, rest, false, err));
  CHECK(na.hasTag);
  CHECK(na.tag == "first");
  REQUIRE(parseNameAddr("<sip:a@h>;x=[::1;tag=no]", na, rest, false, err));
  CHECK_FALSE(na.hasTag);
  REQUIRE(parseNameAddr("sip:a@h;tag", na, rest, false, err));
  CHECK(na.hasTag);
  CHECK(na.tag.empty());
}

TEST_CASE("name-addr and addr-spec with header params") {
  NameAddr na;
  std::string_view rest;
  std::string err;
  REQUIRE(parseNameAddr("\"Alice \\\"A\\\" Smith\" <sip:alice@example.com;transport=tcp>;tag=88sja8x;x=\"q;v\"", na,
                        rest, false, err));
  CHECK(na.display == "Alice \\\"A\\\" Smith");
  CHECK(na.uri == "sip:alice@example.com;transport=tcp");
  CHECK(na.tag == "88sja8x");
  CHECK(na.hasTag);
  CHECK(na.params == ";tag=88sja8x;x=\"q;v\"");
  CHECK(findParam(na.params, "x") == std::optional<std::string_view>("q;v"));

  REQUIRE(parseNameAddr("Bob <sip:bob@b.com>", na, rest, false, err));
  CHECK(na.display == "Bob");
  CHECK_FALSE(na.hasTag);
  CHECK(na.params.empty());

  REQUIRE(parseNameAddr("sip:carol@c.com;tag=abc", na, rest, false, err));
  CHECK(na.display.empty());
  CHECK(na.uri == "sip:carol@c.com");
  CHECK(na.tag == "abc");

  REQUIRE(parseNameAddr("<sip:a@x>;expires=60, \"B, C\" <sip:b@y;transport=tls>;q=0.5 , sip:c@z", na, rest, true, err));
  CHECK(na.uri == "sip:a@x");
  CHECK(findParam(na.params, "expires") == std::optional<std::string_view>("60"));
  REQUIRE(parseNameAddr(rest, na, rest, true, err));
  CHECK(na.display == "B, C");
  CHECK(na.uri == "sip:b@y;transport=tls");
  REQUIRE(parseNameAddr(rest, na, rest, true, err));
  CHECK(na.uri == "sip:c@z");
  CHECK(rest.empty());

  REQUIRE(parseNameAddr("*", na, rest, true, err));
  CHECK(na.star);

  CHECK_FALSE(parseNameAddr("", na, rest, false, err));
  CHECK_FALSE(parseNameAddr("<sip:a@b", na, rest, false, err));
  CHECK(err.find("missing '>'") != std::string::npos);
  CHECK_FALSE(parseNameAddr("\"unterminated <sip:a@b>", na, rest, false, err));
  CHECK_FALSE(parseNameAddr("<sip:a@b>;", na, rest, false, err));
  CHECK_FALSE(parseNameAddr("<sip:a@b> junk", na, rest, false, err));
  CHECK_FALSE(parseNameAddr("<sip:a@b>,", na, rest, true, err));
  CHECK_FALSE(parseNameAddr("justtext", na, rest, false, err));
}

TEST_CASE("nthContact counts across Contact headers") {
  const std::string r =
      "REGISTER sip:r SIP/2.0\r\nContact: <sip:a@1>, <sip:b@2>\r\nm: <sip:c@3;transport=tls>;expires=5\r\n\r\n";
  SipMsg m;
  std::string err;
  REQUIRE(parseMessage(r, m, err));
  NameAddr na;
  REQUIRE(nthContact(m, 2, na, err));
  CHECK(na.uri == "sip:c@3;transport=tls");
  REQUIRE(nthContact(m, 1, na, err));
  CHECK(na.uri == "sip:b@2");
  CHECK_FALSE(nthContact(m, 3, na, err));
  CHECK(err.empty());
}

TEST_CASE("CSeq") {
  CSeqBody c;
  std::string err;
  REQUIRE(parseCSeq(" 4711   INVITE ", c, err));
  CHECK(c.num == 4711);
  CHECK(c.numText == "4711");
  CHECK(c.method == "INVITE");
  CHECK_FALSE(parseCSeq("INVITE", c, err));
  CHECK(err.find("expected a number") != std::string::npos);
  CHECK_FALSE(parseCSeq("12", c, err));
  CHECK_FALSE(parseCSeq("12INVITE", c, err));
  CHECK_FALSE(parseCSeq("99999999999 INVITE", c, err));
  CHECK_FALSE(parseCSeq("1 IN<VITE", c, err));
}

TEST_CASE("ParamIter walks quoted and bare params") {
  ParamIter it(";a=1; b ;c=\"x;y\";d=[::1]");
  Param p;
  REQUIRE(it.next(p));
  CHECK(p.name == "a");
  CHECK(p.value == "1");
  CHECK(p.raw == "a=1");
  REQUIRE(it.next(p));
  CHECK(p.name == "b");
  CHECK_FALSE(p.hasValue);
  REQUIRE(it.next(p));
  CHECK(p.value == "x;y");
  CHECK(p.raw == "c=\"x;y\"");
  REQUIRE(it.next(p));
  CHECK(p.value == "[::1]");
  CHECK_FALSE(it.next(p));
}

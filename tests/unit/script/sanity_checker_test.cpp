// Kamailio's sanity checks: each bit finds what it names, with Kamailio's reply codes, and a
// clean request passes every check.
#include <doctest/doctest.h>

#include "core/parser/msg_parser.h"
#include "core/script/sanity_checker.h"

using sipsd::SanityChecker;

namespace {

std::string request(const std::string& firstLine, const std::string& extra, const std::string& cseq = "1 INVITE",
                    const std::string& body = "", const std::string& cl = "") {
  return firstLine + "\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\n"
                     "To: <sip:b@y>\r\nCall-ID: c1\r\nCSeq: " + cseq + "\r\nMax-Forwards: 70\r\n" + extra +
         "Content-Length: " + (cl.empty() ? std::to_string(body.size()) : cl) + "\r\n\r\n" + body;
}

// Parses `text` (which must parse) and runs `checks`.
sipsd::SanityFailure run(const std::string& text, unsigned checks, unsigned uris = 7,
                         const std::vector<std::string>& proxyRequire = {}) {
  static std::string keep;  // the message's views point into it
  keep = text;
  sipsd::SipMsg msg;
  std::string err;
  REQUIRE_MESSAGE(sipsd::parseMessage(keep, msg, err), err);
  return SanityChecker::check(msg, sipsd::Proto::UDP, checks, uris, proxyRequire);
}

}  // namespace

TEST_CASE("a well-formed request passes every check") {
  auto f = run(request("INVITE sip:b@y SIP/2.0", "Expires: 60\r\nAuthorization: Digest username=\"a\", realm=\"x\", "
                                                  "nonce=\"n\", uri=\"sip:b@y\", response=\"0123\"\r\n",
                       "1 INVITE", "v=0\r\n"),
               SanityChecker::kAllChecks, SanityChecker::kAllUris);
  CHECK_MESSAGE(!f, f.detail);
}

TEST_CASE("each check finds what it names, with Kamailio's reply") {
  SUBCASE("R-URI scheme 416") {
    auto f = run(request("INVITE http://b SIP/2.0", ""), SanityChecker::kRuriScheme);
    CHECK(f.code == 416);
  }
  SUBCASE("CSeq method 400") {
    auto f = run(request("INVITE sip:b@y SIP/2.0", "", "1 BYE"), SanityChecker::kCseqMethod);
    CHECK(f.code == 400);
    CHECK(f.reason == "CSeq method does not match request method");
    CHECK(!run(request("INVITE sip:b@y SIP/2.0", "", "1 BYE"), SanityChecker::kCseqValue));
  }
  SUBCASE("CSeq value 400") {
    CHECK(run(request("INVITE sip:b@y SIP/2.0", "", "99999999999 INVITE"), SanityChecker::kCseqValue).code == 400);
  }
  SUBCASE("Content-Length: surplus bytes in a datagram") {
    auto f = run(request("INVITE sip:b@y SIP/2.0", "", "1 INVITE", "v=0\r\n", "3"), SanityChecker::kContentLength);
    CHECK(f.code == 400);
    CHECK(f.reason == "Content-Length mis-match");
  }
  SUBCASE("Expires 400") {
    CHECK(run(request("REGISTER sip:y SIP/2.0", "Expires: soon\r\n", "1 REGISTER"), SanityChecker::kExpiresValue).code ==
          400);
  }
  SUBCASE("Proxy-Require 420 with Unsupported") {
    auto text = request("INVITE sip:b@y SIP/2.0", "Proxy-Require: foo, bar\r\n");
    auto f = run(text, SanityChecker::kProxyRequire, 7, {"foo"});
    CHECK(f.code == 420);
    CHECK(f.extraHeader == "Unsupported: bar");
    CHECK(!run(text, SanityChecker::kProxyRequire, 7, {"bar", "FOO"}));
  }
  SUBCASE("URIs: From, and Contact only when asked") {
    auto text = request("INVITE sip:b@y SIP/2.0", "Contact: <sip:>\r\n");
    CHECK(!run(text, SanityChecker::kParseUris, 7));
    auto f = run(text, SanityChecker::kParseUris, SanityChecker::kUriContact);
    CHECK(f.code == 400);
    CHECK(f.reason == "Bad Contact URI");
  }
  SUBCASE("duplicated tags") {
    std::string text = request("INVITE sip:b@y SIP/2.0", "");
    text.replace(text.find(";tag=1"), 6, ";tag=1;tag=2");
    CHECK(run(text, SanityChecker::kDuplicateTags).reason == "Duplicated From tag");
  }
  SUBCASE("digest credentials") {
    auto text = request("INVITE sip:b@y SIP/2.0", "Proxy-Authorization: Digest username=\"a\", realm=\"x\"\r\n");
    CHECK(run(text, SanityChecker::kDigest).code == 400);
    // 8192 looks at Authorization only.
    CHECK(!run(text, SanityChecker::kAuthorization));
    CHECK(run(request("INVITE sip:b@y SIP/2.0", "Authorization: Basic eA==\r\n"), SanityChecker::kDigest).code == 400);
    CHECK(!run(request("INVITE sip:b@y SIP/2.0", "Authorization: Basic eA==\r\n"), SanityChecker::kAuthorization));
  }
  SUBCASE("checks not asked for are not run") {
    CHECK(!run(request("INVITE http://b SIP/2.0", "", "1 BYE"), 0));
  }
}

TEST_CASE("a reply skips the request-only checks") {
  std::string reply =
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\n"
      "To: <sip:b@y>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nProxy-Require: x\r\nContent-Length: 0\r\n\r\n";
  CHECK(!run(reply, 17604, 6));
  CHECK(!run(reply, SanityChecker::kAllChecks, 6));
}

// core/util/strings.h: the shared text toolkit (ASCII case folding, trimming, numbers, paths).
#include "core/util/strings.h"

#include <doctest/doctest.h>

using namespace sipsd;

TEST_SUITE("unit") {

TEST_CASE("strings: iequals folds ASCII letters only") {
  CHECK(str::iequals("Content-Length", "content-LENGTH"));
  CHECK_FALSE(str::iequals("Content-Length", "Content-Lengt"));
  // `c | 0x20` folding would call all of these equal.
  CHECK_FALSE(str::iequals("\r", "-"));
  CHECK_FALSE(str::iequals("content\rlength", "content-length"));
  CHECK_FALSE(str::iequals("\x0f", "/"));
  CHECK_FALSE(str::iequals("@", "`"));
  CHECK_FALSE(str::iequals("[", "{"));
  CHECK(str::istartsWith("SIP/2.0 200 OK", "sip/"));
  CHECK_FALSE(str::istartsWith("SI", "sip/"));
  CHECK(str::toLower("SIP.Example.ORG") == "sip.example.org");
  CHECK(str::lowerChar('[') == '[');
}

TEST_CASE("strings: trim") {
  CHECK(str::trim(" \t a b \r\n") == "a b");
  CHECK(str::trim("") == "");
  CHECK(str::trim(" \r\n") == "");
  CHECK(str::ltrim("  x ") == "x ");
  CHECK(str::rtrim("  x ") == "  x");
  // LWS by default; other sets when asked (a form feed is not SIP whitespace).
  CHECK(str::trim("\fx\f") == "\fx\f");
  CHECK(str::trim("\fx\v", str::kSpace) == "x");
  CHECK(str::trim(" \t\t ", str::kSpace) == "");
  CHECK(str::trim("\nx\n", " \t\r") == "\nx\n");
  // isSpace is one byte of kSpace: no locale, and a byte >= 0x80 is never space.
  for (char c : str::kSpace) CHECK(str::isSpace(c));
  CHECK_FALSE(str::isSpace('x'));
  CHECK_FALSE(str::isSpace('\0'));
  CHECK_FALSE(str::isSpace('\xa0'));
}

TEST_CASE("strings: toNumber takes the whole text or nothing") {
  CHECK(str::toNumber<int64_t>("42") == 42);
  CHECK(str::toNumber<int64_t>("-7") == -7);
  CHECK_FALSE(str::toNumber<int64_t>(""));
  CHECK_FALSE(str::toNumber<int64_t>("4 2"));
  CHECK_FALSE(str::toNumber<int64_t>(" 42"));
  CHECK_FALSE(str::toNumber<int64_t>("42x"));
  CHECK_FALSE(str::toNumber<uint16_t>("70000"));
  CHECK_FALSE(str::toNumber<uint32_t>("-1"));
  CHECK(str::toNumber<uint32_t>("ff", 16) == 255u);
  int port = 9;
  CHECK_FALSE(str::toNumber("x", port));
  CHECK(port == 9);
  CHECK(str::toNumber("5061", port));
  CHECK(port == 5061);
}

TEST_CASE("strings: dirOf and resolvePath") {
  CHECK(str::dirOf("/etc/sipsd/tls.yml") == "/etc/sipsd");
  CHECK(str::dirOf("tls.yml") == ".");
  CHECK(str::dirOf("/tls.yml") == "/");
  CHECK(str::dirOf("a/b") == "a");
  CHECK(str::resolvePath("c.pem", "/etc/sipsd") == "/etc/sipsd/c.pem");
  CHECK(str::resolvePath("./c.pem", "/etc/sipsd") == "/etc/sipsd/c.pem");
  CHECK(str::resolvePath("././c.pem", ".") == "c.pem");
  CHECK(str::resolvePath("/abs/c.pem", "/etc") == "/abs/c.pem");
  CHECK(str::resolvePath("c.pem", "") == "c.pem");
  CHECK(str::resolvePath("", "/etc") == "");
}

TEST_CASE("strings: appendDecimal appends what to_string gives") {
  std::string s = "x";
  str::appendDecimal(s, 0);
  str::appendDecimal(s, 65535);
  str::appendDecimal(s, UINT64_MAX);
  CHECK(s == "x065535" + std::to_string(UINT64_MAX));
}

}  // TEST_SUITE

// What the log makes of text it is given: one line, control bytes escaped, bounded.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <syslog.h>

#include "core/log.h"

using sipsd::logging::escaped;

TEST_CASE("control bytes are escaped, printable text and UTF-8 are kept") {
  CHECK(escaped("plain text: 1.2.3.4:5060") == "plain text: 1.2.3.4:5060");
  CHECK(escaped("X\nNOTICE: core: forged line\x1b[31m") == "X\\nNOTICE: core: forged line\\x1b[31m");
  CHECK(escaped(std::string_view("a\r\tb\0c\x7f", 7)) == "a\\r\\tb\\x00c\\x7f");
  CHECK(escaped("caf\xc3\xa9 \xe2\x80\x9cq\xe2\x80\x9d") == "caf\xc3\xa9 \xe2\x80\x9cq\xe2\x80\x9d");
  // Bytes that are not UTF-8, and C1 controls (U+009B is a CSI on some terminals), are escaped.
  CHECK(escaped("a\xb6z") == "a\\xb6z");
  CHECK(escaped("\xc2\x9b" "31m") == "\\xc2\\x9b" "31m");
  CHECK(escaped("\xe2\x80") == "\\xe2\\x80");  // cut sequence
}

TEST_CASE("a long text is cut with its full length") {
  std::string big(1 << 20, 'A');
  std::string out = escaped(big);
  CHECK(out.size() < sipsd::logging::kMaxText + 32);
  CHECK(out.substr(0, 10) == "AAAAAAAAAA");
  CHECK(out.find("\xE2\x80\xA6(1048576 bytes)") == sipsd::logging::kMaxText);
  CHECK(escaped("abcdef", 3) == "abc\xE2\x80\xA6(6 bytes)");
  CHECK(escaped("ab\xc3\xa9", 3) == "ab\xE2\x80\xA6(4 bytes)");  // a character is not split
}

TEST_CASE("syslog facilities by name") {
  CHECK(sipsd::logging::facilityFromName("LOG_LOCAL0") == LOG_LOCAL0);
  CHECK(sipsd::logging::facilityFromName("local7") == LOG_LOCAL7);
  CHECK(sipsd::logging::facilityFromName("LOG_DAEMON") == LOG_DAEMON);
  CHECK_FALSE(sipsd::logging::facilityFromName("LOG_LOCAL8"));
  CHECK_FALSE(sipsd::logging::facilityFromName("LOG_"));
  CHECK_FALSE(sipsd::logging::facilityFromName(""));
}

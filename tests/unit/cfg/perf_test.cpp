// Parse + check speed of a generated 5,000-line script. The figure is printed, not asserted:
// wall time on a shared CI machine is not a property of the code.
#include <doctest/doctest.h>

#include <chrono>

#include "test_registry.h"

TEST_CASE("a 5,000-line script parses and checks (time is reported)") {
  std::string text = "debug=3\nlisten=udp:127.0.0.1:5060\n";
  int lines = 2;
  int route = 0;
  while (lines < 5000) {
    text += "route[R" + std::to_string(route++) + "] {\n";
    text += "    # a comment line\n";
    text += "    if (method == \"INVITE\" && src_ip == 10.0.0.0/8 && uri =~ \"^sip:[a-z]+@example\\.com\") {\n";
    text += "        log(3, \"invite from a private network\");\n";
    text += "        forward(\"10.0.0.1\", 5060);\n";
    text += "    } else if (@tls.peer != \"Bob\" || @ruri.user == \"alice\") {\n";
    text += "        sl_reply(403, \"Forbidden\");\n";
    text += "        break;\n";
    text += "    }\n";
    text += "}\n";
    lines += 10;
  }
  text += "route { route(R0); }\n";
  auto reg = sipsd::test::makeTestRegistry();
  auto start = std::chrono::steady_clock::now();
  auto r = sipsd::test::checkScript(text, *reg, "big.cfg");
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  CHECK(r.diags.format() == "");
  REQUIRE(r.script);
  CHECK(r.script->routes.size() == size_t(route + 1));
  MESSAGE("parse+check of " << lines << " lines (" << text.size() << " bytes): " << ms << " ms");
}

// Executor: switch (integer, string and regex labels, fall-through, break, default) and while
// (break, the max_while_loops guard), with Kamailio's semantics.
#include "script_fixture.h"

using sipsd::test::Fixture;
using Calls = std::vector<std::string>;

TEST_CASE("integer switch: a label enters, statements fall through until break") {
  Fixture f;
  const char* script =
      "route {\n"
      "  switch (@sel.num) {\n"  // "5060": a string of digits is that integer
      "    case 5061: t(1, \"a\");\n"
      "    case 5060: t(1, \"b\");\n"
      "    case 5062: t(1, \"c\"); break;\n"
      "    case 1: t(1, \"d\");\n"
      "    default: t(1, \"def\");\n"
      "  }\n"
      "  t(1, \"after\");\n"
      "}\n";
  CHECK(f.run(script) == 1);
  CHECK(f.calls == Calls{"t(1,b)", "t(1,c)", "t(1,after)"});
}

TEST_CASE("several labels share statements; no match and no default runs nothing") {
  Fixture f;
  const char* script =
      "route {\n"
      "  switch (t(%d, \"v\")) {\n"  // a function's return code is the value
      "    case -1:\n"
      "    case -3:\n"
      "      t(1, \"404\");\n"
      "      break;\n"
      "    case -2:\n"
      "      t(1, \"405\");\n"
      "  }\n"
      "  t(1, \"after\");\n"
      "}\n";
  char buf[512];
  for (auto [rc, want] : {std::pair{-3, "404"}, std::pair{-1, "404"}, std::pair{-2, "405"}}) {
    std::snprintf(buf, sizeof buf, script, rc);
    f.run(buf);
    CHECK(f.calls == Calls{"t(" + std::to_string(rc) + ",v)", std::string("t(1,") + want + ")", "t(1,after)"});
  }
  std::snprintf(buf, sizeof buf, script, 7);
  f.run(buf);
  CHECK(f.calls == Calls{"t(7,v)", "t(1,after)"});
}

TEST_CASE("default anywhere: entered when no label matches, and fallen into") {
  Fixture f;
  f.run("route { switch (5) { default: t(1, \"def\"); case 1: t(1, \"one\"); break; case 2: t(1, \"two\"); } }");
  CHECK(f.calls == Calls{"t(1,def)", "t(1,one)"});
  f.run("route { switch (2) { default: t(1, \"def\"); case 1: t(1, \"one\"); break; case 2: t(1, \"two\"); } }");
  CHECK(f.calls == Calls{"t(1,two)"});
}

TEST_CASE("integer switch: Null and non-numeric text are 0, 0xHEX is read") {
  Fixture f;
  f.run("route { switch (@sel.null) { case 0: t(1, \"zero\"); break; default: t(1, \"def\"); } }");
  CHECK(f.calls == Calls{"t(1,zero)"});
  f.run("route { switch (method) { case 0: t(1, \"zero\"); break; default: t(1, \"def\"); } }");
  CHECK(f.calls == Calls{"t(1,zero)"});
  f.run("route { switch (\"0x1F\") { case 31: t(1, \"hex\"); } }");
  CHECK(f.calls == Calls{"t(1,hex)"});
  f.run("route { switch (src_port == 40000) { case 1: t(1, \"true\"); break; case 0: t(1, \"false\"); } }");
  CHECK(f.calls == Calls{"t(1,true)"});
}

TEST_CASE("string switch: exact, case-sensitive text; integers compare as their decimal text") {
  Fixture f;
  const char* script =
      "route {\n"
      "  switch (method) {\n"
      "    case \"REGISTER\": t(1, \"reg\"); break;\n"
      "    case \"INVITE\": t(1, \"inv\");\n"
      "    default: t(1, \"def\");\n"
      "  }\n"
      "}\n";
  f.run(script);
  CHECK(f.calls == Calls{"t(1,inv)", "t(1,def)"});
  f.msg.method = "invite";
  f.run(script);
  CHECK(f.calls == Calls{"t(1,def)"});
  f.run("route { switch (src_port) { case \"4000\": t(1, \"no\"); break; case \"40000\": t(1, \"port\"); } }");
  CHECK(f.calls == Calls{"t(1,port)"});
  f.run("route { switch (@sel.null) { case \"x\": t(1, \"x\"); break; case \"\": t(1, \"empty\"); } }");
  CHECK(f.calls == Calls{"t(1,empty)"});
}

TEST_CASE("regex labels: POSIX extended, case-sensitive, searched; the first match in order wins") {
  Fixture f;
  const char* script =
      "route {\n"
      "  switch (uri) {\n"
      "    case /\"^sip:bob@\": t(1, \"bob\"); break;\n"
      "    case /\"EXAMPLE\\.com$\": t(1, \"upper\"); break;\n"
      "    case /\"example\\.com$\": t(1, \"example\"); break;\n"
      "    case \"sip:alice@example.com\": t(1, \"exact\"); break;\n"
      "  }\n"
      "}\n";
  f.run(script);
  CHECK(f.calls == Calls{"t(1,example)"});
}

TEST_CASE("break leaves only the switch; exit, drop and return go through it") {
  Fixture f;
  CHECK(f.run("route { switch (1) { case 1: if (1) { t(1, \"in\"); break; } t(1, \"no\"); } t(1, \"after\"); }") == 1);
  CHECK(f.calls == Calls{"t(1,in)", "t(1,after)"});
  CHECK(f.run("route { switch (1) { case 1: exit; } t(1, \"no\"); }") == 0);
  CHECK(f.calls.empty());
  CHECK(f.run("route { switch (1) { case 1: drop; } t(1, \"no\"); }") == 0);
  CHECK(f.dropped);
  CHECK(f.run("route { route(R); t(1, \"main\"); }\nroute[R] { switch (1) { case 1: return; } t(1, \"no\"); }") == 1);
  CHECK(f.calls == Calls{"t(1,main)"});
  // Outside any switch or while, break stops the script as before (SPEC §2).
  CHECK(f.run("route { switch (1) { case 1: t(1, \"a\"); } break; t(1, \"no\"); }") == 0);
  CHECK(f.calls == Calls{"t(1,a)"});
  // A break in a route called from a switch is that route's own: it stops the script.
  CHECK(f.run("route { switch (1) { case 1: route(R); t(1, \"no\"); } }\nroute[R] { break; }") == 0);
  CHECK(f.calls.empty());
}

TEST_CASE("a function returning 0 in the switch value stops the script") {
  Fixture f;
  CHECK(f.run("route { switch (t(0, \"v\")) { default: t(1, \"no\"); } }") == 0);
  CHECK(f.calls == Calls{"t(0,v)"});
}

TEST_CASE("nested switches: break leaves the inner one") {
  Fixture f;
  f.run("route { switch (1) { case 1: switch (2) { case 2: t(1, \"in\"); break; case 3: t(1, \"no\"); }"
        " t(1, \"outer\"); break; case 2: t(1, \"no\"); } }");
  CHECK(f.calls == Calls{"t(1,in)", "t(1,outer)"});
}

TEST_CASE("while: runs while true, break leaves it, a false condition skips it") {
  Fixture f;
  f.run("route { while (t(1, \"c\")) { t(1, \"body\"); break; t(1, \"no\"); } t(1, \"after\"); }");
  CHECK(f.calls == Calls{"t(1,c)", "t(1,body)", "t(1,after)"});
  f.run("route { while (t(-1, \"c\")) t(1, \"no\"); t(1, \"after\"); }");
  CHECK(f.calls == Calls{"t(-1,c)", "t(1,after)"});
  f.run("route { while (1) { switch (1) { case 1: break; } t(1, \"once\"); break; } }");
  CHECK(f.calls == Calls{"t(1,once)"});
  CHECK(f.run("route { while (1) { return; } t(1, \"no\"); }") == 1);
  CHECK(f.calls.empty());
}

TEST_CASE("while: max_while_loops stops a runaway loop, logs where, and the script goes on") {
  Fixture f;
  f.compile("route {\n  while (1) { t(1, \"x\"); }\n  t(1, \"after\");\n}\n");
  f.script->maxWhileLoops = 3;
  sipsd::ScriptContext ctx(f.msg, f.rcv, f.core);
  CHECK(sipsd::script::runRoute(*f.script, 0, ctx) == 1);
  CHECK(f.calls == Calls{"t(1,x)", "t(1,x)", "t(1,x)", "t(1,after)"});
  REQUIRE(f.core.lines.size() == 1);
  CHECK(f.core.lines[0] == "0 while loop at t.cfg:2:3 ran more than max_while_loops=3 times; left it");
}

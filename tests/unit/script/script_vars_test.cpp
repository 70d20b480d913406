// Script variables and flags (cfg/script_pvars, core/script/flag_functions): $var, $avp, $null,
// $rc/$retcode, arithmetic in assignments, setflag()/setbflag() and their load-time checks.
#include "core/parser/msg_parser.h"
#include "script_fixture.h"

namespace {

using sipsd::test::Fixture;

// Compiles once and runs the main route several times, as a worker runs it for each message.
struct VarsFixture : Fixture {
  int runAgain(sipsd::ScriptContext* keep = nullptr) {
    calls.clear();
    sipsd::ScriptContext ctx(msg, rcv, core);
    int r = sipsd::script::runRoute(*script, sipsd::script::mainRoute(*script), ctx);
    if (keep) {
      keep->flags = ctx.flags;
      keep->bflags = ctx.bflags;
      keep->avps = ctx.avps;
    }
    return r;
  }
};

// The first error of compiling `text`, as "LINE:COL: message" ("" when it compiles).
std::string firstError(const std::string& text) {
  Fixture f;
  std::string src = text;
  sipsd::cfg::Diagnostics diags;
  sipsd::cfg::ErrorHandler h(src, "t.cfg", diags);
  auto config = sipsd::cfg::parseConfig(h);
  auto script = sipsd::cfg::Checker(f.registry, h).compile(config);
  if (!diags.hasErrors()) return {};
  std::string all = diags.format();
  auto at = all.find("t.cfg:");
  return at == std::string::npos ? all : all.substr(at + 6, all.find('\n', at) - at - 6);
}

}  // namespace

TEST_CASE("$var holds integers and strings, reads 0 before it is set, and $null makes it 0") {
  Fixture f;
  f.run(R"CFG(route {
    t(1, $var(unset));
    $var(i) = 41;
    $var(i) = $var(i) + 1;
    $var(s) = "user-" + $var(i);
    t(1, $var(i), $var(s));
    $var(s) = $var(s);
    $var(u) = $rU;
    t(1, $var(s), $var(u));
    $var(s) = $null;
    if ($var(s) == 0 && $var(i) == 42 && $var(u) == "alice") { t(1, "cmp"); }
    xlog("L_INFO", "i=$var(i) u=$var(u)");
  })CFG");
  CHECK(f.calls == std::vector<std::string>{"t(1,0)", "t(1,42,user-42)", "t(1,user-42,alice)", "t(1,cmp)"});
  CHECK(f.core.lines == std::vector<std::string>{"3 i=42 u=alice"});
}

TEST_CASE("arithmetic: * / % before + -, left to right; + joins text when a side is not an integer") {
  Fixture f;
  f.run(R"CFG(route {
    $var(a) = 2 + 3 * 4 - 10 / 3 % 2;
    $var(b) = 7 - 2 - 1;
    $var(c) = 1 + 2 + "x" + 3;
    $var(d) = "5" * 2;
    $var(e) = $var(nope) + 5;
    $var(f) = -7 / 2;
    $var(g) = -7 % 3;
    t(1, $var(a), $var(b));
    t(1, $var(c), $var(d));
    t(1, $var(e), $var(f));
    t(1, $var(g));
  })CFG");
  CHECK(f.calls == std::vector<std::string>{"t(1,13,4)", "t(1,3x3,10)", "t(1,5,-3)", "t(1,-1)"});
}

TEST_CASE("an assignment that cannot be computed logs where and leaves the variable as it was") {
  Fixture f;
  f.core.level = 0;
  int r = f.run(R"CFG(route {
    $var(x) = 5;
    $var(zero) = 0;
    $var(x) = 10 / $var(zero);
    t(1, $var(x));
    $var(x) = $rU * 2;
    t(1, $var(x));
  })CFG");
  CHECK(r == 1);
  CHECK(f.calls == std::vector<std::string>{"t(1,5)", "t(1,5)"});
  REQUIRE(f.core.lines.size() == 2);
  CHECK(f.core.lines[0] == "0 t.cfg:4:5: $var(x) not assigned: division by zero");
  CHECK(f.core.lines[1] == "0 t.cfg:6:5: $var(x) not assigned: a value of - * / % is not a number");
}

TEST_CASE("$var keeps its value from message to message; a new script starts from 0") {
  VarsFixture f;
  f.compile(R"CFG(route { $var(n) = $var(n) + 1; t(1, $var(n)); })CFG");
  f.runAgain();
  CHECK(f.calls == std::vector<std::string>{"t(1,1)"});
  f.runAgain();
  f.runAgain();
  CHECK(f.calls == std::vector<std::string>{"t(1,3)"});
  f.compile(R"CFG(route { $var(n) = $var(n) + 1; t(1, $var(n)); })CFG");
  f.runAgain();
  CHECK(f.calls == std::vector<std::string>{"t(1,1)"});
}

TEST_CASE("$avp: per message, $null deletes, == $null tests; $null compares with empty and unset values") {
  VarsFixture f;
  f.compile(R"CFG(route {
    if ($avp(x) == $null) { t(1, "unset"); }
    $avp(x) = $rU;
    $avp(s:n) = 3;
    $avp(n) = $avp(n) * 2;
    t(1, $avp(x), $avp(n));
    if ($avp(x) != $null) { t(1, "set"); }
    $avp(x) = $null;
    if ($avp(x) == $null && $null == "" && $rd != $null) { t(1, "deleted"); }
  })CFG");
  sipsd::ScriptContext kept(f.msg, f.rcv, f.core);
  f.runAgain(&kept);
  CHECK(f.calls == std::vector<std::string>{"t(1,unset)", "t(1,alice,6)", "t(1,set)", "t(1,deleted)"});
  // What stays for tm: only $avp(n); the next message starts without any.
  REQUIRE(kept.avps.items.size() == 1);
  CHECK(kept.avps.items[0].second.num == 6);
  f.runAgain();
  CHECK(f.calls.front() == "t(1,unset)");
}

TEST_CASE("a value over 8192 bytes is refused, the old one stays") {
  Fixture f;
  f.core.level = 0;
  std::string big(5000, 'a');
  f.run("route { $var(s) = \"" + big + "\"; $var(s) = $var(s) + $var(s); t(1, $var(s)); }");
  REQUIRE(f.calls.size() == 1);
  CHECK(f.calls[0].size() == 5000 + 5);
  REQUIRE(f.core.lines.size() == 1);
  CHECK(f.core.lines[0].find("$var(s) not assigned: the value is longer than 8192 bytes") != std::string::npos);
}

TEST_CASE("$rc and $retcode: the last function's or route's return; assignments keep it") {
  Fixture f;
  f.run(R"CFG(route {
    t(-2);
    $var(rc) = $rc;
    t(1, $var(rc), $retcode);
    if (!t(-3)) { $var(rc) = $rc; }
    t(1, $var(rc));
    route(R);
    t(1, $rc);
  }
  route[R] { t(-5); return; })CFG");
  CHECK(f.calls == std::vector<std::string>{"t(-2)", "t(1,-2,-2)", "t(-3)", "t(1,-3)", "t(-5)", "t(1,1)"});
}

TEST_CASE("flags: setflag/resetflag/isflagset on the message, setbflag & co. on a branch") {
  VarsFixture f;
  // (FLT_ACC = 1, FLB_NATB = 6: the preprocessor's #!define is tested through the binary)
  f.compile(R"CFG(route {
    if (!isflagset(1)) { t(1, "clear"); }
    setflag(1);
    setflag(31);
    setflag(0);
    resetflag(0);
    if (isflagset(1) && isflagset("31") && !isflagset(0)) { t(1, "set"); }
    setbflag(6);
    if (isbflagset(6) && !isflagset(6) && !isbflagset(6, 1)) { t(1, "bflag"); }
    if (!setbflag(2, 1)) { t(1, "no branch 1"); }
  })CFG");
  sipsd::ScriptContext kept(f.msg, f.rcv, f.core);
  f.runAgain(&kept);
  CHECK(f.calls == std::vector<std::string>{"t(1,clear)", "t(1,set)", "t(1,bflag)", "t(1,no branch 1)"});
  CHECK(kept.flags == ((1u << 1) | (1u << 31)));
  CHECK(kept.bflags == (1u << 6));
}

TEST_CASE("flags, $var and $avp: bad names and numbers are errors at FILE:LINE:COL") {
  CHECK(firstError("route {\n  setflag(32);\n}") == "2:3: error: setflag(): the flag 32 is out of range 0..31");
  CHECK(firstError("route {\n  isbflagset(-1);\n}") == "2:3: error: isbflagset(): the flag -1 is out of range 0..31");
  CHECK(firstError("route {\n  setflag(FLT_NONE);\n}").find("2:11: error: unexpected word 'FLT_NONE'") == 0);
  CHECK(firstError("route {\n  resetflag($rU);\n}") ==
        "2:3: error: resetflag(): the flag must be a number (or a #!define name), not $rU");
  CHECK(firstError("route {\n  $var(x) = \"a\" - 1;\n}") == "2:17: error: '-' takes numbers, not the string \"a\"");
  CHECK(firstError("route {\n  $rU = 1;\n}") ==
        "2:3: error: $rU is read-only (only $ru, $du, $var(name) and $avp(name) can be assigned)");
  CHECK(firstError("route {\n  t(1, $null(x));\n}") == "2:8: error: $null takes no argument");
  CHECK(firstError("route {\n  xlog(\"$xavp(a)\");\n}").find("2:9: error: unknown pseudo-variable $xavp") == 0);
  CHECK(firstError("onreply_route {\n  $var(x) = $rs;\n  $avp(y) = 1;\n}").empty());
}

// Checker: resolution and compilation, and each semantic error at its exact position.
#include <doctest/doctest.h>

#include "core/script/core_functions.h"
#include "test_registry.h"

using namespace sipsd;

namespace {
std::string firstError(const test::CheckResult& r) {
  return r.diags.items().empty() ? "" : r.diags.items()[0].loc.str() + " " + r.diags.items()[0].message;
}
}  // namespace

TEST_CASE("a valid script compiles to routes referenced by index") {
  auto reg = test::makeTestRegistry();
  auto r = test::checkScript("route { route(B); }\nroute[B] { forward(); }\nonreply_route { drop; }\n", *reg);
  REQUIRE(r.script);
  CHECK(r.script->routes.size() == 3);
  CHECK(r.script->mainRoute == 0);
  CHECK(r.script->onReplyRoute == 2);
  CHECK(r.script->routes[0].body[0].kind == cfg::ActionNode::Kind::Route);
  CHECK(r.script->routes[0].body[0].route == 1);
  CHECK(r.script->routes[1].body[0].call->name == "forward");
}

TEST_CASE("unknown function, wrong arity, unknown select, unknown route") {
  auto reg = test::makeTestRegistry();
  CHECK(firstError(test::checkScript("route {\n  nosuch();\n}", *reg)) == "test.cfg:2:3 unknown function 'nosuch'");
  CHECK(firstError(test::checkScript("route { sl_reply(1); }", *reg)) ==
        "test.cfg:1:9 wrong number of arguments to 'sl_reply': 1 given, it takes 2");
  CHECK(firstError(test::checkScript("route { forward(1); }", *reg)) ==
        "test.cfg:1:9 wrong number of arguments to 'forward': 1 given, it takes 0 or 2");
  CHECK(firstError(test::checkScript("route { if (@foo.bar) { exit; } }", *reg)) ==
        "test.cfg:1:13 unknown select @foo.bar");
  CHECK(firstError(test::checkScript("route { if (@xmlrpc.x[1]) { exit; } }", *reg)) ==
        "test.cfg:1:13 unknown select @xmlrpc.x[1]: only @xmlrpc.method exists");
  CHECK(firstError(test::checkScript("route { route(X); }", *reg)) == "test.cfg:1:9 unknown route 'X'");
}

TEST_CASE("bad regex and bad networks point at the literal") {
  auto reg = test::makeTestRegistry();
  auto r = test::checkScript("route {\n  if (uri =~ \"(a\") { exit; }\n}", *reg);
  CHECK(r.diags.items().at(0).loc.str() == "test.cfg:2:14");
  CHECK(r.diags.items()[0].message.rfind("bad regular expression \"(a\": ", 0) == 0);
  CHECK(firstError(test::checkScript("route { if (src_ip == 10.0.0.0/40) { exit; } }", *reg)) ==
        "test.cfg:1:23 bad network '10.0.0.0/40': prefix length /40 is out of range for IPv4 (0..32)");
  CHECK(firstError(test::checkScript("route { if (src_ip == 10.0.0.1/8) { exit; } }", *reg)) ==
        "test.cfg:1:23 bad network '10.0.0.1/8': '10.0.0.1/8' has host bits set beyond the /8 prefix");
}

TEST_CASE("several errors are reported in one run") {
  auto reg = test::makeTestRegistry();
  auto r = test::checkScript("route {\n a();\n b();\n if (x == 1) { exit; }\n}\n", *reg);
  REQUIRE(r.diags.errorCount() == 3);
  CHECK(r.diags.items()[2].message == "unknown keyword 'x'");
  CHECK_FALSE(r.script);
}

TEST_CASE("core functions: fixups check literal arguments at load") {
  auto reg = test::makeTestRegistry();
  CHECK(firstError(test::checkScript("route { forward(\"h\", 0); }", *reg)) ==
        "test.cfg:1:9 forward(): port 0 is out of range 1..65535");
  CHECK(firstError(test::checkScript("route { forward_udp(\"h\", \"x\"); }", *reg)) ==
        "test.cfg:1:9 forward_udp(): 'x' is not a port number");
  CHECK(firstError(test::checkScript("route { log(7, \"x\"); }", *reg)) == "test.cfg:1:9 log(): the level 7 is not in 0..4");
  CHECK(firstError(test::checkScript("onreply_route { create_via(); }", *reg)) ==
        "test.cfg:1:17 'create_via' cannot be used in onreply_route");
  CHECK(test::checkScript("route { log(\"x\"); log(0, \"y\"); forward(@ruri.host, \"5060\"); }", *reg).script);
}

TEST_CASE("forward_tls needs a module providing the TLS transport") {
  Registry reg;
  script::registerCoreNames(reg, nullptr);
  auto r = test::checkScript("route { forward_tls(\"h\", 5061); }", reg);
  CHECK(firstError(r) == "test.cfg:1:9 forward_tls(): no loaded module provides the TLS transport (loadmodule \"tls\")");
}

TEST_CASE("duplicate routes name both places") {
  auto reg = test::makeTestRegistry();
  auto r = test::checkScript("route[A] { }\nroute[A] { }\n", *reg);
  REQUIRE(r.diags.items().size() == 2);
  CHECK(r.diags.items()[0].loc.str() == "test.cfg:2:1");
  CHECK(r.diags.items()[1].note);
  CHECK(r.diags.items()[1].loc.str() == "test.cfg:1:1");
}

TEST_CASE("proto compared with a string that is not a protocol") {
  auto reg = test::makeTestRegistry();
  CHECK(firstError(test::checkScript("route { if (proto == \"SCTP\") { exit; } }", *reg)) ==
        "test.cfg:1:22 unknown protocol \"SCTP\" (UDP, TCP or TLS)");
}

TEST_CASE("failure_route and named onreply_route: route-name arguments resolve at load") {
  auto reg = test::makeTestRegistry();
  FunctionExport onFailure;
  onFailure.name = "t_on_failure";
  onFailure.minArgs = onFailure.maxArgs = 1;
  onFailure.routeArg = 0;
  onFailure.routeArgKind = RouteKind::Failure;
  onFailure.handler = [](ScriptContext&, const std::vector<FuncArg>&, const void*) { return 1; };
  FunctionExport onReply = onFailure;
  onReply.name = "t_on_reply";
  onReply.routeArgKind = RouteKind::OnReply;
  reg->addFunction(onFailure, "doubles");
  reg->addFunction(onReply, "doubles");
  auto r = test::checkScript(
      "route { t_on_failure(\"F\"); t_on_reply(\"R\"); }\nfailure_route[F] { forward(); }\nonreply_route[R] { drop; }\n",
      *reg);
  REQUIRE(r.script);
  CHECK(r.script->routes[1].kind == RouteKind::Failure);
  CHECK(r.script->routes[0].body[0].call->args[0].kind == FuncArg::Kind::Int);
  CHECK(r.script->routes[0].body[0].call->args[0].num == 1);
  CHECK(r.script->routes[0].body[1].call->args[0].num == 2);
  CHECK(r.script->onReplyRoute == -1);  // a named onreply_route is not the main one
  CHECK(firstError(test::checkScript("route { t_on_failure(\"G\"); }\nfailure_route[F] { }\n", *reg)) ==
        "test.cfg:1:9 unknown failure_route 'G' in t_on_failure()");
  // route[F] is a request route, not a failure_route
  CHECK(firstError(test::checkScript("route { t_on_failure(\"F\"); }\nroute[F] { }\n", *reg)) ==
        "test.cfg:1:9 unknown failure_route 'F' in t_on_failure()");
  CHECK(firstError(test::checkScript("failure_route { }\n", *reg)) ==
        "test.cfg:1:1 failure_route needs a name: failure_route[NAME] { ... }");
  CHECK(firstError(test::checkScript("route { }\nfailure_route[F] { create_via(); }\n", *reg)).empty());
}

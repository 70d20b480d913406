// Executor: keywords, comparisons, control flow and the function return convention.
#include "script_fixture.h"

using sipsd::test::Fixture;
using Calls = std::vector<std::string>;

TEST_CASE("keywords: method, uri, proto, src/dst ip and port, af, msg:len") {
  Fixture f;
  CHECK(f.run("route { if (method == \"INVITE\" && uri =~ \"@EXAMPLE\\.com$\" && proto == TLS) { t(1, \"a\"); } }") == 1);
  CHECK(f.calls == Calls{"t(1,a)"});
  f.run("route { if (src_ip == 10.0.0.0/8 && src_ip != 11.0.0.0/8 && src_ip == \"10.1.2.3\") { t(1, \"b\"); } }");
  CHECK(f.calls == Calls{"t(1,b)"});
  f.run("route { if (src_port == 40000 && src_port > 1024 && dst_port == \"5061\" && dst_ip == 127.0.0.1) { t(1, \"c\"); } }");
  CHECK(f.calls == Calls{"t(1,c)"});
  f.run("route { if (af == 4 && msg:len > 10 && proto != UDP && proto == \"tls\") { t(1, \"d\"); } }");
  CHECK(f.calls == Calls{"t(1,d)"});
  f.run("route { if (status || method == \"invite\") { t(1, \"no\"); } }");  // Null status; case-sensitive method
  CHECK(f.calls.empty());
}

TEST_CASE("proto compared with a string names a protocol, checked at load") {
  Fixture f;
  f.run("route { if (proto == \"tls\" && \"TLS\" == proto && proto != \"udp\") { t(1); } }");
  CHECK(f.calls == Calls{"t(1)"});
}

TEST_CASE("IPv6 source and networks") {
  Fixture f;
  f.rcv.src = *sipsd::SockAddr::fromIpPort("2001:db8::7", 5060);
  f.run("route { if (af == 6 && src_ip == [2001:db8::]/32 && src_ip != 10.0.0.0/8 && src_ip == 2001:db8::7) { t(1); } }");
  CHECK(f.calls == Calls{"t(1)"});
}

TEST_CASE("replies: status and the CSeq method; uri is Null") {
  Fixture f;
  f.msg.kind = sipsd::SipMsg::Kind::Reply;
  f.msg.status = 180;
  sipsd::Header cseq;
  cseq.type = sipsd::HdrType::CSeq;
  cseq.value = "12 INVITE";
  f.msg.headers.push_back(cseq);
  f.run("onreply_route { if (status >= 100 && status < 200 && method == \"INVITE\" && !uri) { t(1); } }");
  CHECK(f.calls == Calls{"t(1)"});
}

TEST_CASE("string/int comparisons and Null selects") {
  Fixture f;
  f.run("route { if (@sel.num == 5060 && @sel.num > 100 && @sel.num != \"5061\") { t(1, \"num\"); } }");
  CHECK(f.calls == Calls{"t(1,num)"});
  f.run("route { if (@sel.null == \"\" && @sel.null != \"Bob\" && !@sel.null && !(@sel.null > 1)) { t(1, \"null\"); } }");
  CHECK(f.calls == Calls{"t(1,null)"});
  f.run("route { if (@sel.null =~ \".*\") { t(1, \"m\"); } if (@sel.null !~ \"x\") { t(1, \"nm\"); } }");
  CHECK(f.calls == Calls{"t(1,nm)"});
  f.run("route { if (@sel.ip == 192.168.0.0/16 && @sel.empty == \"\" && \"abc\" < \"abd\") { t(1, \"ip\"); } }");
  CHECK(f.calls == Calls{"t(1,ip)"});
}

TEST_CASE("&& and || short-circuit; ! and parentheses") {
  Fixture f;
  f.run("route { if (t(-1, \"a\") && t(1, \"b\")) { t(1, \"x\"); } }");
  CHECK(f.calls == Calls{"t(-1,a)"});
  f.run("route { if (t(1, \"a\") || t(1, \"b\")) { t(1, \"x\"); } }");
  CHECK(f.calls == Calls{"t(1,a)", "t(1,x)"});
  f.run("route { if (!(t(-1, \"a\") || t(-1, \"b\"))) { t(1, \"x\"); } }");
  CHECK(f.calls == Calls{"t(-1,a)", "t(-1,b)", "t(1,x)"});
}

TEST_CASE("else if chains pick one branch") {
  Fixture f;
  f.run("route { if (method == \"BYE\") { t(1, \"1\"); } else if (method == \"INVITE\") { t(1, \"2\"); } else { t(1, \"3\"); } }");
  CHECK(f.calls == Calls{"t(1,2)"});
  // Conditions are tried in order up to the first true one; the else runs when none is.
  f.run("route { if (t(-1, \"a\")) { t(1, \"x\"); } else if (t(-1, \"b\")) { t(1, \"y\"); } "
        "else if (t(1, \"c\")) { t(1, \"z\"); } else if (t(1, \"d\")) { t(1, \"w\"); } }");
  CHECK(f.calls == Calls{"t(-1,a)", "t(-1,b)", "t(1,c)", "t(1,z)"});
  f.run("route { if (t(-1, \"a\")) { t(1, \"x\"); } else if (t(-1, \"b\")) { t(1, \"y\"); } else { t(1, \"e\"); } }");
  CHECK(f.calls == Calls{"t(-1,a)", "t(-1,b)", "t(1,e)"});
  // A 10,000-long chain is a list, not 10,000 nested else blocks: it compiles and runs.
  std::string chain = "route { if (t(-1, \"0\")) { exit; }";
  for (int i = 1; i < 10000; ++i) chain += " else if (t(" + std::string(i == 9999 ? "1" : "-1") + ", \"" + std::to_string(i) + "\")) { exit; }";
  chain += " t(1, \"after\"); }";
  f.run(chain);
  REQUIRE(f.calls.size() == 10000);
  CHECK(f.calls.back() == "t(1,9999)");
}

TEST_CASE("break, exit and drop stop the script; return leaves the route") {
  Fixture f;
  CHECK(f.run("route { route(A); t(1, \"after\"); }\nroute[A] { t(1, \"in\"); return; t(1, \"never\"); }") == 1);
  CHECK(f.calls == Calls{"t(1,in)", "t(1,after)"});
  CHECK(f.run("route { route(A); t(1, \"after\"); }\nroute[A] { exit; }") == 0);
  CHECK(f.calls.empty());
  CHECK(f.run("route { if (1) { break; } t(1, \"after\"); }") == 0);
  CHECK(f.calls.empty());
  CHECK(f.run("route { drop; t(1, \"after\"); }") == 0);
  CHECK(f.dropped);
  CHECK(f.run("route { t(1, \"x\"); }") == 1);
  CHECK_FALSE(f.dropped);
}

TEST_CASE("a function returning 0 stops the script, also inside a condition") {
  Fixture f;
  CHECK(f.run("route { t(0, \"a\"); t(1, \"b\"); }") == 0);
  CHECK(f.calls == Calls{"t(0,a)"});
  CHECK(f.run("route { if (t(0, \"a\")) { t(1, \"b\"); } else { t(1, \"c\"); } t(1, \"d\"); }") == 0);
  CHECK(f.calls == Calls{"t(0,a)"});
}

TEST_CASE("select arguments are evaluated per message") {
  Fixture f;
  f.run("route { t(1, @sel.num, @sel.ip); }");
  CHECK(f.calls == Calls{"t(1,5060,192.168.1.20)"});
}

TEST_CASE("runaway route recursion is stopped") {
  Fixture f;
  CHECK(f.run("route { route(A); }\nroute[A] { t(1, \"x\"); route(A); }") == 0);
  CHECK(f.calls.size() == size_t(sipsd::script::kMaxRouteDepth - 1));
  REQUIRE(f.core.lines.size() == 1);
  CHECK(f.core.lines[0].find("route calls nested deeper than 100") != std::string::npos);
}

TEST_CASE("a script without a main route does nothing") {
  Fixture f;
  CHECK(f.run("route[A] { t(1); }") == 1);
  CHECK(f.calls.empty());
}

// Grammar: the syntax tree the parser builds for each construct of SPEC §2.
#include <doctest/doctest.h>

#include <memory>

#include "cfg/config_parser.h"

using namespace sipsd::cfg;

namespace {
struct Parsed {
  std::string src;
  Diagnostics diags;
  ast::Config config;
};
std::unique_ptr<Parsed> parse(const std::string& text) {
  auto p = std::make_unique<Parsed>();
  p->src = text;
  ErrorHandler h(p->src, "t.cfg", p->diags);
  p->config = parseConfig(h);
  return p;
}
const ast::Statement& firstStatement(const Parsed& p) {
  return boost::get<ast::RouteDef>(p.config.items.at(0)).body.at(0);
}
}  // namespace

TEST_CASE("global assignments: ints, strings, bare words, IPv6 listen") {
  auto p = parse("debug=3\nmpath=\"build/modules\"\nlisten=tls:[::1]:5061\ntls_method=SSLv23; children = 2 # c\n");
  REQUIRE_FALSE(p->diags.hasErrors());
  REQUIRE(p->config.items.size() == 5);
  auto& a0 = boost::get<ast::Assign>(p->config.items[0]);
  CHECK(a0.name == "debug");
  CHECK(boost::get<ast::IntLit>(a0.value).value == 3);
  CHECK(boost::get<ast::StringLit>(boost::get<ast::Assign>(p->config.items[1]).value).value == "build/modules");
  CHECK(boost::get<ast::BareWord>(boost::get<ast::Assign>(p->config.items[2]).value).text == "tls:[::1]:5061");
  CHECK(boost::get<ast::BareWord>(boost::get<ast::Assign>(p->config.items[3]).value).text == "SSLv23");
  CHECK(boost::get<ast::IntLit>(boost::get<ast::Assign>(p->config.items[4]).value).value == 2);
}

TEST_CASE("loadmodule, modparam and blocks") {
  auto p = parse(
      "loadmodule \"tls\"\nmodparam(\"tls\", \"verify_certificate\", 1)\n"
      "modparam(\"tls\", \"certificate\", \"1.2.3.4:5090=key.pem\")\n"
      "tls_domain[1.2.3.4:5061] {\n tls_certificate=\"c.pem\"\n tls_method=tlsv1\n}\n");
  REQUIRE_FALSE(p->diags.hasErrors());
  REQUIRE(p->config.items.size() == 4);
  CHECK(boost::get<ast::LoadModule>(p->config.items[0]).path.value == "tls");
  auto& mp = boost::get<ast::ModParam>(p->config.items[1]);
  CHECK(mp.module.value == "tls");
  CHECK(mp.param.value == "verify_certificate");
  CHECK(boost::get<ast::IntLit>(mp.value).value == 1);
  auto& b = boost::get<ast::CfgBlockAst>(p->config.items[3]);
  CHECK(b.kind == "tls_domain");
  CHECK(b.selector == "1.2.3.4:5061");
  REQUIRE(b.items.size() == 2);
  CHECK(b.items[1].name == "tls_method");
}

TEST_CASE("string escapes are decoded; other backslashes are kept for regexes") {
  auto p = parse("route { log(\"a\\\"b\\\\c\\nd\\re\\tf \\.x\"); }");
  REQUIRE_FALSE(p->diags.hasErrors());
  auto& call = boost::get<ast::FuncCall>(firstStatement(*p));
  CHECK(boost::get<ast::StringLit>(call.args[0]).value == "a\"b\\c\nd\re\tf \\.x");
}

TEST_CASE("selects with any number of parts and indexes") {
  auto p = parse("route { if (@contact[2].uri.params.transport == \"tls\") { exit; } }");
  REQUIRE_FALSE(p->diags.hasErrors());
  auto& ifs = boost::get<boost::spirit::x3::forward_ast<ast::IfStmt>>(firstStatement(*p)).get();
  auto& sel = boost::get<ast::Select>(ifs.cond.first.first.cmp.lhs);
  REQUIRE(sel.parts.size() == 4);
  CHECK(sel.parts[0].name == "contact");
  CHECK(sel.parts[0].index == 2);
  CHECK(sel.parts[1].index == -1);
  CHECK(sel.parts[3].name == "transport");
}

TEST_CASE("&& binds tighter than ||, ! applies to the comparison, parentheses group") {
  auto p = parse("route { if (a == 1 || b == 2 && !c == 3 || (d)) { exit; } }");
  REQUIRE_FALSE(p->diags.hasErrors());
  auto& ifs = boost::get<boost::spirit::x3::forward_ast<ast::IfStmt>>(firstStatement(*p)).get();
  CHECK(ifs.cond.rest.size() == 2);             // a==1 || (b==2 && !c==3) || (d)
  CHECK(ifs.cond.rest[0].rest.size() == 1);     // b==2 && !c==3
  CHECK(ifs.cond.rest[0].rest[0].bangs == "!");
  CHECK(ifs.cond.rest[0].rest[0].cmp.tail->op == ast::CmpOp::Eq);
  CHECK(boost::get<boost::spirit::x3::forward_ast<ast::OrExpr>>(&ifs.cond.rest[1].first.cmp.lhs) != nullptr);
}

TEST_CASE("addresses and networks, msg:len, else-if chains") {
  auto p = parse(
      "route { if (src_ip == 10.0.0.0/8) { exit; } else if (dst_ip == [2001:db8::1]) { drop; } "
      "else if (src_ip == fe80::/10 && msg:len > 10) { return; } else { break; } }");
  REQUIRE_FALSE(p->diags.hasErrors());
  auto& ifs = boost::get<boost::spirit::x3::forward_ast<ast::IfStmt>>(firstStatement(*p)).get();
  CHECK(boost::get<ast::AddrLit>(ifs.cond.first.first.cmp.tail->rhs).text == "10.0.0.0/8");
  REQUIRE(ifs.elseIfs.size() == 2);  // the chain is flat: one if with two else-ifs and an else
  const auto& elif = ifs.elseIfs[0];
  CHECK(boost::get<ast::AddrLit>(elif.cond.first.first.cmp.tail->rhs).text == "[2001:db8::1]");
  const auto& elif2 = ifs.elseIfs[1];
  CHECK(boost::get<ast::AddrLit>(elif2.cond.first.first.cmp.tail->rhs).text == "fe80::/10");
  CHECK(boost::get<ast::Ident>(elif2.cond.first.rest[0].cmp.lhs).name == "msg:len");
  REQUIRE(ifs.otherwise.size() == 1);
  CHECK(boost::get<ast::ControlStmt>(ifs.otherwise[0]).kind == ast::Control::Break);
}

TEST_CASE("comments of both kinds anywhere") {
  auto p = parse("# a\n/* b\n c */ debug=1 /* d */ # e\nroute { /* f */ exit; # g\n }\n");
  REQUIRE_FALSE(p->diags.hasErrors());
  CHECK(p->config.items.size() == 2);
}

TEST_CASE("routes: main, named, numbered, quoted, onreply") {
  auto p = parse("route { exit; } route[A] { } route[2] { } route[\"x y\"] { } onreply_route { } onreply_route[R] { }");
  REQUIRE_FALSE(p->diags.hasErrors());
  REQUIRE(p->config.items.size() == 6);
  CHECK(boost::get<ast::RouteDef>(p->config.items[3]).name == "x y");
  CHECK(boost::get<ast::RouteDef>(p->config.items[5]).type == ast::RouteType::OnReply);
}

TEST_CASE("syntax errors carry line and column, and parsing resumes at the next construct") {
  auto p = parse("debug=1\nroute[A] {\n  exit\n}\nroute[B] { exit; }\nloadmodule 5\n");
  REQUIRE(p->diags.errorCount() == 2);
  CHECK(p->diags.items()[0].loc.str() == "t.cfg:3:7");
  CHECK(p->diags.items()[0].message == "expected ';'");
  CHECK(p->diags.items()[1].loc.str() == "t.cfg:6:12");
  CHECK(p->diags.items()[1].message == "expected string");
  CHECK(p->config.items.size() == 3);  // debug, route[A] (its statement recovered) and route[B]
  CHECK(formatDiagnostic(p->diags.items()[0]) == "t.cfg:3:7: error: expected ';'\n  exit\n      ^\n");
}

TEST_CASE("unterminated comment and string") {
  auto p = parse("debug=1\n/* open\n");
  REQUIRE(p->diags.errorCount() == 1);
  CHECK(p->diags.items()[0].message == "unterminated comment");
  auto q = parse("route { log(\"abc); }\n");
  // The rest of the line is inside the string, so the route's `}` is missing as well.
  REQUIRE(q->diags.errorCount() == 2);
  CHECK(q->diags.items()[0].loc.str() == "t.cfg:1:21");  // the end of the line the string runs to
  CHECK(q->diags.items()[0].message == "expected '\"' before end of file");
}

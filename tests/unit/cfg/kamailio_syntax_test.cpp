// Kamailio's lexical habits and statements in the grammar and checker: adjacent string literals,
// single-quoted strings, // comments, Kamailio's escapes, switch and while.
#include <doctest/doctest.h>

#include <memory>

#include "cfg/config_parser.h"
#include "test_registry.h"

using namespace sipsd;
using namespace sipsd::cfg;
namespace x3 = boost::spirit::x3;

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
const ast::Block& routeBody(const Parsed& p, size_t item = 0) { return boost::get<ast::RouteDef>(p.config.items.at(item)).body; }
std::string argString(const Parsed& p, size_t st = 0, size_t arg = 0) {
  return boost::get<ast::StringLit>(boost::get<ast::FuncCall>(routeBody(p).at(st)).args.at(arg)).value;
}
std::string errors(const test::CheckResult& r) {
  std::string out;
  for (const auto& d : r.diags.items()) out += d.loc.str() + " " + d.message + "\n";
  return out;
}
}  // namespace

TEST_CASE("adjacent double-quoted strings are one, across blanks and lines") {
  auto p = parse("route { log(\"a\" \"b\"\n\t  \"c\", \"d\"); }\n");
  REQUIRE_MESSAGE(!p->diags.hasErrors(), p->diags.format());
  CHECK(argString(*p) == "abc");
  CHECK(argString(*p, 0, 1) == "d");
  // modparam values and core parameters too (Kamailio's default cfg: acc's log_extra).
  auto m = parse("modparam(\"acc\", \"log_extra\",\n\t\"src_user=$fU;\"\n\t\"dst_ouser=$tU\")\nlog_prefix=\"x \" \"y\"\n");
  REQUIRE_MESSAGE(!m->diags.hasErrors(), m->diags.format());
  CHECK(boost::get<ast::StringLit>(boost::get<ast::ModParam>(m->config.items.at(0)).value).value ==
        "src_user=$fU;dst_ouser=$tU");
  CHECK(boost::get<ast::StringLit>(boost::get<ast::Assign>(m->config.items.at(1)).value).value == "x y");
  // In conditions and assignments as well.
  auto c = parse("route { if (method == \"INV\" \"ITE\") { $du = \"sip:\" \"h\" + $rU; } }");
  REQUIRE_MESSAGE(!c->diags.hasErrors(), c->diags.format());
  const auto& ifs = boost::get<x3::forward_ast<ast::IfStmt>>(routeBody(*c).at(0)).get();
  CHECK(boost::get<ast::StringLit>(ifs.cond.first.first.cmp.tail->rhs).value == "INVITE");
  const auto& as = boost::get<ast::PvAssign>(ifs.then.at(0));
  CHECK(boost::get<ast::StringLit>(as.first).value == "sip:h");
}

TEST_CASE("single-quoted strings take their text as written; they do not join") {
  auto p = parse("route { log('a\\nb \"q\" #x //y', 'c'); }");
  REQUIRE_MESSAGE(!p->diags.hasErrors(), p->diags.format());
  CHECK(argString(*p) == "a\\nb \"q\" #x //y");
  CHECK(argString(*p, 0, 1) == "c");
  auto bad = parse("route { log(\"a\" 'b'); }");
  CHECK(bad->diags.hasErrors());
}

TEST_CASE("Kamailio's escapes in double-quoted strings: \\a \\xHH \\ooo; \\1 and others kept") {
  auto p = parse("route { log(\"\\x41\\x7e\\101\\0101|\\a|\\1|\\.|\\q\"); }");
  REQUIRE_MESSAGE(!p->diags.hasErrors(), p->diags.format());
  CHECK(argString(*p) == "A~A\b1|\a|\\1|\\.|\\q");
}

TEST_CASE("// comments run to the end of the line, outside strings") {
  auto p = parse("// top\ndebug=3 // after a value\nlisten=udp:127.0.0.1:5060// glued\n"
                 "route { // here\n  log(\"http://x\"); // there\n}\n");
  REQUIRE_MESSAGE(!p->diags.hasErrors(), p->diags.format());
  REQUIRE(p->config.items.size() == 3);
  CHECK(boost::get<ast::BareWord>(boost::get<ast::Assign>(p->config.items[1]).value).text == "udp:127.0.0.1:5060");
  CHECK(boost::get<ast::StringLit>(boost::get<ast::FuncCall>(routeBody(*p, 2).at(0)).args[0]).value == "http://x");
}

TEST_CASE("switch: labels, bodies up to the next label, default") {
  auto p = parse("route { switch ($rU) { case -1: case -3: log(\"a\"); exit; case \"x\" \"y\": default: break; "
                 "case /\"^a\": } }");
  REQUIRE_MESSAGE(!p->diags.hasErrors(), p->diags.format());
  const auto& sw = boost::get<x3::forward_ast<ast::SwitchStmt>>(routeBody(*p).at(0)).get();
  REQUIRE(sw.cases.size() == 5);
  CHECK(boost::get<ast::IntLit>(sw.cases[0].label.value).value == -1);
  CHECK(sw.cases[0].body.empty());
  CHECK(boost::get<ast::IntLit>(sw.cases[1].label.value).value == -3);
  CHECK(sw.cases[1].body.size() == 2);
  CHECK(boost::get<ast::StringLit>(sw.cases[2].label.value).value == "xy");
  CHECK(sw.cases[3].label.isDefault);
  CHECK(sw.cases[3].body.size() == 1);
  CHECK(sw.cases[4].label.regex);
  CHECK(boost::get<ast::StringLit>(sw.cases[4].label.value).value == "^a");
}

TEST_CASE("switch and while compile into tables and loops; break inside them leaves them") {
  auto reg = test::makeTestRegistry();
  auto r = test::checkScript(
      "route {\n switch (method) { case \"A\": break; case /\"B\": exit; default: break; }\n"
      " while (method == \"X\") { break; }\n break;\n}\n",
      *reg);
  REQUIRE_MESSAGE(r.script, errors(r));
  const auto& body = r.script->routes[0].body;
  REQUIRE(body.size() == 3);
  CHECK(body[0].kind == ActionNode::Kind::Switch);
  CHECK(body[0].cases->strings);
  REQUIRE(body[0].cases->strs.size() == 2);
  CHECK(body[0].cases->strs[1].regex);
  CHECK(body[0].cases->defaultAt == 2);
  CHECK(body[0].then[0].kind == ActionNode::Kind::Leave);
  CHECK(body[1].kind == ActionNode::Kind::While);
  CHECK(body[1].then[0].kind == ActionNode::Kind::Leave);
  CHECK(body[2].kind == ActionNode::Kind::Break);
  auto ints = test::checkScript("route { switch (src_port) { case 9: case -2: case 5: exit; } }", *reg);
  REQUIRE_MESSAGE(ints.script, errors(ints));
  const auto& t = *ints.script->routes[0].body[0].cases;
  CHECK_FALSE(t.strings);
  CHECK(t.entry(int64_t(-2)) == 0);
  CHECK(t.entry(int64_t(9)) == 0);
  CHECK(t.entry(int64_t(4)) == -1);
}

TEST_CASE("an error inside a joined string points at its character in the right part") {
  auto reg = test::makeTestRegistry();
  auto r = test::checkScript("route {\n  xlog(\"a\\x41\" \"\\t\"\n       \"b $nosuch\");\n}\n", *reg);
  REQUIRE(r.diags.hasErrors());
  CHECK(r.diags.items()[0].loc.str() == "test.cfg:3:11");
  auto s = test::checkScript("route {\n  xlog('a\\t $nosuch');\n}\n", *reg);
  REQUIRE(s.diags.hasErrors());
  CHECK(s.diags.items()[0].loc.str() == "test.cfg:2:13");
}

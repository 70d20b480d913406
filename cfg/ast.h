// The syntax tree of a ser.cfg-style script (SPEC §2), as the Spirit X3 grammar produces it.
// Every node that can be the subject of a diagnostic derives from position_tagged so the
// checker can point at its exact line and column through the parser's position cache.
#pragma once
#include <boost/optional.hpp>
#include <boost/spirit/home/x3/support/ast/position_tagged.hpp>
#include <boost/spirit/home/x3/support/ast/variant.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace sipsd::cfg::ast {

namespace x3 = boost::spirit::x3;

struct StringLit : x3::position_tagged {
  std::string value;  // escapes already decoded
};

struct IntLit : x3::position_tagged {
  int64_t value = 0;
};

// An IPv4/IPv6 address or network as written (`10.0.0.0/8`, `[::1]`, `fe80::/10`);
// validated by the checker so a bad one is reported where it stands.
struct AddrLit : x3::position_tagged {
  std::string text;
};

// A bare word: a core keyword (`method`, `msg:len`), a protocol constant (`TLS`) or a route name.
struct Ident : x3::position_tagged {
  std::string name;
};

struct SelectPart {
  std::string name;
  int index = -1;  // -1 when no [N] was written
};

struct Select : x3::position_tagged {
  std::vector<SelectPart> parts;
};

// A pseudo-variable: `$rm`, `$hdr(Name)` (arg = "Name").
struct PVar : x3::position_tagged {
  std::string name;
  std::string arg;
};

using Arg = x3::variant<StringLit, IntLit, AddrLit, Select, Ident, PVar>;

struct FuncCall : x3::position_tagged {
  std::string name;
  std::vector<Arg> args;
};

// ---- expressions ---------------------------------------------------------------------------
struct OrExpr;

using Operand = x3::variant<StringLit, IntLit, AddrLit, Select, FuncCall, Ident, x3::forward_ast<OrExpr>, PVar>;

enum class CmpOp : uint8_t { Eq, Ne, Match, NoMatch, Lt, Gt, Le, Ge };

struct CmpTail : x3::position_tagged {
  CmpOp op = CmpOp::Eq;
  Operand rhs;
};

// `lhs` alone tests the operand's truth; `lhs OP rhs` compares.
struct Comparison : x3::position_tagged {
  Operand lhs;
  boost::optional<CmpTail> tail;
};

// Zero or more `!` in front of a comparison (`!a == b` negates the whole comparison).
struct Unary : x3::position_tagged {
  std::string bangs;
  Comparison cmp;
};

struct AndExpr : x3::position_tagged {
  Unary first;
  std::vector<Unary> rest;
};

struct OrExpr : x3::position_tagged {
  AndExpr first;
  std::vector<AndExpr> rest;
};

// ---- statements ----------------------------------------------------------------------------
enum class Control : uint8_t { Break, Exit, Drop, Return };

struct ControlStmt : x3::position_tagged {
  Control kind = Control::Break;
};

// An operand after the first on an assignment's right side, with its operator: + - * / %.
struct AssignTerm : x3::position_tagged {
  char op = '+';
  Arg operand;
};

// `$du = "sip:" + $si + ":5060";` (text joined), `$var(i) = $var(i) + 1;` (integer arithmetic).
struct PvAssign : x3::position_tagged {
  PVar lhs;
  Arg first;
  std::vector<AssignTerm> rest;
};

struct IfStmt;
struct SwitchStmt;
struct WhileStmt;
using Statement = x3::variant<x3::forward_ast<IfStmt>, ControlStmt, FuncCall, PvAssign, x3::forward_ast<SwitchStmt>,
                              x3::forward_ast<WhileStmt>>;
using Block = std::vector<Statement>;

// One `else if (cond) { ... }` of a chain.
struct ElseIf : x3::position_tagged {
  OrExpr cond;
  Block then;
};

struct IfStmt : x3::position_tagged {
  OrExpr cond;
  Block then;
  // The `else if` chain is kept flat, not as an else block holding the next if, so that a
  // long chain costs no parser, checker or executor recursion.
  std::vector<ElseIf> elseIfs;
  Block otherwise;
};

// `case 1:`, `case "INVITE":`, `case /"^sip:":` (a regular expression) or `default:`.
using CaseValue = x3::variant<IntLit, StringLit>;

struct CaseLabel : x3::position_tagged {
  bool isDefault = false;
  bool regex = false;
  CaseValue value;  // not used by `default`
};

// One label and the statements after it, up to the next label (possibly none: `case -1: case -3:`).
struct SwitchCase : x3::position_tagged {
  CaseLabel label;
  Block body;
};

struct SwitchStmt : x3::position_tagged {
  OrExpr value;
  std::vector<SwitchCase> cases;
};

struct WhileStmt : x3::position_tagged {
  OrExpr cond;
  Block body;
};

// ---- top level -----------------------------------------------------------------------------
// Right-hand side of `name=value` and modparam values: a string, an integer or a bare token
// (`tls:127.0.0.1:5061`, `SSLv23`, `yes`).
struct BareWord : x3::position_tagged {
  std::string text;
};
using ParamVal = x3::variant<StringLit, IntLit, BareWord>;

struct Assign : x3::position_tagged {
  std::string name;
  ParamVal value;
};

struct LoadModule : x3::position_tagged {
  StringLit path;
};

struct ModParam : x3::position_tagged {
  StringLit module;
  StringLit param;
  ParamVal value;
};

// `tls_domain[1.2.3.4:5061] { tls_certificate="..." ... }`
struct CfgBlockAst : x3::position_tagged {
  std::string kind;
  std::string selector;
  std::vector<Assign> items;
};

// Branch, Event and OnSend are Kamailio's route kinds sipsd does not run: parsed so that the
// checker can say so instead of a syntax error inside their body.
enum class RouteType : uint8_t { Request, OnReply, Failure, Branch, Event, OnSend };

struct RouteDef : x3::position_tagged {
  RouteType type = RouteType::Request;
  std::string name;  // empty for the main route / main onreply route
  Block body;
};

using TopItem = x3::variant<RouteDef, LoadModule, ModParam, CfgBlockAst, Assign>;

struct Config {
  std::vector<TopItem> items;
};

}  // namespace sipsd::cfg::ast

// Definition of the config grammar of SPEC §2. Keywords are followed by `>` (expectation) so
// that a malformed construct is reported where it breaks instead of backtracking silently;
// every rule ID is annotate_on_success so the checker can point at any node.
#pragma once
#include <boost/spirit/home/x3.hpp>
#include <boost/spirit/home/x3/support/utility/annotate_on_success.hpp>
#include <algorithm>
#include <string_view>

#include "cfg/ast.h"
#include "cfg/ast_adapted.h"
#include "cfg/grammar.h"
#include "core/util/strings.h"

namespace sipsd::cfg::parser {

using x3::attr;
using x3::char_;
using x3::eoi;
using x3::lexeme;
using x3::lit;
using x3::raw;

// ASCII-only classes (see asciiSpace).
const auto alpha = char_("a-zA-Z");
const auto alnum = char_("a-zA-Z0-9");
const auto digit = char_("0-9");
const auto xdigit = char_("0-9a-fA-F");

// Rule IDs: each records the source range of its node.
struct Annotated : x3::annotate_on_success {};

// Blocks and parentheses nest at most this deep: the parser, the checker and the executor
// recurse per level, and a hostile or generated script must get an error, not a stack overflow.
inline constexpr int kMaxNesting = 100;
inline constexpr const char kNestingWhich[] = "\x01nesting";  // which() of that expectation failure
inline thread_local int nestingDepth = 0;

// Turns an expectation failure into a diagnostic. It points at the offending token, except
// for missing punctuation (`;` `)` ...), which gcc reports right after the previous token. A
// missing `}` is shown where the next construct (or the end of the file) was found instead,
// as that is where the block was left open.
template <typename It, typename Exception>
void reportExpectation(ErrorHandler& handler, const It& last, const Exception& x) {
  It token = x.where();
  x3::parse(token, last, *skipper);
  It at = token;
  std::string what = x.which();
  if (what == kNestingWhich) {
    handler.error(at, "nesting deeper than " + std::to_string(kMaxNesting));
    return;
  }
  if (what.size() > 1 && what[0] == '\'' && what != "'}'") {
    It prev = x.where();
    const It begin = handler.source().begin();
    while (prev != begin && str::isSpace(*(prev - 1))) --prev;
    at = prev;
  }
  if (token == last) what += " before end of file";
  handler.error(at, "expected " + what);
}

// A keyword: the literal not followed by more identifier characters.
inline auto kw(const char* word) { return lexeme[lit(word) >> !(alnum | '_')]; }

// Where the next top-level construct starts. A block ends at `}`; reaching the end of the
// file or this first means the block was left open, which is then reported as a missing `}`
// there. Error recovery (skipBadStatement) stops at the same places, so the two agree.
const auto nextTopLevel = (kw("route") >> (lit('[') | '{')) | kw("onreply_route") | kw("failure_route") |
                          kw("loadmodule") | kw("modparam") | kw("request_route") | kw("reply_route") |
                          kw("branch_route") | kw("event_route") | kw("onsend_route");

template <typename It>
bool atTopLevelKeyword(It p, const It& last) {
  return x3::phrase_parse(p, last, nextTopLevel, skipper);
}

// nest[p]: p one level deeper; past kMaxNesting an expectation failure at p's first token.
template <typename Subject>
struct NestingGuard : x3::unary_parser<Subject, NestingGuard<Subject>> {
  using base_type = x3::unary_parser<Subject, NestingGuard<Subject>>;
  static bool const is_pass_through_unary = true;
  static bool const handles_container = Subject::handles_container;
  constexpr NestingGuard(const Subject& subject) : base_type(subject) {}

  template <typename It, typename Context, typename RContext, typename Attribute>
  bool parse(It& first, const It& last, const Context& context, RContext& rcontext, Attribute& attr) const {
    x3::skip_over(first, last, context);
    struct Level {
      Level() { ++nestingDepth; }
      ~Level() { --nestingDepth; }
    } level;
    if (nestingDepth > kMaxNesting) boost::throw_exception(x3::expectation_failure<It>(first, kNestingWhich));
    return this->subject.parse(first, last, context, rcontext, attr);
  }
};

struct NestingGen {
  template <typename Subject>
  constexpr NestingGuard<typename x3::extension::as_parser<Subject>::value_type> operator[](const Subject& s) const {
    return {x3::as_parser(s)};
  }
};
inline constexpr NestingGen nest{};

// After a broken statement, skip to where the next one can start: past a `;` or a balanced
// `{ ... }` at this level, or up to the `}` closing the enclosing block, or up to a top-level
// keyword at the start of a line (the block was never closed). Strings and comments are
// skipped whole so their braces do not count.
template <typename It>
It skipBadStatement(It p, const It& begin, const It& last) {
  int depth = 0;
  bool lineStart = p == begin || *(p - 1) == '\n';
  while (p != last) {
    if (lineStart && atTopLevelKeyword(p, last)) return p;
    lineStart = false;
    char c = *p;
    if (c == '\n') {
      lineStart = true;
      ++p;
    } else if (c == '"' || c == '\'') {
      ++p;
      while (p != last && *p != c && *p != '\n') {
        if (c == '"' && *p == '\\' && p + 1 != last) ++p;
        ++p;
      }
      if (p != last && *p == c) ++p;
    } else if (c == '#' || (c == '/' && p + 1 != last && *(p + 1) == '/')) {
      while (p != last && *p != '\n') ++p;
    } else if (c == '/' && p + 1 != last && *(p + 1) == '*') {
      p += 2;
      while (p != last && !(*p == '*' && p + 1 != last && *(p + 1) == '/')) ++p;
      p = p == last ? p : p + 2;
    } else if (c == '{') {
      ++depth;
      ++p;
    } else if (c == '}') {
      if (depth == 0) return p;
      ++p;
      if (--depth == 0) return p;
    } else if (c == ';' && depth == 0) {
      return ++p;
    } else {
      ++p;
    }
  }
  return p;
}

// A statement that fails is reported and skipped, so the rest of the route is still parsed
// and checked: several errors per run. The script is not used once an error was reported.
struct GuardedStatementClass : Annotated {
  template <typename It, typename Exception, typename Context>
  x3::error_handler_result on_error(It& first, const It& last, const Exception& x, const Context& context) {
    ErrorHandler& handler = x3::get<x3::error_handler_tag>(context).get();
    It from = It(x.where()) > first ? It(x.where()) : first;
    It next = from;  // only the `;` is missing: the next statement starts right here
    if (x.which() != "';'" || from == first) next = skipBadStatement(from, It(handler.source().begin()), last);
    // Recovery must consume input, or the block would retry the same spot forever. Nothing to
    // skip means the next construct starts here: the enclosing block reports its missing `}`.
    if (next == first) return x3::error_handler_result::fail;
    reportExpectation(handler, last, x);
    first = next;
    return x3::error_handler_result::accept;
  }
};

// A route whose block was left open (its `}` is missing before the next construct or the end
// of the file) is kept as parsed so far, so its statements are still checked.
struct RouteDefClass : Annotated {
  template <typename It, typename Exception, typename Context>
  x3::error_handler_result on_error(It& first, const It& last, const Exception& x, const Context& context) {
    reportExpectation(x3::get<x3::error_handler_tag>(context).get(), last, x);
    if (x.which() != "'}'") return x3::error_handler_result::fail;
    first = x.where();
    return x3::error_handler_result::accept;
  }
};

// Errors outside statements end the top-level construct; the config parser resumes after it.
struct TopItemClass : Annotated {
  template <typename It, typename Exception, typename Context>
  x3::error_handler_result on_error(It&, const It& last, const Exception& x, const Context& context) {
    reportExpectation(x3::get<x3::error_handler_tag>(context).get(), last, x);
    return x3::error_handler_result::fail;
  }
};

struct ControlSymbols : x3::symbols<ast::Control> {
  ControlSymbols() {
    add("break", ast::Control::Break)("exit", ast::Control::Exit)("drop", ast::Control::Drop)(
        "return", ast::Control::Return);
  }
};
inline const ControlSymbols controlSymbols;

struct CmpSymbols : x3::symbols<ast::CmpOp> {
  CmpSymbols() {
    add("==", ast::CmpOp::Eq)("!=", ast::CmpOp::Ne)("=~", ast::CmpOp::Match)("!~", ast::CmpOp::NoMatch)(
        "<=", ast::CmpOp::Le)(">=", ast::CmpOp::Ge)("<", ast::CmpOp::Lt)(">", ast::CmpOp::Gt);
  }
};
inline const CmpSymbols cmpSymbols;

// ---- rule objects ----------------------------------------------------------------------------
x3::rule<class NameClass, std::string> const name = "name";
x3::rule<class WordClass, std::string> const word = "identifier";
x3::rule<class QuotedClass, std::string> const quoted = "string";
x3::rule<class DQuotedClass, std::string> const dquoted = "string";
x3::rule<class SQuotedClass, std::string> const squoted = "string";
x3::rule<class AddrTextClass, std::string> const addrText = "address";
x3::rule<class SelectNameClass, std::string> const selectName = "select name";
x3::rule<class SelectPartClass, ast::SelectPart> const selectPart = "select part";
x3::rule<class SelectPartsClass, std::vector<ast::SelectPart>> const selectParts = "select name";
x3::rule<class StringLitClass, ast::StringLit> const stringLit = "string";
x3::rule<class IntLitClass, ast::IntLit> const intLit = "integer";
x3::rule<class AddrLitClass, ast::AddrLit> const addrLit = "address";
x3::rule<class IdentClass, ast::Ident> const ident = "identifier";
x3::rule<class SelectClass, ast::Select> const select = "select";
x3::rule<class ArgClass, ast::Arg> const arg = "argument";
x3::rule<class PVarArgClass, std::string> const pvarArg = "pseudo-variable argument";
x3::rule<class PvNameClass, std::string> const pvName = "pseudo-variable name";
x3::rule<class PVarClass, ast::PVar> const pvar = "pseudo-variable";
x3::rule<class AssignTermClass, ast::AssignTerm> const assignTerm = "operand";
x3::rule<class PvAssignClass, ast::PvAssign> const pvAssign = "assignment";
x3::rule<class FuncCallClass, ast::FuncCall> const funcCall = "function call";
x3::rule<class OperandClass, ast::Operand> const operand = "operand";
x3::rule<class CmpTailClass, ast::CmpTail> const cmpTail = "comparison";
x3::rule<class ComparisonClass, ast::Comparison> const comparison = "expression";
x3::rule<class UnaryClass, ast::Unary> const unary = "expression";
x3::rule<class AndExprClass, ast::AndExpr> const andExpr = "expression";
x3::rule<class OrExprClass, ast::OrExpr> const orExpr = "expression";
x3::rule<class ControlClass, ast::ControlStmt> const control = "statement";
x3::rule<class BlockClass, ast::Block> const block = "'{'";
x3::rule<class ElseClass, ast::Block> const elsePart = "else";
x3::rule<class ElseIfClass, ast::ElseIf> const elseIf = "else if";
x3::rule<class ElseBodyClass, ast::Block> const elseBody = "'{', 'if' or a statement";
x3::rule<class BodyClass, ast::Block> const body = "'{' or a statement";
x3::rule<class IfClass, ast::IfStmt> const ifStmt = "if";
x3::rule<class CallStmtClass, ast::FuncCall> const callStmt = "statement";
x3::rule<class CaseIntClass, ast::IntLit> const caseInt = "integer";
x3::rule<class CaseValueClass, ast::CaseValue> const caseValue = "integer or string";
x3::rule<class CaseLabelClass, ast::CaseLabel> const caseLabel = "case label";
x3::rule<class DefaultLabelClass, ast::CaseLabel> const defaultLabel = "default";
x3::rule<class SwitchCaseClass, ast::SwitchCase> const switchCase = "case";
x3::rule<class SwitchEndClass> const switchEnd = "case, default or '}'";
x3::rule<class SwitchClass, ast::SwitchStmt> const switchStmt = "switch";
x3::rule<class WhileClass, ast::WhileStmt> const whileStmt = "while";
x3::rule<class StatementClass, ast::Statement> const statement = "statement";
x3::rule<GuardedStatementClass, ast::Statement> const guardedStatement = "statement";
x3::rule<class BareTextClass, std::string> const bareText = "value";
x3::rule<class BareWordClass, ast::BareWord> const bareWord = "value";
x3::rule<class ParamIntClass, ast::IntLit> const paramInt = "integer";
x3::rule<class ParamValClass, ast::ParamVal> const paramVal = "value";
x3::rule<class AssignClass, ast::Assign> const assign = "assignment";
x3::rule<class LoadModuleClass, ast::LoadModule> const loadModule = "loadmodule";
x3::rule<class ModParamClass, ast::ModParam> const modParam = "modparam";
x3::rule<class SelectorClass, std::string> const selector = "selector";
x3::rule<class CfgBlockClass, ast::CfgBlockAst> const cfgBlock = "block";
x3::rule<class RouteNameClass, std::string> const routeName = "route name";
x3::rule<class RouteTypeClass, ast::RouteType> const routeType = "route";
x3::rule<class RouteDefClass, ast::RouteDef> const routeDef = "route";
TopItemType const topItemRule = "top-level statement";

// ---- lexical ---------------------------------------------------------------------------------
const auto identStart = alpha | char_('_');
const auto identChar = alnum | char_('_');

const auto name_def = lexeme[identStart >> *identChar];
// `msg:len` is one keyword, so a word may carry one `:suffix`.
const auto word_def = lexeme[identStart >> *identChar >> -(char_(':') >> +identChar)];

// As Kamailio's lexer: \" \\ \n \r \t \a, \xHH and \ooo (two or three octal digits; one is
// left alone so subst back-references such as "\1" stay) are decoded; any other backslash is
// kept with its character so that regular expressions such as "\.example\.com$" read as written.
const auto octal3 = x3::uint_parser<unsigned char, 8, 2, 3>();
const auto hex2 = x3::uint_parser<unsigned char, 16, 1, 2>();
const auto escape = lit('\\') >> (char_('"') | char_('\\') | (lit('n') >> attr('\n')) | (lit('r') >> attr('\r')) |
                                  (lit('t') >> attr('\t')) | (lit('a') >> attr('\a')) | (lit('x') >> hex2) | octal3);
const auto dquoted_def = lit('"') > *(escape | (char_ - '"' - x3::eol)) > lit('"');
// '...' takes its text as written, no escapes (Kamailio's single-quoted strings).
const auto squoted_def = lit('\'') > *(char_ - '\'' - x3::eol) > lit('\'');
// Double-quoted strings separated only by blanks and line ends are one: "a" "b" is "ab", so a
// long value may be split over lines (Kamailio's default cfg does so for acc's log_extra).
const auto quoted_def = lexeme[(dquoted >> *(x3::omit[*asciiSpace] >> dquoted)) | squoted];

const auto v4 = x3::repeat(3)[+digit >> '.'] >> +digit;
const auto v6Bracketed = lit('[') >> +(xdigit | ':' | '.') >> ']';
const auto v6Bare = *xdigit >> ':' >> *xdigit >> ':' >> *(xdigit | ':' | '.');
const auto addrEnd = !(alnum | '_' | ':' | '.');
const auto addrText_def = lexeme[raw[(v4 | v6Bracketed | v6Bare) >> -('/' >> +digit) >> addrEnd]];

const auto selectName_def = lexeme[identStart >> *(identChar | char_('-'))];
const auto selectPart_def = selectName >> ((lit('[') > x3::int_ > ']') | attr(-1));
const auto selectParts_def = selectPart % '.';

const auto stringLit_def = quoted;
const auto intLit_def = lexeme[x3::int64 >> !(identChar | '.' | ':')];
const auto addrLit_def = addrText;
const auto ident_def = word;
const auto select_def = lexeme[lit('@') > selectParts];

// ---- expressions -----------------------------------------------------------------------------
// `$name` or `$name(arg)`, e.g. `$hdr(User-Agent)`.
const auto pvarArg_def = (lit('(') > lexeme[+(char_ - ')' - asciiSpace)] > ')') | attr(std::string());
const auto pvName_def = lexeme[identStart >> *identChar];
const auto pvar_def = lexeme[(lit('$') > pvName) >> pvarArg];
const auto arg_def = stringLit | addrLit | intLit | select | pvar | ident;
const auto funcCall_def = name >> '(' > -(arg % ',') > ')';
const auto operand_def = stringLit | addrLit | intLit | select | funcCall | ident | pvar | nest[lit('(') > orExpr > ')'];
const auto cmpTail_def = cmpSymbols > operand;
const auto comparison_def = operand >> -cmpTail;
const auto unary_def = *char_('!') >> comparison;
const auto andExpr_def = unary >> *(lit("&&") > unary);
const auto orExpr_def = andExpr >> *(lit("||") > andExpr);

// ---- statements ------------------------------------------------------------------------------
const auto control_def = lexeme[controlSymbols >> !identChar] > ';';
const auto block_def = nest[lit('{') > *(!lit('}') >> !eoi >> !nextTopLevel >> guardedStatement) > lit('}')];
const auto guardedStatement_def = x3::expect[statement];
// `else if` is not an else block holding an if: the chain is a list (see ast::IfStmt).
// Kamailio's `if (c) return;` / `else exit;`: one statement without braces is a block of one.
const auto body_def = block | nest[x3::repeat(1)[statement]];
const auto elseBody_def = body;
const auto elsePart_def = kw("else") > elseBody;
const auto elseIf_def = kw("else") >> kw("if") > '(' > orExpr > ')' > body;
const auto ifStmt_def = kw("if") > '(' > orExpr > ')' > body > *elseIf > -elsePart;
const auto callStmt_def = funcCall > ';';
const auto assignTerm_def = char_("-+*/%") > arg;
const auto pvAssign_def = pvar >> (lit('=') >> !lit('=')) > arg > *assignTerm > ';';
// Kamailio's switch: integer or string labels (`case /"re":` matches a regular expression);
// a case's statements run on into the next case's unless a `break;` leaves the switch.
const auto caseStart = kw("case") | kw("default");
// An integer followed by the label's `:` (intLit refuses a `:` after it, as in an address).
const auto caseInt_def = lexeme[x3::int64 >> !(identChar | '.')];
const auto caseValue_def = caseInt | stringLit;
const auto caseLabel_def = kw("case") >> attr(false) >> ((lit('/') >> attr(true)) | attr(false)) > caseValue > ':';
const auto defaultLabel_def = kw("default") >> attr(true) >> attr(false) >> attr(ast::CaseValue()) > ':';
const auto switchCase_def =
    (defaultLabel | caseLabel) >> *(!caseStart >> !lit('}') >> !eoi >> !nextTopLevel >> guardedStatement);
const auto switchEnd_def = lit('}');
const auto switchStmt_def = kw("switch") > '(' > orExpr > ')' > nest[lit('{') > *switchCase > switchEnd];
const auto whileStmt_def = kw("while") > '(' > orExpr > ')' > body;
const auto statement_def = ifStmt | switchStmt | whileStmt | control | pvAssign | callStmt;

// ---- top level -------------------------------------------------------------------------------
// A `//` ends the value: the rest of the line is a comment.
const auto bareChar = char_ - asciiSpace - char_("#;{}(),\"'") - lit("//");
// `listen=ADDR advertise HOST:PORT` (Kamailio) is one value.
const auto bareText_def = raw[lexeme[+bareChar >> -(+char_(" \t") >> lit("advertise") >> +char_(" \t") >> +bareChar)]];
const auto bareWord_def = bareText;
const auto paramInt_def = lexeme[x3::int64 >> !bareChar];
const auto paramVal_def = stringLit | paramInt | bareWord;
const auto assign_def = name >> '=' > paramVal > -lit(';');
const auto loadModule_def = kw("loadmodule") > stringLit > -lit(';');
const auto modParam_def = kw("modparam") > '(' > stringLit > ',' > stringLit > ',' > paramVal > ')' > -lit(';');
const auto selector_def = lexeme[+(char_ - ']' - asciiSpace)];
const auto cfgBlock_def = name >> -(lit('[') > selector > ']') >> lit('{') > *assign > lit('}');
// `:` `-` `.` for Kamailio's event_route[tm:local-request] (reported by the checker).
const auto routeName_def = quoted | lexeme[+(identChar | char_(':') | char_('-') | char_('.'))];
// request_route and reply_route are Kamailio's names of the main route and onreply_route.
const auto routeType_def = (kw("route") >> attr(ast::RouteType::Request)) |
                           (kw("onreply_route") >> attr(ast::RouteType::OnReply)) |
                           (kw("failure_route") >> attr(ast::RouteType::Failure)) |
                           (kw("request_route") >> attr(ast::RouteType::Request)) |
                           (kw("reply_route") >> attr(ast::RouteType::OnReply)) |
                           (kw("branch_route") >> attr(ast::RouteType::Branch)) |
                           (kw("event_route") >> attr(ast::RouteType::Event)) |
                           (kw("onsend_route") >> attr(ast::RouteType::OnSend));
const auto routeDef_def = routeType >> ((lit('[') > routeName > ']') | attr(std::string())) > block;
const auto topItemRule_def = routeDef | loadModule | modParam | cfgBlock | assign;

BOOST_SPIRIT_DEFINE(name, word, quoted, dquoted, squoted, addrText, selectName, selectPart, selectParts, stringLit, intLit,
                    addrLit, ident, select, arg, funcCall, operand, cmpTail, comparison, unary, andExpr,
                    orExpr, control, block, body, elseBody, elsePart, elseIf, ifStmt, callStmt, caseInt, caseValue, caseLabel,
                    defaultLabel, switchCase, switchEnd, switchStmt, whileStmt, statement, guardedStatement, bareText, bareWord,
                    paramInt, paramVal, assign, loadModule, modParam, selector, cfgBlock, routeName,
                    routeType, routeDef, topItemRule, pvarArg, pvName, pvar, assignTerm, pvAssign)

// Annotate the AST-bearing rules.
struct StringLitClass : Annotated {};
struct IntLitClass : Annotated {};
struct AddrLitClass : Annotated {};
struct IdentClass : Annotated {};
struct SelectClass : Annotated {};
struct ArgClass : Annotated {};
struct FuncCallClass : Annotated {};
struct OperandClass : Annotated {};
struct CmpTailClass : Annotated {};
struct ComparisonClass : Annotated {};
struct UnaryClass : Annotated {};
struct AndExprClass : Annotated {};
struct OrExprClass : Annotated {};
struct ControlClass : Annotated {};
struct IfClass : Annotated {};
struct ElseIfClass : Annotated {};
struct CallStmtClass : Annotated {};
struct CaseIntClass : Annotated {};
struct CaseLabelClass : Annotated {};
struct DefaultLabelClass : Annotated {};
struct SwitchCaseClass : Annotated {};
struct SwitchClass : Annotated {};
struct WhileClass : Annotated {};
struct PVarClass : Annotated {};
struct AssignTermClass : Annotated {};
struct PvAssignClass : Annotated {};
struct StatementClass : Annotated {};
struct BareWordClass : Annotated {};
struct ParamIntClass : Annotated {};
struct ParamValClass : Annotated {};
struct AssignClass : Annotated {};
struct LoadModuleClass : Annotated {};
struct ModParamClass : Annotated {};
struct CfgBlockClass : Annotated {};

}  // namespace sipsd::cfg::parser

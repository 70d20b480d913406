// The semantic pass over a parsed script, run after the modules are loaded: resolves every
// function (name and arity, then the function's fixup), select, keyword, route name, regular
// expression and network, reports each problem at its line and column, and produces the
// compiled action tree the core executes.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "cfg/action_tree.h"
#include "cfg/ast.h"
#include "cfg/error_handler.h"
#include "core/registry.h"

namespace sipsd::cfg {

class Checker {
 public:
  Checker(const Registry& registry, ErrorHandler& handler) : registry_(registry), handler_(handler) {}

  // Compiles every route of `config`. Returns null when any error was reported (all errors
  // found are reported, not only the first).
  std::unique_ptr<CompiledScript> compile(const ast::Config& config);

  // Names of the functions the script calls, with where (e.g. to check forward_tls against
  // the loaded transports). Filled by compile().
  const std::vector<std::pair<std::string, SourceLoc>>& calledFunctions() const { return called_; }

 private:
  bool compileBlock(const ast::Block& block, RouteKind where, std::vector<ActionNode>& out);
  bool compileStatement(const ast::Statement& st, RouteKind where, ActionNode& out);
  bool compileSwitch(const ast::SwitchStmt& s, RouteKind where, ActionNode& out);
  bool compileCaseLabel(const ast::CaseLabel& label, uint32_t at, SwitchTable& table);
  bool compileWhile(const ast::WhileStmt& w, RouteKind where, ActionNode& out);
  std::unique_ptr<CallNode> compileCall(const ast::FuncCall& call, RouteKind where);
  bool compileSelect(const ast::Select& sel, SelectFn& fn, std::string& text);
  // FunctionExport::routeArg: the named route of the function's kind becomes its index.
  bool resolveRouteArg(const ast::FuncCall& call, const FunctionExport& f, std::vector<FuncArg>& args);
  // Pseudo-variables, function arguments, format strings and `$ru = ...;` assignments.
  bool compilePVar(const ast::PVar& pv, SelectFn& fn, std::string& text);
  // {"$", name[, arg]}: the language's own ($var, $avp, $null, $rc) or the registry's `$`
  // select. "" with `fn` set, else the reason.
  std::string resolvePVarParts(const std::vector<SelectPart>& parts, SelectFn& fn);
  bool compileArg(const ast::Arg& a, FuncArg& fa, const std::string& fname, bool format);
  bool compileFormat(const ast::StringLit& lit, FuncArg& fa);
  bool compileAssign(const ast::PvAssign& as, RouteKind where, ActionNode& out);
  Iterator sourceOf(const ast::StringLit& lit, size_t index) const;
  bool compileOperand(const ast::Operand& op, RouteKind where, OperandNode& out);
  bool compileOr(const ast::OrExpr& e, RouteKind where, ExprNode& out);
  bool compileAnd(const ast::AndExpr& e, RouteKind where, ExprNode& out);
  bool compileUnary(const ast::Unary& u, RouteKind where, ExprNode& out);
  bool compileComparison(const ast::Comparison& c, RouteKind where, ExprNode& out);

  const Registry& registry_;
  ErrorHandler& handler_;
  CompiledScript* script_ = nullptr;
  std::vector<std::pair<std::string, SourceLoc>> called_;
  int breakable_ = 0;  // switch/while statements around the statement being compiled (in its route)
};

}  // namespace sipsd::cfg

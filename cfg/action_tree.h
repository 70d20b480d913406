// The compiled form of the routes: what the core executes per message. Everything that needs
// a name lookup, a parse or a compile is done at load: functions point at their handlers
// with fixed-up arguments, selects are resolved to their SelectFn, regular expressions are
// compiled, networks parsed and `route(NAME)` refers to a route by index.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "cfg/ast.h"
#include "cfg/ip_net.h"
#include "core/module_api.h"
#include "core/script_context.h"
#include "core/script_vars.h"
#include "core/source_loc.h"

namespace sipsd::cfg {

// Core keywords of SPEC §2.
enum class Keyword : uint8_t { Method, Uri, Proto, SrcIp, SrcPort, DstIp, DstPort, Af, Status, MsgLen, Myself };
std::optional<Keyword> keywordFromName(std::string_view name);
std::string_view keywordName(Keyword k);

using ast::CmpOp;

struct CallNode {
  std::string name;
  FunctionHandler handler;
  std::vector<FuncArg> args;
  std::shared_ptr<void> fixed;  // the function's fixup result
  SourceLoc loc;
  bool setsRc = true;  // false for assignments: `$var(rc) = $rc;` keeps $rc for the next line
};

struct ExprNode;

struct OperandNode {
  enum class Kind : uint8_t { Str, Int, Net, Proto, Keyword, Select, Call, Expr };
  Kind kind = Kind::Str;
  std::string str;  // Str literal; also the source text of a select/network for messages
  int64_t num = 0;
  std::optional<IpNet> net;
  Proto proto = Proto::None;
  Keyword keyword = Keyword::Method;
  SelectFn select;
  std::unique_ptr<CallNode> call;
  std::unique_ptr<ExprNode> expr;
};

struct ExprNode {
  enum class Kind : uint8_t { Or, And, Not, Test, Cmp };
  Kind kind = Kind::Test;
  std::vector<ExprNode> children;  // Or, And: the terms; Not: one child
  CmpOp op = CmpOp::Eq;
  OperandNode lhs;  // Test and Cmp
  OperandNode rhs;  // Cmp
  std::unique_ptr<std::regex> regex;  // Cmp with =~ / !~
};

struct ActionNode {
  enum class Kind : uint8_t { Call, If, Route, Break, Exit, Drop, Return };
  Kind kind = Kind::Call;
  std::unique_ptr<CallNode> call;  // Call
  std::unique_ptr<ExprNode> cond;  // If
  std::vector<ActionNode> then, otherwise;
  int route = -1;  // Route: index into CompiledScript::routes
  SourceLoc loc;
  std::vector<ActionNode> elseIfs;  // If: the `else if` chain, flat (each an If: cond + then)
};

struct CompiledRoute {
  std::string name;  // empty for the main route / main onreply route
  RouteKind kind = RouteKind::Request;
  std::vector<ActionNode> body;
  SourceLoc loc;
};

struct CompiledScript {
  std::vector<CompiledRoute> routes;
  int mainRoute = -1;     // `route { }`, -1 when the script has none
  int onReplyRoute = -1;  // `onreply_route { }`, -1 when the script has none
  // $var names (values per worker thread, see core/script_vars.h) and $avp names (an $avp's
  // id is its index here).
  std::shared_ptr<ScriptVarSpace> vars = std::make_shared<ScriptVarSpace>();
  std::vector<std::string> avpNames;
  // Index of request route `route[name]`, or -1.
  int findRoute(std::string_view name) const {
    for (size_t i = 0; i < routes.size(); ++i)
      if (routes[i].kind == RouteKind::Request && routes[i].name == name) return int(i);
    return -1;
  }
  // Index of the route of `kind` called `name` (empty: the main one of that kind), or -1.
  int findRouteOf(RouteKind kind, std::string_view name) const {
    for (size_t i = 0; i < routes.size(); ++i)
      if (routes[i].kind == kind && routes[i].name == name) return int(i);
    return -1;
  }
};

}  // namespace sipsd::cfg

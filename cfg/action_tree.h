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

// Where each label of a switch enters its statements. As in Kamailio, the statements of all
// cases form one list and a label is a start index into it, so a case without `break` runs on
// into the next case's statements.
struct SwitchTable {
  struct IntCase {
    int64_t value;
    uint32_t at;
  };
  struct StrCase {
    std::string text;
    std::unique_ptr<std::regex> regex;  // `case /"re":`
    uint32_t at;
  };
  bool strings = false;       // string/regex labels: the value is compared as text
  std::vector<IntCase> ints;  // sorted by value
  std::vector<StrCase> strs;  // in label order (the first matching regex wins)
  int64_t defaultAt = -1;     // where `default:` enters, -1: none (nothing runs)
  // The start index for `v` (an integer switch), or defaultAt.
  int64_t entry(int64_t v) const;
  // The start index for text `t` (a string switch), or defaultAt.
  int64_t entry(std::string_view t) const;
};

struct ActionNode {
  // Break: `break` outside a switch/while, which stops the script (SPEC §2); Leave: `break`
  // inside one, which leaves the innermost switch or while (Kamailio).
  enum class Kind : uint8_t { Call, If, Route, Break, Exit, Drop, Return, Switch, While, Leave };
  Kind kind = Kind::Call;
  std::unique_ptr<CallNode> call;  // Call
  std::unique_ptr<ExprNode> cond;  // If, While; Switch: the value switched on
  std::vector<ActionNode> then, otherwise;  // Switch: the statements of all cases (then)
  int route = -1;  // Route: index into CompiledScript::routes
  SourceLoc loc;
  std::vector<ActionNode> elseIfs;  // If: the `else if` chain, flat (each an If: cond + then)
  std::unique_ptr<SwitchTable> cases;  // Switch
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
  int maxWhileLoops = 100;  // max_while_loops=: a while body runs at most this often per entry; 0 = no limit
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

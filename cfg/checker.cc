// Semantic checks and compilation of routes into the action tree.
#include "cfg/checker.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "cfg/format_string.h"
#include "cfg/grammar.h"
#include "cfg/script_pvars.h"
#include "core/log.h"
#include "core/parser/core_pvars.h"
#include "core/util/strings.h"

namespace sipsd::cfg {

namespace {
// std::regex compiles recursively, a frame or more per character: a pattern of tens of
// kilobytes overflows the stack (found by fuzz_cfg). Script regexes are short; longer ones are refused.
constexpr size_t kMaxRegexLength = 1024;
std::string regexTooLong(const std::string& re) {
  return "regular expression of " + std::to_string(re.size()) + " characters; at most " +
         std::to_string(kMaxRegexLength) + " are accepted";
}
}  // namespace

namespace {

const x3::position_tagged& tagOf(const ast::Operand& op) {
  return boost::apply_visitor(
      [](const auto& node) -> const x3::position_tagged& {
        using T = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<T, x3::forward_ast<ast::OrExpr>>)
          return node.get();
        else
          return node;
      },
      op);
}

std::string selectText(const ast::Select& sel) {
  std::string t = "@";
  for (size_t i = 0; i < sel.parts.size(); ++i) {
    if (i) t += '.';
    t += sel.parts[i].name;
    if (sel.parts[i].index >= 0) t += "[" + std::to_string(sel.parts[i].index) + "]";
  }
  return t;
}

std::string arityText(const std::vector<FunctionExport>& list) {
  std::string t;
  for (size_t i = 0; i < list.size(); ++i) {
    if (i) t += i + 1 == list.size() ? " or " : ", ";
    if (list[i].minArgs == list[i].maxArgs)
      t += std::to_string(list[i].minArgs);
    else
      t += std::to_string(list[i].minArgs) + ".." + std::to_string(list[i].maxArgs);
  }
  return t;
}

const char* routeKindName(RouteKind k) {
  switch (k) {
    case RouteKind::Request: return "route";
    case RouteKind::OnReply: return "onreply_route";
    case RouteKind::Failure: return "failure_route";
    case RouteKind::Branch: return "branch_route";
  }
  return "route";
}

RouteKind routeKindOf(ast::RouteType t) {
  switch (t) {
    case ast::RouteType::Request: return RouteKind::Request;
    case ast::RouteType::OnReply: return RouteKind::OnReply;
    case ast::RouteType::Failure: return RouteKind::Failure;
    case ast::RouteType::Branch: return RouteKind::Branch;
    case ast::RouteType::Event:
    case ast::RouteType::OnSend: break;
  }
  return RouteKind::Request;
}

// Kamailio route kinds sipsd does not run: what to say instead of running them (empty: supported).
std::string unsupportedRoute(const ast::RouteDef& def) {
  const std::string kinds =
      " (sipsd runs route/request_route, onreply_route/reply_route, failure_route and branch_route)";
  switch (def.type) {
    case ast::RouteType::Event:
      return "event_route[" + def.name + "] is not supported: sipsd has no event routes; HTTP requests "
             "reach the request route (test method and @http.path there)" + kinds;
    case ast::RouteType::OnSend:
      return "onsend_route is not supported: sipsd runs no route before sending" + kinds;
    default: return {};
  }
}

bool isMainName(const std::string& name) { return name.empty() || name == "0"; }

// Runs a select resolver at load: "" with `fn` set, else the text for the diagnostic.
std::string resolveWith(const SelectExport& exp, const std::vector<SelectPart>& parts, SelectFn& fn,
                        const char* noResolver, const char* noHandler) {
  if (!exp.resolve) return noResolver;
  auto resolved = exp.resolve(parts);
  if (!resolved) return resolved.error();
  if (!*resolved) return noHandler;
  fn = std::move(*resolved);
  return {};
}

}  // namespace

std::unique_ptr<CompiledScript> Checker::compile(const ast::Config& config) {
  const int errorsBefore = handler_.diagnostics().errorCount();
  auto script = std::make_unique<CompiledScript>();
  script_ = script.get();
  called_.clear();

  // Routes first, so route(NAME) may refer to a route defined further down.
  std::vector<const ast::RouteDef*> defs;
  std::map<std::pair<RouteKind, std::string>, SourceLoc> seen;
  for (const auto& item : config.items) {
    const auto* def = boost::get<ast::RouteDef>(&item);
    if (!def) continue;
    if (std::string why = unsupportedRoute(*def); !why.empty()) {
      handler_.error(handler_.locate(*def), why);
      continue;
    }
    CompiledRoute r;
    r.kind = routeKindOf(def->type);
    r.name = isMainName(def->name) ? std::string() : def->name;
    r.loc = handler_.locate(*def);
    if ((r.kind == RouteKind::Failure || r.kind == RouteKind::Branch) && r.name.empty()) {
      const char* kind = routeKindName(r.kind);
      handler_.error(r.loc, std::string(kind) + " needs a name: " + kind + "[NAME] { ... }");
      continue;
    }
    auto [it, fresh] = seen.emplace(std::make_pair(r.kind, r.name), r.loc);
    if (!fresh) {
      std::string what = r.name.empty() ? std::string("main ") + routeKindName(r.kind)
                                        : std::string(routeKindName(r.kind)) + "[" + r.name + "]";
      handler_.error(r.loc, what + " is defined twice");
      handler_.note(it->second, "first defined here");
      continue;
    }
    int index = int(script->routes.size());
    if (r.name.empty() && (r.kind == RouteKind::Request || r.kind == RouteKind::OnReply))
      (r.kind == RouteKind::Request ? script->mainRoute : script->onReplyRoute) = index;
    script->routes.push_back(std::move(r));
    defs.push_back(def);
  }
  for (size_t i = 0; i < defs.size(); ++i)
    compileBlock(defs[i]->body, script->routes[i].kind, script->routes[i].body);

  script_ = nullptr;
  if (handler_.diagnostics().errorCount() != errorsBefore) return nullptr;
  return script;
}

bool Checker::compileBlock(const ast::Block& block, RouteKind where, std::vector<ActionNode>& out) {
  bool ok = true;
  out.reserve(block.size());
  for (const auto& st : block) {
    ActionNode node;
    if (compileStatement(st, where, node))
      out.push_back(std::move(node));
    else
      ok = false;
  }
  return ok;
}

bool Checker::compileStatement(const ast::Statement& st, RouteKind where, ActionNode& out) {
  if (const auto* c = boost::get<ast::ControlStmt>(&st)) {
    out.loc = handler_.locate(*c);
    switch (c->kind) {
      case ast::Control::Break: out.kind = breakable_ > 0 ? ActionNode::Kind::Leave : ActionNode::Kind::Break; break;
      case ast::Control::Exit: out.kind = ActionNode::Kind::Exit; break;
      case ast::Control::Drop: out.kind = ActionNode::Kind::Drop; break;
      case ast::Control::Return: out.kind = ActionNode::Kind::Return; break;
    }
    return true;
  }
  if (const auto* fi = boost::get<x3::forward_ast<ast::IfStmt>>(&st)) {
    const ast::IfStmt& s = fi->get();
    out.kind = ActionNode::Kind::If;
    out.loc = handler_.locate(s);
    out.cond = std::make_unique<ExprNode>();
    bool ok = compileOr(s.cond, where, *out.cond);
    ok = compileBlock(s.then, where, out.then) && ok;
    out.elseIfs.resize(s.elseIfs.size());
    for (size_t i = 0; i < s.elseIfs.size(); ++i) {
      ActionNode& e = out.elseIfs[i];
      e.kind = ActionNode::Kind::If;
      e.loc = handler_.locate(s.elseIfs[i]);
      e.cond = std::make_unique<ExprNode>();
      ok = compileOr(s.elseIfs[i].cond, where, *e.cond) && ok;
      ok = compileBlock(s.elseIfs[i].then, where, e.then) && ok;
    }
    ok = compileBlock(s.otherwise, where, out.otherwise) && ok;
    return ok;
  }
  if (const auto* sw = boost::get<x3::forward_ast<ast::SwitchStmt>>(&st)) return compileSwitch(sw->get(), where, out);
  if (const auto* wh = boost::get<x3::forward_ast<ast::WhileStmt>>(&st)) return compileWhile(wh->get(), where, out);
  if (const auto* as = boost::get<ast::PvAssign>(&st)) return compileAssign(*as, where, out);
  const auto& call = boost::get<ast::FuncCall>(st);
  out.loc = handler_.locate(call);
  if (call.name == "route" && !registry_.functions("route")) {
    out.kind = ActionNode::Kind::Route;
    if (call.args.size() != 1) {
      handler_.error(call, "route() takes exactly one route name");
      return false;
    }
    std::string target;
    if (const auto* id = boost::get<ast::Ident>(&call.args[0]))
      target = id->name;
    else if (const auto* s = boost::get<ast::StringLit>(&call.args[0]))
      target = s->value;
    else if (const auto* n = boost::get<ast::IntLit>(&call.args[0]))
      target = std::to_string(n->value);
    else {
      handler_.error(call, "route() takes a route name");
      return false;
    }
    if (isMainName(target)) {
      out.route = script_->mainRoute;
    } else {
      out.route = script_->findRoute(target);
    }
    if (out.route < 0) {
      handler_.error(call, "unknown route '" + target + "'");
      return false;
    }
    return true;
  }
  // drop() etc. written as calls behave like the statements.
  if (call.args.empty() && !registry_.functions(call.name)) {
    static const std::pair<const char*, ActionNode::Kind> kControls[] = {
        {"drop", ActionNode::Kind::Drop}, {"exit", ActionNode::Kind::Exit},
        {"break", ActionNode::Kind::Break}, {"return", ActionNode::Kind::Return}};
    for (const auto& [n, k] : kControls)
      if (call.name == n) {
        out.kind = k == ActionNode::Kind::Break && breakable_ > 0 ? ActionNode::Kind::Leave : k;
        return true;
      }
  }
  out.kind = ActionNode::Kind::Call;
  out.call = compileCall(call, where);
  return out.call != nullptr;
}

bool Checker::compileSwitch(const ast::SwitchStmt& s, RouteKind where, ActionNode& out) {
  out.kind = ActionNode::Kind::Switch;
  out.loc = handler_.locate(s);
  out.cond = std::make_unique<ExprNode>();
  bool ok = compileOr(s.value, where, *out.cond);
  auto table = std::make_unique<SwitchTable>();
  // The first label decides whether the switch compares integers or text, as in Kamailio.
  for (const auto& c : s.cases) {
    if (c.label.isDefault) continue;
    table->strings = c.label.regex || boost::get<ast::StringLit>(&c.label.value) != nullptr;
    break;
  }
  ++breakable_;
  for (const auto& c : s.cases) {
    ok = compileCaseLabel(c.label, uint32_t(out.then.size()), *table) && ok;
    ok = compileBlock(c.body, where, out.then) && ok;
  }
  --breakable_;
  std::sort(table->ints.begin(), table->ints.end(),
            [](const SwitchTable::IntCase& a, const SwitchTable::IntCase& b) { return a.value < b.value; });
  out.cases = std::move(table);
  return ok;
}

bool Checker::compileCaseLabel(const ast::CaseLabel& label, uint32_t at, SwitchTable& table) {
  if (label.isDefault) {
    if (table.defaultAt >= 0) {
      handler_.error(label, "a switch takes one default label");
      return false;
    }
    table.defaultAt = at;
    return true;
  }
  if (const auto* n = boost::get<ast::IntLit>(&label.value)) {
    if (label.regex) {
      handler_.error(*n, "a regular expression label is a string: case /\"...\":");
      return false;
    }
    if (table.strings) {
      handler_.error(*n, "integer label in a switch on strings (the first label is a string; a switch does not mix them)");
      return false;
    }
    for (const auto& c : table.ints)
      if (c.value == n->value) {
        handler_.error(*n, "duplicate case " + std::to_string(n->value));
        return false;
      }
    table.ints.push_back({n->value, at});
    return true;
  }
  const auto& str = boost::get<ast::StringLit>(label.value);
  if (!table.strings) {
    handler_.error(str, "string label in a switch on integers (the first label is an integer; a switch does not mix them)");
    return false;
  }
  for (const auto& c : table.strs)
    if (c.text == str.value && bool(c.regex) == label.regex) {
      handler_.error(str, "duplicate case \"" + str.value + "\"");
      return false;
    }
  SwitchTable::StrCase c{str.value, nullptr, at};
  if (label.regex) {
    if (str.value.size() > kMaxRegexLength) {
      handler_.error(str, regexTooLong(str.value));
      return false;
    }
    try {
      // POSIX extended and case-sensitive, as Kamailio compiles switch labels (REG_EXTENDED).
      c.regex = std::make_unique<std::regex>(str.value, std::regex::extended | std::regex::nosubs | std::regex::optimize);
    } catch (const std::regex_error& e) {
      handler_.error(str, "bad regular expression \"" + str.value + "\": " + e.what());
      return false;
    }
  }
  table.strs.push_back(std::move(c));
  return true;
}

bool Checker::compileWhile(const ast::WhileStmt& w, RouteKind where, ActionNode& out) {
  out.kind = ActionNode::Kind::While;
  out.loc = handler_.locate(w);
  out.cond = std::make_unique<ExprNode>();
  bool ok = compileOr(w.cond, where, *out.cond);
  ++breakable_;
  ok = compileBlock(w.body, where, out.then) && ok;
  --breakable_;
  return ok;
}

std::unique_ptr<CallNode> Checker::compileCall(const ast::FuncCall& call, RouteKind where) {
  SourceLoc loc = handler_.locate(call);
  called_.emplace_back(call.name, loc);
  const auto* list = registry_.functions(call.name);
  if (!list) {
    handler_.error(loc, "unknown function '" + call.name + "'");
    return nullptr;
  }
  const FunctionExport* f = registry_.function(call.name, call.args.size());
  if (!f) {
    handler_.error(loc, "wrong number of arguments to '" + call.name + "': " + std::to_string(call.args.size()) +
                            " given, it takes " + arityText(*list));
    return nullptr;
  }
  // A failure_route works on the transaction's request: request functions apply there. A
  // branch_route edits one outgoing branch: only functions that opted in (kBranchRoute).
  unsigned mask = where == RouteKind::OnReply ? kOnReplyRoute : where == RouteKind::Branch ? kBranchRoute : kRequestRoute;
  if (!(f->routes & mask)) {
    handler_.error(loc, "'" + call.name + "' cannot be used in " + routeKindName(where));
    return nullptr;
  }
  auto node = std::make_unique<CallNode>();
  node->name = call.name;
  node->handler = f->handler;
  node->loc = loc;
  bool ok = true;
  for (size_t i = 0; i < call.args.size(); ++i) {
    FuncArg fa;
    const bool format = i < 32 && (f->formatArgs >> i) & 1u;
    if (!compileArg(call.args[i], fa, call.name, format)) ok = false;
    node->args.push_back(std::move(fa));
  }
  if (!ok) return nullptr;
  if (f->routeArg >= 0 && size_t(f->routeArg) < node->args.size() && !resolveRouteArg(call, *f, node->args))
    return nullptr;
  if (f->fixup) {
    if (auto fixed = f->fixup(node->args, node->fixed); !fixed) {
      handler_.error(loc, call.name + "(): " + fixed.error());
      return nullptr;
    }
  }
  return node;
}

bool Checker::compileArg(const ast::Arg& a, FuncArg& fa, const std::string& fname, bool format) {
  if (const auto* s = boost::get<ast::StringLit>(&a)) {
    fa.kind = FuncArg::Kind::Str;
    fa.str = s->value;
    return !format || compileFormat(*s, fa);
  }
  if (const auto* n = boost::get<ast::IntLit>(&a)) {
    fa.kind = FuncArg::Kind::Int;
    fa.num = n->value;
    fa.str = std::to_string(n->value);
    return true;
  }
  if (const auto* ad = boost::get<ast::AddrLit>(&a)) {
    fa.kind = FuncArg::Kind::Str;
    fa.str = ad->text;
    return true;
  }
  if (const auto* sel = boost::get<ast::Select>(&a)) {
    fa.kind = FuncArg::Kind::Select;
    return compileSelect(*sel, fa.select, fa.str);
  }
  if (const auto* pv = boost::get<ast::PVar>(&a)) {
    fa.kind = FuncArg::Kind::Select;
    return compilePVar(*pv, fa.select, fa.str);
  }
  const auto& id = boost::get<ast::Ident>(a);
  if (auto level = logging::levelFromName(id.name)) {
    fa.kind = FuncArg::Kind::Int;
    fa.num = *level;
    fa.str = id.name;
    return true;
  }
  handler_.error(id, "unexpected word '" + id.name + "' as an argument of '" + fname + "' (strings must be quoted)");
  return false;
}

bool Checker::compilePVar(const ast::PVar& pv, SelectFn& fn, std::string& text) {
  text = "$" + pv.name + (pv.arg.empty() ? std::string() : "(" + pv.arg + ")");
  std::vector<SelectPart> parts{{"$", -1}, {pv.name, -1}};
  if (!pv.arg.empty()) parts.push_back({pv.arg, -1});
  std::string err = resolvePVarParts(parts, fn);
  if (!err.empty()) {
    handler_.error(pv, err);
    return false;
  }
  return true;
}

std::string Checker::resolvePVarParts(const std::vector<SelectPart>& parts, SelectFn& fn) {
  if (auto own = resolveLanguagePVar(*script_, parts)) {
    if (!*own) return own->error();
    fn = std::move(**own);
    return {};
  }
  const SelectExport* exp = registry_.select("$");
  return exp ? resolveWith(*exp, parts, fn, "pseudo-variables are not available", "the pseudo-variable has no handler")
             : "pseudo-variables are not available";
}

Iterator Checker::sourceOf(const ast::StringLit& lit, size_t index) const {
  return parser::sourceOfStringChar(handler_.where(lit), handler_.source().end(), index);
}

bool Checker::compileFormat(const ast::StringLit& lit, FuncArg& fa) {
  std::vector<FormatPiece> pieces;
  std::string err;
  size_t errOffset = 0;
  auto isRoot = [this](const std::string& root) { return root != "$" && registry_.select(root) != nullptr; };
  if (!splitFormat(lit.value, isRoot, pieces, err, errOffset)) {
    handler_.error(sourceOf(lit, errOffset), err);
    return false;
  }
  if (pieces.size() == 1 && !pieces[0].hasRef) {
    fa.str = pieces[0].literal;  // no reference: the text with \$ and \@ unescaped
    return true;
  }
  std::vector<std::string> literals;
  std::vector<SelectFn> refs;
  bool ok = true;
  for (auto& piece : pieces) {
    literals.push_back(std::move(piece.literal));
    if (!piece.hasRef) continue;
    SelectFn fn;
    const SelectExport* exp = registry_.select(piece.parts[0].name);
    std::string e = piece.pvar ? resolvePVarParts(piece.parts, fn)
                    : exp      ? resolveWith(*exp, piece.parts, fn, "no resolver", "no handler")
                               : "no resolver";
    if (!e.empty()) {
      handler_.error(sourceOf(lit, piece.offset),
                     piece.pvar ? e : "unknown select " + piece.text + ": " + e);
      ok = false;
    }
    refs.push_back(std::move(fn));
  }
  if (!ok) return false;
  fa.kind = FuncArg::Kind::Select;
  fa.select = joinFormat(std::move(literals), std::move(refs));
  return true;
}

bool Checker::compileAssign(const ast::PvAssign& as, RouteKind where, ActionNode& out) {
  out.loc = handler_.locate(as);
  out.kind = ActionNode::Kind::Call;
  auto target = assignTarget(*script_, as.lhs.name, as.lhs.arg);
  if (!target) {
    SelectFn probe;
    std::string text;
    // An unknown name is reported as unknown, a known one as read-only.
    if (compilePVar(as.lhs, probe, text)) handler_.error(as.lhs, target.error());
    return false;
  }
  if (target->kind == AssignTarget::Kind::Field && where == RouteKind::OnReply) {
    handler_.error(as.lhs, "$" + as.lhs.name + " cannot be assigned in onreply_route");
    return false;
  }
  auto node = std::make_unique<CallNode>();
  node->name = target->text + " =";
  node->loc = out.loc;
  node->setsRc = false;
  std::vector<RhsOperand> rhs(as.rest.size() + 1);
  bool ok = compileArg(as.first, rhs[0].arg, node->name, false);
  for (size_t i = 0; i < as.rest.size(); ++i) {
    rhs[i + 1].op = as.rest[i].op;
    ok = compileArg(as.rest[i].operand, rhs[i + 1].arg, node->name, false) && ok;
    // A string literal is never a number: `"a" - 1` is an error now, not at every message.
    if (ok && as.rest[i].op != '+') {
      for (const FuncArg* side : {&rhs[i].arg, &rhs[i + 1].arg}) {
        int64_t n;
        if (side->kind == FuncArg::Kind::Str && !str::toNumber(side->str, n)) {
          handler_.error(as.rest[i], std::string("'") + as.rest[i].op + "' takes numbers, not the string \"" +
                                         side->str + "\"");
          ok = false;
          break;
        }
      }
    }
  }
  if (!ok) return false;
  node->handler = makeAssignment(*script_, std::move(*target), std::move(rhs), out.loc);
  out.call = std::move(node);
  return true;
}

bool Checker::resolveRouteArg(const ast::FuncCall& call, const FunctionExport& f, std::vector<FuncArg>& args) {
  FuncArg& a = args[size_t(f.routeArg)];
  const char* kind = routeKindName(f.routeArgKind);
  if (a.kind == FuncArg::Kind::Select) {
    handler_.error(call, call.name + "() takes the name of a " + kind + " as a literal");
    return false;
  }
  std::string name = a.str;
  int index = script_->findRouteOf(f.routeArgKind, name);
  if (index < 0) {
    handler_.error(call, "unknown " + std::string(kind) + " '" + name + "' in " + call.name + "()");
    return false;
  }
  a.kind = FuncArg::Kind::Int;
  a.num = index;
  return true;
}

bool Checker::compileSelect(const ast::Select& sel, SelectFn& fn, std::string& text) {
  text = selectText(sel);
  const SelectExport* exp = sel.parts.empty() ? nullptr : registry_.select(sel.parts[0].name);
  if (!exp) {
    handler_.error(sel, "unknown select " + text);
    return false;
  }
  std::vector<SelectPart> parts;
  parts.reserve(sel.parts.size());
  for (const auto& p : sel.parts) parts.push_back(SelectPart{p.name, p.index});
  std::string err = resolveWith(*exp, parts, fn, "no resolver", "the select has no handler");
  if (!err.empty()) {
    handler_.error(sel, "unknown select " + text + ": " + err);
    return false;
  }
  return true;
}

bool Checker::compileOperand(const ast::Operand& op, RouteKind where, OperandNode& out) {
  if (const auto* s = boost::get<ast::StringLit>(&op)) {
    out.kind = OperandNode::Kind::Str;
    out.str = s->value;
    return true;
  }
  if (const auto* n = boost::get<ast::IntLit>(&op)) {
    out.kind = OperandNode::Kind::Int;
    out.num = n->value;
    return true;
  }
  if (const auto* a = boost::get<ast::AddrLit>(&op)) {
    out.kind = OperandNode::Kind::Net;
    out.str = a->text;
    std::string err;
    out.net = IpNet::parse(a->text, err);
    if (!out.net) {
      handler_.error(*a, "bad network '" + a->text + "': " + err);
      return false;
    }
    return true;
  }
  if (const auto* sel = boost::get<ast::Select>(&op)) {
    out.kind = OperandNode::Kind::Select;
    return compileSelect(*sel, out.select, out.str);
  }
  if (const auto* c = boost::get<ast::FuncCall>(&op)) {
    out.kind = OperandNode::Kind::Call;
    out.str = c->name;
    if (c->name == "route" && !registry_.functions("route")) {
      handler_.error(*c, "route() cannot be used in an expression");
      return false;
    }
    out.call = compileCall(*c, where);
    return out.call != nullptr;
  }
  if (const auto* id = boost::get<ast::Ident>(&op)) {
    if (auto kw = keywordFromName(id->name)) {
      out.kind = OperandNode::Kind::Keyword;
      out.keyword = *kw;
      out.str = id->name;
      return true;
    }
    if (auto p = protoFromName(id->name); p && *p != Proto::None) {
      out.kind = OperandNode::Kind::Proto;
      out.proto = *p;
      out.str = protoName(*p);
      return true;
    }
    handler_.error(*id, "unknown keyword '" + id->name + "'");
    return false;
  }
  if (const auto* pv = boost::get<ast::PVar>(&op)) {
    out.kind = OperandNode::Kind::Select;
    return compilePVar(*pv, out.select, out.str);
  }
  const auto& sub = boost::get<x3::forward_ast<ast::OrExpr>>(op).get();
  out.kind = OperandNode::Kind::Expr;
  out.expr = std::make_unique<ExprNode>();
  return compileOr(sub, where, *out.expr);
}

bool Checker::compileOr(const ast::OrExpr& e, RouteKind where, ExprNode& out) {
  if (e.rest.empty()) return compileAnd(e.first, where, out);
  out.kind = ExprNode::Kind::Or;
  out.children.resize(e.rest.size() + 1);
  bool ok = compileAnd(e.first, where, out.children[0]);
  for (size_t i = 0; i < e.rest.size(); ++i) ok = compileAnd(e.rest[i], where, out.children[i + 1]) && ok;
  return ok;
}

bool Checker::compileAnd(const ast::AndExpr& e, RouteKind where, ExprNode& out) {
  if (e.rest.empty()) return compileUnary(e.first, where, out);
  out.kind = ExprNode::Kind::And;
  out.children.resize(e.rest.size() + 1);
  bool ok = compileUnary(e.first, where, out.children[0]);
  for (size_t i = 0; i < e.rest.size(); ++i) ok = compileUnary(e.rest[i], where, out.children[i + 1]) && ok;
  return ok;
}

bool Checker::compileUnary(const ast::Unary& u, RouteKind where, ExprNode& out) {
  if (u.bangs.size() % 2 == 0) return compileComparison(u.cmp, where, out);
  out.kind = ExprNode::Kind::Not;
  out.children.resize(1);
  return compileComparison(u.cmp, where, out.children[0]);
}

bool Checker::compileComparison(const ast::Comparison& c, RouteKind where, ExprNode& out) {
  if (!c.tail) {
    out.kind = ExprNode::Kind::Test;
    if (!compileOperand(c.lhs, where, out.lhs)) return false;
    if (out.lhs.kind == OperandNode::Kind::Keyword && out.lhs.keyword == Keyword::Myself) {
      handler_.error(tagOf(c.lhs), "myself is compared with == or != (e.g. uri == myself)");
      return false;
    }
    return true;
  }
  out.kind = ExprNode::Kind::Cmp;
  out.op = c.tail->op;
  bool ok = compileOperand(c.lhs, where, out.lhs);
  ok = compileOperand(c.tail->rhs, where, out.rhs) && ok;
  if (!ok) return false;
  using K = OperandNode::Kind;
  const bool eqOp = out.op == CmpOp::Eq || out.op == CmpOp::Ne;
  // `proto == "tls"`: the string names a protocol, checked now and compared as one.
  for (auto [kw, other, tag] : {std::tuple{&out.lhs, &out.rhs, &tagOf(c.tail->rhs)},
                                std::tuple{&out.rhs, &out.lhs, &tagOf(c.lhs)}}) {
    if (kw->kind == K::Keyword && kw->keyword == Keyword::Proto && other->kind == K::Str && eqOp) {
      auto p = protoFromName(other->str);
      if (!p || *p == Proto::None) {
        handler_.error(*tag, "unknown protocol \"" + other->str + "\" (UDP, TCP or TLS)");
        return false;
      }
      other->kind = K::Proto;
      other->proto = *p;
    }
  }
  // `X == myself`: myself goes to the right; only == and != make sense.
  auto isMyself = [](const OperandNode& o) { return o.kind == K::Keyword && o.keyword == Keyword::Myself; };
  if (isMyself(out.lhs) || isMyself(out.rhs)) {
    if (!eqOp) {
      handler_.error(*c.tail, "myself is compared with == or != only");
      return false;
    }
    if (isMyself(out.lhs)) std::swap(out.lhs, out.rhs);
    if (isMyself(out.lhs)) {
      handler_.error(tagOf(c.lhs), "myself == myself compares nothing");
      return false;
    }
    return true;
  }
  // Networks and protocol constants go to the right so the executor checks one side only.
  if ((out.lhs.kind == K::Net || out.lhs.kind == K::Proto) && eqOp) std::swap(out.lhs, out.rhs);
  if (out.op == CmpOp::Match || out.op == CmpOp::NoMatch) {
    if (out.rhs.kind != K::Str) {
      handler_.error(tagOf(c.tail->rhs), "the right side of =~ and !~ must be a string literal (a regular expression)");
      return false;
    }
    if (out.lhs.kind == K::Net || out.lhs.kind == K::Proto) {
      handler_.error(tagOf(c.lhs), "a regular expression cannot be matched against '" + out.lhs.str + "'");
      return false;
    }
    if (out.rhs.str.size() > kMaxRegexLength) {
      handler_.error(tagOf(c.tail->rhs), regexTooLong(out.rhs.str));
      return false;
    }
    try {
      // POSIX extended and case-insensitive, as SER compiled `=~` (REG_EXTENDED|REG_ICASE).
      out.regex = std::make_unique<std::regex>(
          out.rhs.str, std::regex::extended | std::regex::icase | std::regex::nosubs | std::regex::optimize);
    } catch (const std::regex_error& e) {
      handler_.error(tagOf(c.tail->rhs), "bad regular expression \"" + out.rhs.str + "\": " + e.what());
      return false;
    }
    return true;
  }
  if (out.rhs.kind == K::Net || out.rhs.kind == K::Proto || out.lhs.kind == K::Net || out.lhs.kind == K::Proto) {
    if (!eqOp) {
      handler_.error(*c.tail, std::string("only == and != compare ") +
                                  (out.rhs.kind == K::Net || out.lhs.kind == K::Net ? "networks" : "protocols"));
      return false;
    }
    if (out.lhs.kind == K::Net || (out.lhs.kind == K::Proto && out.rhs.kind == K::Net)) {
      handler_.error(*c.tail, "cannot compare '" + out.lhs.str + "' with '" + out.rhs.str + "'");
      return false;
    }
  }
  return true;
}

}  // namespace sipsd::cfg

// Semantic checks and compilation of routes into the action tree.
#include "cfg/checker.h"

#include <map>
#include <tuple>

namespace sipsd::cfg {

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

const char* routeKindName(RouteKind k) { return k == RouteKind::Request ? "route" : "onreply_route"; }

bool isMainName(const std::string& name) { return name.empty() || name == "0"; }

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
    CompiledRoute r;
    r.kind = def->type == ast::RouteType::Request ? RouteKind::Request : RouteKind::OnReply;
    r.name = isMainName(def->name) ? std::string() : def->name;
    r.loc = handler_.locate(*def);
    auto [it, fresh] = seen.emplace(std::make_pair(r.kind, r.name), r.loc);
    if (!fresh) {
      std::string what = r.name.empty() ? std::string("main ") + routeKindName(r.kind)
                                        : std::string(routeKindName(r.kind)) + "[" + r.name + "]";
      handler_.error(r.loc, what + " is defined twice");
      handler_.note(it->second, "first defined here");
      continue;
    }
    int index = int(script->routes.size());
    if (r.name.empty()) (r.kind == RouteKind::Request ? script->mainRoute : script->onReplyRoute) = index;
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
      case ast::Control::Break: out.kind = ActionNode::Kind::Break; break;
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
        out.kind = k;
        return true;
      }
  }
  out.kind = ActionNode::Kind::Call;
  out.call = compileCall(call, where);
  return out.call != nullptr;
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
  unsigned mask = where == RouteKind::Request ? kRequestRoute : kOnReplyRoute;
  if (!(f->routes & mask)) {
    handler_.error(loc, "'" + call.name + "' cannot be used in " + routeKindName(where));
    return nullptr;
  }
  auto node = std::make_unique<CallNode>();
  node->name = call.name;
  node->handler = f->handler;
  node->loc = loc;
  bool ok = true;
  for (const auto& a : call.args) {
    FuncArg fa;
    if (const auto* s = boost::get<ast::StringLit>(&a)) {
      fa.kind = FuncArg::Kind::Str;
      fa.str = s->value;
    } else if (const auto* n = boost::get<ast::IntLit>(&a)) {
      fa.kind = FuncArg::Kind::Int;
      fa.num = n->value;
      fa.str = std::to_string(n->value);
    } else if (const auto* ad = boost::get<ast::AddrLit>(&a)) {
      fa.kind = FuncArg::Kind::Str;
      fa.str = ad->text;
    } else if (const auto* sel = boost::get<ast::Select>(&a)) {
      fa.kind = FuncArg::Kind::Select;
      if (!compileSelect(*sel, fa.select, fa.str)) ok = false;
    } else {
      const auto& id = boost::get<ast::Ident>(a);
      handler_.error(id, "unexpected word '" + id.name + "' as an argument of '" + call.name +
                             "' (strings must be quoted)");
      ok = false;
    }
    node->args.push_back(std::move(fa));
  }
  if (!ok) return nullptr;
  if (f->fixup) {
    std::string err = f->fixup(node->args, node->fixed);
    if (!err.empty()) {
      handler_.error(loc, call.name + "(): " + err);
      return nullptr;
    }
  }
  return node;
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
  std::string err = exp->resolve ? exp->resolve(parts, fn) : std::string("no resolver");
  if (err.empty() && !fn) err = "the select has no handler";
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
    return compileOperand(c.lhs, where, out.lhs);
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

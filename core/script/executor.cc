// The route interpreter: walks the compiled action tree, no name lookups or parsing here.
#include "core/script/executor.h"

#include <charconv>

#include "core/module_api.h"
#include "core/util/strings.h"

namespace sipsd::script {

namespace {

using cfg::ActionNode;
using cfg::CmpOp;
using cfg::ExprNode;
using cfg::Keyword;
using cfg::OperandNode;

std::optional<int64_t> asInt(const Value& v) {
  if (v.isInt()) return v.num();
  if (!v.isStr()) return std::nullopt;
  return str::toNumber<int64_t>(v.str());
}

bool equalValues(const Value& l, const Value& r) {
  if (l.isNull() || r.isNull()) {
    const Value& other = l.isNull() ? r : l;
    return other.isNull() || (other.isStr() && other.str().empty());
  }
  if (l.isInt() && r.isInt()) return l.num() == r.num();
  if (l.isInt() || r.isInt()) {
    auto a = asInt(l), b = asInt(r);
    if (a && b) return *a == *b;
    return l.text() == r.text();
  }
  return l.str() == r.str();
}

bool orderValues(CmpOp op, const Value& l, const Value& r) {
  if (l.isNull() || r.isNull()) return false;
  int c;
  auto a = asInt(l), b = asInt(r);
  if (a && b) {
    c = *a < *b ? -1 : (*a > *b ? 1 : 0);
  } else {
    std::string lt = l.text(), rt = r.text();
    c = lt.compare(rt);
  }
  switch (op) {
    case CmpOp::Lt: return c < 0;
    case CmpOp::Gt: return c > 0;
    case CmpOp::Le: return c <= 0;
    case CmpOp::Ge: return c >= 0;
    default: return false;
  }
}

// The method of a reply is the one in its CSeq ("1 INVITE").
std::string_view cseqMethod(const SipMsg& msg) {
  for (const auto& h : msg.headers) {
    if (h.type != HdrType::CSeq) continue;
    std::string_view v = h.value;
    size_t i = 0;
    while (i < v.size() && (std::isdigit(static_cast<unsigned char>(v[i])))) ++i;
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
    size_t e = i;
    while (e < v.size() && v[e] != ' ' && v[e] != '\t') ++e;
    return v.substr(i, e - i);
  }
  return {};
}

class Executor {
 public:
  // Break: a `break` inside a switch or while, caught by the innermost one.
  enum class Flow { Next, Return, Stop, Break };

  Executor(const cfg::CompiledScript& s, ScriptContext& ctx) : script_(s), ctx_(ctx) {}

  Flow runRoute(int index) {
    if (depth_ >= kMaxRouteDepth) {
      ctx_.core.log(kLogErr, "script",
                     "route calls nested deeper than " + std::to_string(kMaxRouteDepth) + " (recursion?) at route[" +
                         script_.routes[size_t(index)].name + "]; script stopped");
      return Flow::Stop;
    }
    ++depth_;
    Flow f = runBlock(script_.routes[size_t(index)].body);
    --depth_;
    return f;
  }

 private:
  Flow runBlock(const std::vector<ActionNode>& body, size_t from = 0) {
    for (size_t i = from; i < body.size(); ++i) {
      const ActionNode& a = body[i];
      switch (a.kind) {
        case ActionNode::Kind::Call:
          if (call(*a.call) == 0) return Flow::Stop;
          break;
        case ActionNode::Kind::If: {
          bool c = eval(*a.cond);
          if (stop_) return Flow::Stop;
          const std::vector<ActionNode>* branch = c ? &a.then : &a.otherwise;
          for (size_t i = 0; !c && i < a.elseIfs.size(); ++i) {
            c = eval(*a.elseIfs[i].cond);
            if (stop_) return Flow::Stop;
            if (c) branch = &a.elseIfs[i].then;
          }
          Flow f = runBlock(*branch);
          if (f != Flow::Next) return f;
          break;
        }
        case ActionNode::Kind::Switch: {
          Flow f = runSwitch(a);
          if (f != Flow::Next && f != Flow::Break) return f;
          break;
        }
        case ActionNode::Kind::While: {
          Flow f = runWhile(a);
          if (f != Flow::Next && f != Flow::Break) return f;
          break;
        }
        case ActionNode::Kind::Leave:
          return Flow::Break;
        case ActionNode::Kind::Route:
          if (runRoute(a.route) == Flow::Stop) return Flow::Stop;
          ctx_.lastRc = 1;  // $rc after route(NAME): it returned (sipsd's `return` carries no value)
          break;
        case ActionNode::Kind::Break:
        case ActionNode::Kind::Exit:
          return Flow::Stop;
        case ActionNode::Kind::Drop:
          ctx_.dropped = true;
          return Flow::Stop;
        case ActionNode::Kind::Return:
          return Flow::Return;
      }
    }
    return Flow::Next;
  }

  // Kamailio's switch: an integer switch takes the value as an integer (a string of digits or
  // 0xHEX is read as one, anything else and Null are 0); a string switch takes it as text (an
  // integer in decimal, Null as ""). Labels were looked up at load into start indexes.
  Flow runSwitch(const ActionNode& a) {
    Value v = exprValue(*a.cond);
    if (stop_) return Flow::Stop;
    const cfg::SwitchTable& t = *a.cases;
    int64_t at;
    if (t.strings) {
      char buf[24];
      std::string_view text;
      if (v.isStr()) {
        text = v.str();
      } else if (v.isInt()) {
        auto r = std::to_chars(buf, buf + sizeof buf, v.num());
        text = std::string_view(buf, size_t(r.ptr - buf));
      }
      at = t.entry(text);
    } else {
      at = t.entry(switchInt(v));
    }
    return at < 0 ? Flow::Next : runBlock(a.then, size_t(at));
  }

  static int64_t switchInt(const Value& v) {
    if (v.isInt()) return v.num();
    if (!v.isStr()) return 0;
    std::string_view s = v.str();
    if (auto n = str::toNumber<int64_t>(s)) return *n;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
      if (auto h = str::toNumber<uint64_t>(s.substr(2), 16)) return int64_t(*h);
    return 0;
  }

  // The body runs while the condition holds, at most max_while_loops times per entry (Kamailio's
  // guard against a loop that never ends: it is logged and the script goes on after the loop).
  Flow runWhile(const ActionNode& a) {
    const int max = script_.maxWhileLoops;
    for (int n = 0;;) {
      bool c = eval(*a.cond);
      if (stop_) return Flow::Stop;
      if (!c) return Flow::Next;
      if (max > 0 && ++n > max) {
        ctx_.core.log(kLogErr, "script",
                      "while loop at " + a.loc.str() + " ran more than max_while_loops=" + std::to_string(max) +
                          " times; left it");
        return Flow::Next;
      }
      Flow f = runBlock(a.then);
      if (f != Flow::Next) return f;
    }
  }

  // The value of an expression used as a value (switch): an operand alone is its value, any
  // comparison or && || ! is 1 or 0.
  Value exprValue(const ExprNode& e) {
    if (e.kind != ExprNode::Kind::Test) return Value::boolean(eval(e));
    if (e.lhs.kind == OperandNode::Kind::Expr) return exprValue(*e.lhs.expr);
    return value(e.lhs);
  }

  int call(const cfg::CallNode& c) {
    int r = c.handler(ctx_, c.args, c.fixed.get());
    if (c.setsRc) ctx_.lastRc = r;  // $rc / $retcode
    return r;
  }

  bool eval(const ExprNode& e) {
    switch (e.kind) {
      case ExprNode::Kind::Or:
        for (const auto& c : e.children) {
          bool v = eval(c);
          if (stop_) return false;
          if (v) return true;
        }
        return false;
      case ExprNode::Kind::And:
        for (const auto& c : e.children) {
          bool v = eval(c);
          if (stop_ || !v) return false;
        }
        return true;
      case ExprNode::Kind::Not: {
        bool v = eval(e.children[0]);
        return stop_ ? false : !v;
      }
      case ExprNode::Kind::Test: return truth(e.lhs);
      case ExprNode::Kind::Cmp: return compare(e);
    }
    return false;
  }

  bool truth(const OperandNode& o) {
    if (o.kind == OperandNode::Kind::Call) {
      int r = call(*o.call);
      if (r == 0) stop_ = true;
      return r > 0;
    }
    if (o.kind == OperandNode::Kind::Expr) return eval(*o.expr);
    return value(o).truthy();
  }

  Value value(const OperandNode& o) {
    switch (o.kind) {
      case OperandNode::Kind::Str:
      case OperandNode::Kind::Net: return Value::view(o.str);
      case OperandNode::Kind::Int: return Value::integer(o.num);
      case OperandNode::Kind::Proto: return Value::view(protoName(o.proto));
      case OperandNode::Kind::Keyword: return keyword(o.keyword);
      case OperandNode::Kind::Select: return o.select(ctx_);
      case OperandNode::Kind::Call: {
        int r = call(*o.call);
        if (r == 0) stop_ = true;
        return Value::integer(r);
      }
      case OperandNode::Kind::Expr: return Value::boolean(eval(*o.expr));
    }
    return Value();
  }

  Value keyword(Keyword k) {
    const SipMsg& m = ctx_.msg;
    const ReceiveInfo& r = ctx_.rcv;
    switch (k) {
      case Keyword::Method: return Value::view(m.isRequest() ? m.method : cseqMethod(m));
      case Keyword::Uri:  // as @ruri and $ru: the rewritten request URI when the script set one
        if (!m.isRequest()) return Value();
        return Value::view(ctx_.newRuri.empty() ? m.ruri : std::string_view(ctx_.newRuri));
      case Keyword::Proto: return Value::view(protoName(r.proto));
      case Keyword::SrcIp: return r.src.valid() ? Value::owned(r.src.ip()) : Value();
      case Keyword::SrcPort: return r.src.valid() ? Value::integer(r.src.port()) : Value();
      case Keyword::DstIp: return r.dst.valid() ? Value::owned(r.dst.ip()) : Value();
      case Keyword::DstPort: return r.dst.valid() ? Value::integer(r.dst.port()) : Value();
      case Keyword::Af:
        if (!r.src.valid()) return Value();
        return Value::integer(r.src.family() == AF_INET6 ? 6 : 4);
      case Keyword::Status: return m.isRequest() ? Value() : Value::integer(m.status);
      case Keyword::MsgLen: return Value::integer(int64_t(m.buf.size()));
      case Keyword::Myself: return Value();  // only compared (see compare())
    }
    return Value();
  }

  bool compare(const ExprNode& e) {
    const bool negate = e.op == CmpOp::Ne || e.op == CmpOp::NoMatch;
    if (e.rhs.kind == OperandNode::Kind::Keyword && e.rhs.keyword == Keyword::Myself) {
      // A URI (uri, @ruri, $fu...) or a host[:port] (@ruri.host, $rd, src_ip) naming us.
      Value v = value(e.lhs);
      bool me = false;
      if (v.isStr()) me = ctx_.core.uriIsMyself(v.str());
      return me != negate;
    }
    if (e.rhs.kind == OperandNode::Kind::Net) {
      bool in;
      if (e.lhs.kind == OperandNode::Kind::Keyword && e.lhs.keyword == Keyword::SrcIp)
        in = e.rhs.net->contains(ctx_.rcv.src);
      else if (e.lhs.kind == OperandNode::Kind::Keyword && e.lhs.keyword == Keyword::DstIp)
        in = e.rhs.net->contains(ctx_.rcv.dst);
      else {
        Value v = value(e.lhs);
        in = v.isStr() && e.rhs.net->containsText(v.str());
      }
      return in != negate;
    }
    if (e.rhs.kind == OperandNode::Kind::Proto) {
      bool same;
      if (e.lhs.kind == OperandNode::Kind::Keyword && e.lhs.keyword == Keyword::Proto) {
        same = ctx_.rcv.proto == e.rhs.proto;
      } else {
        Value v = value(e.lhs);
        std::string_view want = protoName(e.rhs.proto);
        same = v.isStr() && str::iequals(v.str(), want);
      }
      return same != negate;
    }
    Value l = value(e.lhs);
    if (stop_) return false;
    if (e.regex) {
      if (l.isNull()) return negate;
      bool found;
      if (l.isInt()) {
        std::string t = l.text();
        found = std::regex_search(t, *e.regex);
      } else {
        std::string_view s = l.str();
        found = std::regex_search(s.begin(), s.end(), *e.regex);
      }
      return found != negate;
    }
    Value r = value(e.rhs);
    if (stop_) return false;
    if (e.op == CmpOp::Eq || e.op == CmpOp::Ne) return equalValues(l, r) != negate;
    return orderValues(e.op, l, r);
  }

  const cfg::CompiledScript& script_;
  ScriptContext& ctx_;
  int depth_ = 0;
  bool stop_ = false;  // a function returned 0 inside a condition
};

}  // namespace

int runRoute(const cfg::CompiledScript& script, int routeIndex, ScriptContext& ctx) {
  if (routeIndex < 0 || size_t(routeIndex) >= script.routes.size()) return 1;
  Executor ex(script, ctx);
  return ex.runRoute(routeIndex) == Executor::Flow::Stop ? 0 : 1;
}

}  // namespace sipsd::script

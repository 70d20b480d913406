// $var, $avp, $null, $rc/$retcode and assignments: slots chosen at load, evaluation per message
// without allocation (a joined text is built in a per-thread buffer, then copied into the
// target's own reused block).
#include "cfg/script_pvars.h"

#include <charconv>

#include "core/parser/core_pvars.h"
#include "core/util/strings.h"

namespace sipsd::cfg {

namespace {

// `$avp(s:name)` is Kamailio's older spelling of `$avp(name)`.
std::string avpName(const std::string& arg) { return arg.rfind("s:", 0) == 0 ? arg.substr(2) : arg; }

uint32_t avpId(CompiledScript& script, const std::string& name) {
  for (size_t i = 0; i < script.avpNames.size(); ++i)
    if (script.avpNames[i] == name) return uint32_t(i);
  script.avpNames.push_back(name);
  return uint32_t(script.avpNames.size() - 1);
}

bool validName(const std::string& n) {
  if (n.empty()) return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

bool toInt(const Value& v, int64_t& out) {
  switch (v.kind()) {
    case Value::Kind::Int: out = v.num(); return true;
    case Value::Kind::Null: out = 0; return true;
    case Value::Kind::Str: return str::toNumber(v.str(), out);
  }
  return false;
}

void appendText(std::string& to, const Value& v) {
  if (v.isInt()) {
    char b[24];
    auto r = std::to_chars(b, b + sizeof b, v.num());
    to.append(b, size_t(r.ptr - b));
  } else if (v.isStr()) {
    to.append(v.str());
  }
}

bool isProductOp(char op) { return op == '*' || op == '/' || op == '%'; }

// Two's-complement wrap instead of undefined behaviour on overflow.
int64_t wrap(uint64_t v) { return int64_t(v); }

struct Assignment {
  const CompiledScript* script;
  AssignTarget target;
  std::vector<RhsOperand> rhs;
  SourceLoc loc;
};

class RhsEval {
 public:
  RhsEval(ScriptContext& ctx, const std::vector<RhsOperand>& rhs, std::string& scratch)
      : ctx_(ctx), rhs_(rhs), scratch_(scratch) {}

  // The value of the whole right side; Null with error() set when it cannot be computed.
  Value sum() {
    size_t i = 0;
    Value acc = product(i);
    bool joined = false;  // acc views scratch_
    while (i < rhs_.size() && !error_) {
      const char op = rhs_[i].op;
      Value b = product(i);
      if (error_) break;
      if (op == '-') {
        int64_t x, y;
        if (!number(acc, x) || !number(b, y)) break;
        acc = Value::integer(wrap(uint64_t(x) - uint64_t(y)));
        joined = false;
      } else if ((acc.isInt() || acc.isNull()) && (b.isInt() || b.isNull())) {
        if (!(acc.isNull() && b.isNull())) acc = Value::integer(wrap(uint64_t(acc.num()) + uint64_t(b.num())));
        joined = false;
      } else {
        if (!joined) {
          scratch_.clear();
          appendText(scratch_, acc);
        }
        appendText(scratch_, b);
        acc = Value::view(scratch_);
        joined = true;
      }
    }
    return error_ ? Value() : acc;
  }
  const char* error() const { return error_; }

 private:
  // The product starting at rhs_[i] (one operand when no * / % follows); i moves past it.
  Value product(size_t& i) {
    Value v = rhs_[i].arg.eval(ctx_);
    ++i;
    if (i == rhs_.size() || !isProductOp(rhs_[i].op)) return v;
    int64_t acc;
    if (!number(v, acc)) return Value();
    while (i < rhs_.size() && isProductOp(rhs_[i].op)) {
      const char op = rhs_[i].op;
      int64_t b;
      if (!number(rhs_[i].arg.eval(ctx_), b)) return Value();
      ++i;
      if (op == '*') {
        acc = wrap(uint64_t(acc) * uint64_t(b));
        continue;
      }
      if (b == 0) {
        error_ = "division by zero";
        return Value();
      }
      if (b == -1) {  // INT64_MIN / -1 overflows
        acc = op == '/' ? wrap(0 - uint64_t(acc)) : 0;
        continue;
      }
      acc = op == '/' ? acc / b : acc % b;
    }
    return Value::integer(acc);
  }

  bool number(const Value& v, int64_t& out) {
    if (toInt(v, out)) return true;
    error_ = "a value of - * / % is not a number";
    return false;
  }

  ScriptContext& ctx_;
  const std::vector<RhsOperand>& rhs_;
  std::string& scratch_;
  const char* error_ = nullptr;
};

int runAssignment(const Assignment& a, ScriptContext& ctx) {
  thread_local std::string scratch;
  RhsEval eval(ctx, a.rhs, scratch);
  Value v = eval.sum();
  const char* err = eval.error();
  if (!err) {
    switch (a.target.kind) {
      case AssignTarget::Kind::Field: {
        std::string& to = ctx.*a.target.field;
        if (v.isStr())
          to.assign(v.str());  // may view `to` itself ($du = $du): assign copes
        else if (v.isInt())
          to = v.text();
        else
          to.clear();  // Null resets ($du = $null;)
        return 1;
      }
      case AssignTarget::Kind::Var:
        // Kamailio: `$var(x) = $null;` makes it 0.
        if (scriptVar(*a.script->vars, a.target.slot).set(v.isNull() ? Value::integer(0) : v)) return 1;
        break;
      case AssignTarget::Kind::Avp:
        if (ctx.avps.set(uint32_t(a.target.slot), v)) return 1;
        break;
    }
    err = "the value is longer than 8192 bytes";
  }
  if (ctx.core.logLevel() >= kLogErr)
    ctx.core.log(kLogErr, "script", a.loc.str() + ": " + a.target.text + " not assigned: " + err);
  return -1;
}

}  // namespace

std::optional<Result<SelectFn>> resolveLanguagePVar(CompiledScript& script, const std::vector<SelectPart>& parts) {
  if (parts.size() < 2) return std::nullopt;
  const std::string& n = parts[1].name;
  const std::string arg = parts.size() > 2 ? parts[2].name : std::string();
  if (n == "var") {
    if (!validName(arg)) return Result<SelectFn>(fail("$var needs a name: $var(name)"));
    const ScriptVarSpace* space = script.vars.get();
    const size_t slot = script.vars->slot(arg);
    return Result<SelectFn>(SelectFn([space, slot](ScriptContext&) {
      const StoredValue& v = scriptVar(*space, slot);
      return v.kind == Value::Kind::Null ? Value::integer(0) : v.get();  // never assigned: 0
    }));
  }
  if (n == "avp") {
    const std::string name = avpName(arg);
    if (!validName(name)) return Result<SelectFn>(fail("$avp needs a name: $avp(name)"));
    const uint32_t id = avpId(script, name);
    return Result<SelectFn>(SelectFn([id](ScriptContext& ctx) {
      const StoredValue* v = ctx.avps.find(id);
      return v ? v->get() : Value();
    }));
  }
  if (n != "null" && n != "rc" && n != "retcode") return std::nullopt;
  if (!arg.empty()) return Result<SelectFn>(fail("$" + n + " takes no argument"));
  if (n == "null") return Result<SelectFn>(SelectFn([](ScriptContext&) { return Value(); }));
  return Result<SelectFn>(SelectFn([](ScriptContext& ctx) { return Value::integer(ctx.lastRc); }));
}

Result<AssignTarget> assignTarget(CompiledScript& script, const std::string& name, const std::string& arg) {
  AssignTarget t;
  t.text = "$" + name + (arg.empty() ? std::string() : "(" + arg + ")");
  if (name == "var") {
    if (!validName(arg)) return fail("$var needs a name: $var(name)");
    t.kind = AssignTarget::Kind::Var;
    t.slot = script.vars->slot(arg);
    return t;
  }
  if (name == "avp") {
    const std::string n = avpName(arg);
    if (!validName(n)) return fail("$avp needs a name: $avp(name)");
    t.kind = AssignTarget::Kind::Avp;
    t.slot = avpId(script, n);
    return t;
  }
  t.field = arg.empty() ? assignablePseudoVar(name) : nullptr;
  if (!t.field) return fail(t.text + " is read-only (only $ru, $du, $var(name) and $avp(name) can be assigned)");
  return t;
}

FunctionHandler makeAssignment(const CompiledScript& script, AssignTarget target, std::vector<RhsOperand> rhs,
                               SourceLoc loc) {
  auto a = std::make_shared<const Assignment>(Assignment{&script, std::move(target), std::move(rhs), std::move(loc)});
  return [a](ScriptContext& ctx, const std::vector<FuncArg>&, const void*) { return runAssignment(*a, ctx); };
}

}  // namespace sipsd::cfg

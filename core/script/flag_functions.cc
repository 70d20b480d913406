// The flag functions: the flag number is checked once, at load; a call is a bit operation.
#include "core/script/flag_functions.h"

#include <string>

#include "core/util/strings.h"

namespace sipsd::script {

namespace {

// A literal integer argument within [0, max]; a digit string becomes one.
Result<void> fixupNumber(FuncArg& a, int64_t max, const char* what) {
  if (a.kind == FuncArg::Kind::Select)
    return fail(std::string("the ") + what + " must be a number (or a #!define name), not " + a.str);
  if (a.kind == FuncArg::Kind::Str) {
    int64_t n;
    if (!str::toNumber(a.str, n)) return fail(std::string("the ") + what + " '" + a.str + "' is not a number");
    a.kind = FuncArg::Kind::Int;
    a.num = n;
  }
  if (a.num < 0 || a.num > max)
    return fail(std::string("the ") + what + " " + std::to_string(a.num) + " is out of range 0.." + std::to_string(max));
  return {};
}

Result<void> fixupFlag(std::vector<FuncArg>& args, std::shared_ptr<void>&) {
  if (auto r = fixupNumber(args[0], kMaxFlag, "flag"); !r) return r;
  if (args.size() > 1) return fixupNumber(args[1], 255, "branch");
  return {};
}

uint32_t bit(const std::vector<FuncArg>& args) { return uint32_t(1) << args[0].num; }

// The flags of branch args[1] (0 without it); null when the message has no such branch.
uint32_t* branchFlags(ScriptContext& ctx, const std::vector<FuncArg>& args) {
  const size_t b = args.size() > 1 ? size_t(args[1].num) : 0;
  if (b == 0) return &ctx.bflags;
  return b <= ctx.extraBranches.size() ? &ctx.extraBranches[b - 1].bflags : nullptr;
}

FunctionExport flagFunction(const char* name, int maxArgs, FunctionHandler h) {
  FunctionExport f;
  f.name = name;
  f.minArgs = 1;
  f.maxArgs = maxArgs;
  f.fixup = fixupFlag;
  f.handler = std::move(h);
  f.routes = kAnyRoute;
  return f;
}

}  // namespace

std::vector<FunctionExport> flagFunctionExports() {
  std::vector<FunctionExport> out;
  out.push_back(flagFunction("setflag", 1, [](ScriptContext& ctx, const std::vector<FuncArg>& a, const void*) {
    ctx.flags |= bit(a);
    return 1;
  }));
  out.push_back(flagFunction("resetflag", 1, [](ScriptContext& ctx, const std::vector<FuncArg>& a, const void*) {
    ctx.flags &= ~bit(a);
    return 1;
  }));
  out.push_back(flagFunction("isflagset", 1, [](ScriptContext& ctx, const std::vector<FuncArg>& a, const void*) {
    return (ctx.flags & bit(a)) ? 1 : -1;
  }));
  out.push_back(flagFunction("setbflag", 2, [](ScriptContext& ctx, const std::vector<FuncArg>& a, const void*) {
    uint32_t* f = branchFlags(ctx, a);
    if (!f) return -1;
    *f |= bit(a);
    return 1;
  }));
  out.push_back(flagFunction("resetbflag", 2, [](ScriptContext& ctx, const std::vector<FuncArg>& a, const void*) {
    uint32_t* f = branchFlags(ctx, a);
    if (!f) return -1;
    *f &= ~bit(a);
    return 1;
  }));
  out.push_back(flagFunction("isbflagset", 2, [](ScriptContext& ctx, const std::vector<FuncArg>& a, const void*) {
    const uint32_t* f = branchFlags(ctx, a);
    return f && (*f & bit(a)) ? 1 : -1;
  }));
  return out;
}

}  // namespace sipsd::script

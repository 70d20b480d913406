// What every module's glue to the module ABI needs and used to repeat: the C entry point, a
// script function's export in one call, and integer arguments of script functions, given as
// literals (converted and range-checked at load, so a typo is a config error with a line) or
// as selects (checked per message).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "core/module_api.h"
#include "core/result.h"
#include "core/util/strings.h"

namespace sipsd {

// A script function for ModuleExports::functions: name, arity, handler, where the script may
// call it and the fixup that checks its arguments at load (may be empty). The rarer fields
// (routeArg, formatArgs) are set on the result.
inline FunctionExport scriptFunction(std::string name, int minArgs, int maxArgs, FunctionHandler handler,
                                     unsigned routes = kAnyRoute, FunctionFixup fixup = {}) {
  FunctionExport f;
  f.name = std::move(name);
  f.minArgs = minArgs;
  f.maxArgs = maxArgs;
  f.fixup = std::move(fixup);
  f.handler = std::move(handler);
  f.routes = routes;
  return f;
}

// Converts a literal integer argument at load and checks it against min..max. `fn` and `what`
// name it in the error ("sl_reply: reply code 700 is outside 100..699"). Selects pass through.
[[nodiscard]] inline Result<void> fixupIntArg(std::string_view fn, FuncArg& a, int64_t min, int64_t max,
                                              std::string_view what) {
  if (a.kind == FuncArg::Kind::Str) {
    auto n = str::toNumber<int64_t>(a.str);
    if (!n) return fail(std::string(fn) + ": " + std::string(what) + " \"" + a.str + "\" is not an integer");
    a.kind = FuncArg::Kind::Int;
    a.num = *n;
  }
  if (a.kind == FuncArg::Kind::Int && (a.num < min || a.num > max)) {
    return fail(std::string(fn) + ": " + std::string(what) + " " + std::to_string(a.num) + " is outside " +
                std::to_string(min) + ".." + std::to_string(max));
  }
  return {};
}

// The integer an argument has for this message (a fixed-up literal, or a select's integer or
// decimal text); false when it is not one. Range checks are the caller's.
inline bool intArg(ScriptContext& ctx, const FuncArg& a, int64_t& out) {
  if (a.kind == FuncArg::Kind::Int) {
    out = a.num;
    return true;
  }
  Value v = a.eval(ctx);
  if (v.isInt()) {
    out = v.num();
    return true;
  }
  return str::toNumber(v.str(), out);
}

}  // namespace sipsd

// The module's one C entry point (see core/module_api.h), returning the table MAKE_EXPORTS()
// builds on first use.
#define SIPSD_MODULE_EXPORTS(MAKE_EXPORTS)                                                            \
  extern "C" __attribute__((visibility("default"))) const sipsd::ModuleExports* sipsd_module_exports() { \
    static const sipsd::ModuleExports exports = MAKE_EXPORTS();                                       \
    return &exports;                                                                                  \
  }

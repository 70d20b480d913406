// The xmlrpc module's exports: dispatch_rpc(), xmlrpc_reply(code, reason), @xmlrpc.method.
#include <charconv>
#include <memory>

#include "core/module_api.h"
#include "modules/xmlrpc/xmlrpc_dispatch.h"

namespace sipsd::xmlrpc {
namespace {

bool toInt(std::string_view s, int64_t& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// xmlrpc_reply("400", ...) as in SER's docs: a literal code becomes an integer at load, so a
// typo is a config error with a line number rather than a failure per request.
std::string fixupReply(std::vector<FuncArg>& args, std::shared_ptr<void>&) {
  FuncArg& code = args[0];
  if (code.kind == FuncArg::Kind::Str) {
    int64_t n;
    if (!toInt(code.str, n) || n < INT32_MIN || n > INT32_MAX)
      return "xmlrpc_reply: fault code \"" + code.str + "\" is not an integer";
    code.kind = FuncArg::Kind::Int;
    code.num = n;
  }
  return {};
}

int handleReply(ScriptContext& ctx, const std::vector<FuncArg>& args, const void*) {
  int64_t code = 0;
  if (args[0].kind == FuncArg::Kind::Int) {
    code = args[0].num;
  } else {
    Value v = args[0].eval(ctx);
    if (v.isInt()) {
      code = v.num();
    } else if (!toInt(v.str(), code) || code < INT32_MIN || code > INT32_MAX) {
      ctx.core.log(kLogErr, "xmlrpc", "xmlrpc_reply: fault code \"" + v.text() + "\" from " + args[0].str +
                                          " is not an integer");
      return -1;
    }
  }
  Value reason = args[1].eval(ctx);
  return replyFault(ctx, int(code), reason.str());
}

ModuleExports makeExports() {
  ModuleExports e;
  e.name = "xmlrpc";
  e.functions.push_back({"dispatch_rpc", 0, 0, {},
                         [](ScriptContext& ctx, const std::vector<FuncArg>&, const void*) { return dispatchRpc(ctx); },
                         kRequestRoute});
  e.functions.push_back({"xmlrpc_reply", 2, 2, fixupReply, handleReply, kRequestRoute});
  e.selects.push_back({"xmlrpc", resolveSelect});
  return e;
}

}  // namespace
}  // namespace sipsd::xmlrpc

extern "C" const sipsd::ModuleExports* sipsd_module_exports() {
  static const sipsd::ModuleExports exports = sipsd::xmlrpc::makeExports();
  return &exports;
}

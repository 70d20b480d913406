// The xmlrpc module's exports: dispatch_rpc(), xmlrpc_reply(code, reason), @xmlrpc.method.
#include <cstdint>
#include <memory>

#include "core/module_api.h"
#include "core/module_helpers.h"
#include "modules/xmlrpc/xmlrpc_dispatch.h"

namespace sipsd::xmlrpc {
namespace {

// xmlrpc_reply("400", ...) as in SER's docs: a literal code becomes an integer at load, so a
// typo is a config error with a line number rather than a failure per request.
Result<void> fixupReply(std::vector<FuncArg>& args, std::shared_ptr<void>&) {
  return fixupIntArg("xmlrpc_reply", args[0], INT32_MIN, INT32_MAX, "fault code");
}

int handleReply(ScriptContext& ctx, const std::vector<FuncArg>& args, const void*) {
  int64_t code = 0;
  if (!intArg(ctx, args[0], code) || code < INT32_MIN || code > INT32_MAX) {
    ctx.core.log(kLogErr, "xmlrpc", "xmlrpc_reply: fault code \"" + args[0].eval(ctx).text() + "\" from " +
                                        args[0].str + " is not an integer");
    return -1;
  }
  Value reason = args[1].eval(ctx);
  return replyFault(ctx, int(code), reason.str());
}

ModuleExports makeExports() {
  ModuleExports e;
  e.name = "xmlrpc";
  e.functions.push_back(scriptFunction(
      "dispatch_rpc", 0, 0, [](ScriptContext& ctx, const std::vector<FuncArg>&, const void*) { return dispatchRpc(ctx); },
      kRequestRoute));
  e.functions.push_back(scriptFunction("xmlrpc_reply", 2, 2, handleReply, kRequestRoute, fixupReply));
  e.selects.push_back({"xmlrpc", resolveSelect});
  return e;
}

}  // namespace
}  // namespace sipsd::xmlrpc

SIPSD_MODULE_EXPORTS(sipsd::xmlrpc::makeExports)

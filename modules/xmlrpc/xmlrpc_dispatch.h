// What the xmlrpc module does for a message: run the RPC named in an XML-RPC request body
// (dispatch_rpc), answer with a fault chosen by the script (xmlrpc_reply), and read the
// method name for @xmlrpc.method.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/module_api.h"

namespace sipsd::xmlrpc {

// How a call went, for the log line.
struct CallOutcome {
  std::string method;     // empty when the body did not parse that far
  int faultCode = 0;      // 0 on success
  std::string faultText;
};

// Parses `body`, runs the named method from `methods` and returns the methodResponse or the
// fault document. Never throws: parse errors are -32700, unknown methods -32601, an RpcFault
// keeps its code, any other exception is -32603.
std::string handleCall(std::string_view body, const std::vector<RpcMethod>& methods, CallOutcome& outcome);
// The same, except that a method with a stream form (RpcMethod::stream) is only started: its
// RpcStream goes to `stream` and the returned document is empty (faults are returned as above).
std::string handleCall(std::string_view body, const std::vector<RpcMethod>& methods, CallOutcome& outcome,
                       std::unique_ptr<RpcStream>& stream);

// dispatch_rpc(): answers the HTTP request in ctx with the call's result. 1 on success, -1 when
// the message is not an HTTP request or the answer could not be sent. A method with a stream
// form answers over TCP/TLS in parts as the client reads (ReplyStreamer); dispatch_rpc returns
// once the answer has started. A request that arrives on a connection while such an answer is
// still being written (HTTP pipelining) closes the connection: its answer would interleave.
int dispatchRpc(ScriptContext& ctx);

// xmlrpc_reply(code, reason): answers HTTP 200 with a fault carrying code and reason.
int replyFault(ScriptContext& ctx, int code, std::string_view reason);

// The method name of the XML-RPC request in ctx, or Null when there is none.
Value methodOf(ScriptContext& ctx);

// Resolver for the @xmlrpc select root (only @xmlrpc.method exists).
Result<SelectFn> resolveSelect(const std::vector<SelectPart>& parts);

}  // namespace sipsd::xmlrpc

// The value tree RPC methods take and return (XML-RPC and JSON both map onto it).
#pragma once
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace sipsd {

struct RpcValue;
using RpcArray = std::vector<RpcValue>;
using RpcStruct = std::vector<std::pair<std::string, RpcValue>>;  // keeps member order

struct RpcValue {
  std::variant<std::monostate, bool, int64_t, double, std::string, RpcArray, RpcStruct> v;

  RpcValue() = default;
  RpcValue(bool b) : v(b) {}
  RpcValue(int i) : v(int64_t(i)) {}
  RpcValue(int64_t i) : v(i) {}
  RpcValue(uint64_t i) : v(int64_t(i)) {}
  RpcValue(double d) : v(d) {}
  RpcValue(const char* s) : v(std::string(s)) {}
  RpcValue(std::string s) : v(std::move(s)) {}
  RpcValue(RpcArray a) : v(std::move(a)) {}
  RpcValue(RpcStruct s) : v(std::move(s)) {}
};

// Thrown by an RPC method; becomes an XML-RPC fault. `c` is one of RpcFaultCode.
struct RpcFault : std::runtime_error {
  int code;
  RpcFault(int c, const std::string& msg) : std::runtime_error(msg), code(c) {}
};

// The one table of RPC fault codes: the XML-RPC layer's own (specs.xmlrpc.com "xmlrpc-errors")
// and the HTTP-like answers methods give, as Kamailio's RPCs do. Every method of the core and
// of every module throws one of these; README.md ("RPC fault codes") lists them and a unit test
// keeps the two in step. (A script's xmlrpc_reply(code, reason) may still send any code.)
enum RpcFaultCode : int {
  kRpcParseError = -32700,      // the body is not a well-formed methodCall
  kRpcInvalidRequest = -32600,  // a methodCall without what XML-RPC requires
  kRpcMethodNotFound = -32601,  // no such method
  kRpcInvalidParams = -32602,   // wrong number or type of parameters
  kRpcInternalError = -32603,   // the method broke (an exception), or a service it needs is absent
  kRpcNotFound = 404,           // what the parameters name does not exist (a connection id, an AoR)
  kRpcFailed = 500,             // the method could not do it now (TLS not running, a reload that failed)
};

struct RpcFaultInfo {
  RpcFaultCode code;
  const char* name;     // the constant's name
  const char* meaning;  // as README.md says it
};

inline constexpr RpcFaultInfo kRpcFaultTable[] = {
    {kRpcParseError, "kRpcParseError", "the request body is not a well-formed `methodCall` (the text gives line and column)"},
    {kRpcInvalidRequest, "kRpcInvalidRequest", "a `methodCall` without what XML-RPC requires"},
    {kRpcMethodNotFound, "kRpcMethodNotFound", "no such method"},
    {kRpcInvalidParams, "kRpcInvalidParams", "wrong number or type of parameters"},
    {kRpcInternalError, "kRpcInternalError", "the method broke, or a service it needs is not available"},
    {kRpcNotFound, "kRpcNotFound", "what the parameters name does not exist (a connection id, an AoR)"},
    {kRpcFailed, "kRpcFailed", "the method could not do it now (TLS not running, a reload that failed and kept the running configuration)"},
};

}  // namespace sipsd

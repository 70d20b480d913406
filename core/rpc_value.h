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

// An RPC answer produced in parts (RpcMethod::stream): a struct whose members are head(), then
// an array named arrayName() whose elements step() produces a bounded piece at a time, then
// tail(). The transport calls step() on later turns of the worker's loop as the client reads,
// so neither the worker nor memory holds the whole answer at once.
class RpcStream {
 public:
  virtual ~RpcStream() = default;
  // The members before the array; asked once, before the first step().
  virtual RpcStruct head() = 0;
  virtual std::string arrayName() const = 0;
  // A bounded piece of work (about a millisecond): appends finished elements to `out` (maybe
  // none); false once the array is complete. May throw (the answer is then abandoned).
  virtual bool step(RpcArray& out) = 0;
  // The members after the array (they may sum it up); asked once step() returned false.
  virtual RpcStruct tail() = 0;
};

// The whole answer of a stream at once (RpcMethod::call of a streamed method).
inline RpcValue drainRpcStream(RpcStream& s) {
  RpcStruct r = s.head();
  RpcArray items;
  while (s.step(items)) {
  }
  r.emplace_back(s.arrayName(), RpcValue(std::move(items)));
  for (auto& m : s.tail()) r.push_back(std::move(m));
  return RpcValue(std::move(r));
}

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

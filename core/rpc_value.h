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

// Thrown by an RPC method; becomes an XML-RPC fault.
struct RpcFault : std::runtime_error {
  int code;
  RpcFault(int c, const std::string& msg) : std::runtime_error(msg), code(c) {}
};

}  // namespace sipsd

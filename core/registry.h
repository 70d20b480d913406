// Names the script may use: functions, select roots and RPC methods from the core and
// every loaded module. Filled before the config checker runs; read-only afterwards.
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "core/module_api.h"
#include "core/net/transport_registry.h"

namespace sipsd {

class Registry {
 public:
  // Each returns an error text when the name is already taken (by `owner`).
  std::string addFunction(const FunctionExport& f, const std::string& owner);
  std::string addSelect(const SelectExport& s, const std::string& owner);
  std::string addRpc(const RpcMethod& m, const std::string& owner);
  void addModule(const ModuleExports* m) { modules_.push_back(m); }

  // All overloads registered under a name (e.g. forward/0 and forward/2), or null.
  const std::vector<FunctionExport>* functions(const std::string& name) const;
  // The overload accepting `nargs`, or null.
  const FunctionExport* function(const std::string& name, size_t nargs) const;
  const SelectExport* select(const std::string& root) const;
  const std::vector<RpcMethod>& rpcs() const { return rpcs_; }
  const std::vector<const ModuleExports*>& modules() const { return modules_; }
  const ModuleExports* module(const std::string& name) const;
  // Transports the loaded modules registered (filled by the config loader with the modules).
  TransportRegistry& transports() { return transports_; }
  const TransportRegistry& transports() const { return transports_; }

 private:
  std::unordered_map<std::string, std::vector<FunctionExport>> functions_;
  std::unordered_map<std::string, SelectExport> selects_;
  std::unordered_map<std::string, std::string> selectOwners_;
  std::vector<RpcMethod> rpcs_;
  std::vector<const ModuleExports*> modules_;
  TransportRegistry transports_;
};

}  // namespace sipsd

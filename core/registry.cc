#include "core/registry.h"

namespace sipsd {

std::string Registry::addFunction(const FunctionExport& f, const std::string& owner) {
  auto& list = functions_[f.name];
  for (const auto& g : list)
    if (!(f.maxArgs < g.minArgs || f.minArgs > g.maxArgs))
      return "function " + f.name + " of " + owner + " overlaps an existing definition";
  list.push_back(f);
  return {};
}

std::string Registry::addSelect(const SelectExport& s, const std::string& owner) {
  auto it = selectOwners_.find(s.root);
  if (it != selectOwners_.end()) return "select @" + s.root + " of " + owner + " is already defined by " + it->second;
  selects_[s.root] = s;
  selectOwners_[s.root] = owner;
  return {};
}

std::string Registry::addRpc(const RpcMethod& m, const std::string& owner) {
  for (const auto& r : rpcs_)
    if (r.name == m.name) return "RPC " + m.name + " of " + owner + " is already defined";
  rpcs_.push_back(m);
  return {};
}

const std::vector<FunctionExport>* Registry::functions(const std::string& name) const {
  auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : &it->second;
}

const FunctionExport* Registry::function(const std::string& name, size_t nargs) const {
  auto* list = functions(name);
  if (!list) return nullptr;
  for (const auto& f : *list)
    if (int(nargs) >= f.minArgs && int(nargs) <= f.maxArgs) return &f;
  return nullptr;
}

const SelectExport* Registry::select(const std::string& root) const {
  auto it = selects_.find(root);
  return it == selects_.end() ? nullptr : &it->second;
}

const ModuleExports* Registry::module(const std::string& name) const {
  for (auto* m : modules_)
    if (m->name == name) return m;
  return nullptr;
}

}  // namespace sipsd

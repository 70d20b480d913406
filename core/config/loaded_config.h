// Everything a loaded script yields: core settings, loaded modules, the registry of names,
// the CoreApi the modules were initialised with, the compiled routes and the diagnostics.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "cfg/action_tree.h"
#include "cfg/diagnostics.h"
#include "core/config/core_settings.h"
#include "core/config/module_library.h"
#include "core/module_api.h"
#include "core/registry.h"

namespace sipsd {

class LoadedConfig {
 public:
  LoadedConfig() = default;
  LoadedConfig(const LoadedConfig&) = delete;
  LoadedConfig& operator=(const LoadedConfig&) = delete;
  // Calls destroy() of every initialised module (reverse load order), then unloads them.
  ~LoadedConfig();

  bool ok() const { return !diagnostics.hasErrors() && script != nullptr; }

  std::string path;       // the config file as given
  std::string configDir;  // its directory (relative paths in the config resolve against it)
  CoreSettings settings;
  // Declared first so it is destroyed last: the registry, script and CoreApi hold code of
  // the modules (std::function targets) that must be gone before the libraries close.
  std::vector<std::unique_ptr<ModuleLibrary>> modules;
  // Kamailio modules sipsd has built in (loadmodule "pv.so" ...): their params and functions.
  std::vector<std::unique_ptr<ModuleExports>> builtinModules;
  Registry registry;
  std::unique_ptr<CoreApi> coreApi;
  std::unique_ptr<cfg::CompiledScript> script;
  cfg::Diagnostics diagnostics;
};

}  // namespace sipsd

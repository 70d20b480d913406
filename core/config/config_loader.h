// The config-loading pipeline shared by `sipsd -c` and the running server:
// parse → core globals → loadmodule (all of them first) → modparam / module-claimed globals
// and blocks (file order, modules in load order) → listen=tls check → module init(CoreApi&)
// → checker and compilation of the routes.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config/loaded_config.h"
#include "core/script/proxy_actions.h"

namespace sipsd {

struct LoadOptions {
  std::vector<std::string> moduleDirs;  // -L DIR, searched before mpath=
  // The forwarding implementation behind forward()/create_via()/force_rport(); null when the
  // script will never run (`-c`).
  ProxyActions* proxy = nullptr;
  // Builds the CoreApi that modules' init() receives, once the core settings are known. Unset:
  // a CheckCoreApi (logs, no workers, no timers fire).
  std::function<std::unique_ptr<CoreApi>(LoadedConfig&)> makeCoreApi;
  // Preprocessor defines from the command line (-A NAME or -A NAME=value), checked by main.
  std::vector<std::string> defines;
};

// Loads the config file at `path` (preprocessed first: #!define, #!ifdef, include_file ...). Always returns an object; check ok() and print
// diagnostics.format() (FILE:LINE:COL: error: ... with the line and a caret) when it is not.
std::unique_ptr<LoadedConfig> loadConfig(const std::string& path, const LoadOptions& options);

// Same for a script held in memory; `path` names it in diagnostics and gives configDir.
std::unique_ptr<LoadedConfig> loadConfigText(const std::string& text, const std::string& path,
                                             const LoadOptions& options);

}  // namespace sipsd

// Kamailio module names in `loadmodule`: the modules whose functions sipsd has built in (pv,
// xlog, maxfwd, textops, sanity ...) load as a built-in ModuleExports (their modparams go
// through it: applied, or an error naming the parameter); the modules sipsd lacks get a
// message that names what is missing. README.md "Kamailio users" has the table.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "core/module_api.h"

namespace sipsd {

struct KamailioBuiltin {
  std::unique_ptr<ModuleExports> exports;  // name, the params sipsd applies, functions it adds
  std::string_view provides;               // what sipsd offers of it, for the info line
};

class KamailioModules {
 public:
  // "pv", "pv.so", "/usr/lib/kamailio/modules/pv.so" -> "pv".
  static std::string_view baseName(std::string_view spec);
  // The built-in stand-in for Kamailio module `name`, or no exports when it is not one.
  static KamailioBuiltin builtin(std::string_view name);
  // Why Kamailio module `name` cannot be loaded ("" when it is not a Kamailio module sipsd knows).
  static std::string missing(std::string_view name);
};

}  // namespace sipsd

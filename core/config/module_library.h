// One dlopen'ed module: finds it (bare name in module dirs, or a path), loads it with
// RTLD_NOW|RTLD_GLOBAL, checks the ABI version and owns the handle.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/module_api.h"

namespace sipsd {

class ModuleLibrary {
 public:
  ~ModuleLibrary();
  ModuleLibrary(const ModuleLibrary&) = delete;
  ModuleLibrary& operator=(const ModuleLibrary&) = delete;

  // Resolves what `loadmodule "spec"` names: a bare name is searched as NAME.so and
  // NAME/NAME.so in each of `dirs`; "NAME.so" is searched the same way (then tried in the
  // working directory); a spec with a '/' is a path, tried as given and relative to
  // `configDir`, and when neither exists (SER's "./modules/tls/tls.so"), NAME is searched in
  // `dirs`. Returns the path, or "" and the places tried in `err`.
  static std::string find(const std::string& spec, const std::vector<std::string>& dirs,
                          const std::string& configDir, std::string& err);
  // Loads `path`; on failure returns null and the reason (dlerror(), missing entry, ABI).
  static std::unique_ptr<ModuleLibrary> open(const std::string& path, std::string& err);

  const ModuleExports& exports() const { return *exports_; }
  const std::string& path() const { return path_; }
  bool initialized = false;  // init() succeeded: destroy() is due at unload

 private:
  ModuleLibrary(void* handle, const ModuleExports* exports, std::string path)
      : handle_(handle), exports_(exports), path_(std::move(path)) {}

  void* handle_;
  const ModuleExports* exports_;
  std::string path_;
};

}  // namespace sipsd

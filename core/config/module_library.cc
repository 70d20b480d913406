// Module search and dlopen.
#include "core/config/module_library.h"

#include <dlfcn.h>
#include <sys/stat.h>

namespace sipsd {

namespace {
bool isFile(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}
}  // namespace

ModuleLibrary::~ModuleLibrary() {
  if (handle_) ::dlclose(handle_);
}

std::string ModuleLibrary::find(const std::string& spec, const std::vector<std::string>& dirs,
                                const std::string& configDir, std::string& err) {
  std::vector<std::string> tried;
  auto attempt = [&](const std::string& p) {
    tried.push_back(p);
    return isFile(p);
  };
  auto searchDirs = [&](const std::string& name) {
    for (const auto& d : dirs) {
      if (attempt(d + "/" + name + ".so")) return tried.back();
      if (attempt(d + "/" + name + "/" + name + ".so")) return tried.back();
    }
    return std::string();
  };
  const bool hasSlash = spec.find('/') != std::string::npos;
  if (hasSlash || spec.ends_with(".so")) {
    if (hasSlash && attempt(spec)) return spec;
    if (hasSlash && spec.front() != '/' && !configDir.empty() && attempt(configDir + "/" + spec))
      return configDir + "/" + spec;
    // SER/Kamailio habits: "tls.so" is searched like "tls" (Kamailio does so in mpath), and a
    // source-tree path such as "./modules/tls/tls.so" that does not exist here falls back to
    // the module of that name in the module path.
    std::string base = spec.substr(spec.rfind('/') + 1);
    if (base.ends_with(".so") && base.size() > 3) {
      if (auto p = searchDirs(base.substr(0, base.size() - 3)); !p.empty()) return p;
    }
    if (!hasSlash && attempt(spec)) return spec;
  } else {
    if (auto p = searchDirs(spec); !p.empty()) return p;
  }
  err = "module '" + spec + "' not found";
  if (tried.empty()) {
    err += " (no module path: set mpath= or use -L DIR)";
  } else {
    err += " (tried ";
    for (size_t i = 0; i < tried.size(); ++i) err += (i ? ", " : "") + tried[i];
    err += ")";
  }
  return {};
}

std::unique_ptr<ModuleLibrary> ModuleLibrary::open(const std::string& path, std::string& err) {
  // RTLD_GLOBAL: modules see each other's and the binary's symbols. RTLD_NODELETE keeps the
  // code mapped after dlclose so a late callback (atexit, OpenSSL cleanup) never jumps into
  // unmapped memory.
  void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE);
  if (!h) {
    const char* e = ::dlerror();
    err = "cannot load module " + path + ": " + (e ? e : "unknown dlopen error");
    return nullptr;
  }
  ::dlerror();
  auto entry = reinterpret_cast<SipsdModuleEntry>(::dlsym(h, "sipsd_module_exports"));
  if (!entry) {
    err = path + " is not a sipsd module (it has no sipsd_module_exports entry point)";
    ::dlclose(h);
    return nullptr;
  }
  const ModuleExports* exports = entry();
  if (!exports) {
    err = path + ": sipsd_module_exports() returned nothing";
    ::dlclose(h);
    return nullptr;
  }
  if (exports->abiVersion != kModuleAbiVersion) {
    err = path + " was built for module ABI " + std::to_string(exports->abiVersion) + ", this sipsd has ABI " +
          std::to_string(kModuleAbiVersion) + "; rebuild the module";
    ::dlclose(h);
    return nullptr;
  }
  return std::unique_ptr<ModuleLibrary>(new ModuleLibrary(h, exports, path));
}

}  // namespace sipsd

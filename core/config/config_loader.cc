// The config-loading pipeline.
#include "core/config/config_loader.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "cfg/checker.h"
#include "cfg/config_parser.h"
#include "cfg/preprocessor.h"
#include "core/config/check_core_api.h"
#include "core/config/kamailio_modules.h"
#include "core/log.h"
#include "core/script/core_functions.h"
#include "core/util/strings.h"

namespace sipsd {

namespace {

namespace ast = cfg::ast;

bool isDir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

class Pipeline {
 public:
  Pipeline(LoadedConfig& cfg, const LoadOptions& opt, cfg::ErrorHandler& h) : cfg_(cfg), opt_(opt), h_(h) {}

  void run(const ast::Config& config) {
    // The listen= list is complete when the script's fixups run (after every core global).
    auto listensOn = [listens = &cfg_.settings.listens](Proto p) {
      for (const auto& l : *listens)
        if (l.proto == p) return true;
      return false;
    };
    if (auto err = script::registerCoreNames(cfg_.registry, opt_.proxy, listensOn); !err.empty())
      h_.error(SourceLoc{cfg_.path, 0, 0}, "registering the core's names: " + err);

    // Core globals first: mpath= must be known before any loadmodule, wherever it is written.
    for (const auto& item : config.items)
      if (const auto* a = boost::get<ast::Assign>(&item)) applyCore(*a);
    for (const auto& item : config.items)
      if (const auto* lm = boost::get<ast::LoadModule>(&item)) loadModule(*lm);
    // Then what modules take, in file order: legacy tls_* keywords may precede loadmodule "tls".
    for (const auto& item : config.items) {
      if (const auto* a = boost::get<ast::Assign>(&item)) {
        if (!coreNames_.count(a)) claimGlobal(*a);
      } else if (const auto* mp = boost::get<ast::ModParam>(&item)) {
        modParam(*mp);
      } else if (const auto* b = boost::get<ast::CfgBlockAst>(&item)) {
        claimBlock(*b);
      }
    }
    checkListens();

    cfg_.coreApi = opt_.makeCoreApi ? opt_.makeCoreApi(cfg_)
                                    : std::make_unique<CheckCoreApi>(cfg_.configDir, cfg_.settings.logLevel,
                                                                     cfg_.registry.rpcs(), &cfg_.settings.listens,
                                                                     &cfg_.registry);
    // A module initialised from a config that already has errors would report confusing
    // follow-up problems; the script itself is still checked below.
    if (!h_.diagnostics().hasErrors()) initModules();

    cfg::Checker checker(cfg_.registry, h_);
    cfg_.script = checker.compile(config);
    if (cfg_.script) cfg_.script->maxWhileLoops = cfg_.settings.maxWhileLoops;
  }

 private:
  ParamValue paramValue(const ast::ParamVal& v) {
    ParamValue out;
    if (const auto* s = boost::get<ast::StringLit>(&v)) {
      out.str = s->value;
      out.loc = h_.locate(*s);
    } else if (const auto* n = boost::get<ast::IntLit>(&v)) {
      out.isInt = true;
      out.num = n->value;
      out.str = std::to_string(n->value);
      out.loc = h_.locate(*n);
    } else {
      const auto& w = boost::get<ast::BareWord>(v);
      out.str = w.text;
      out.loc = h_.locate(w);
    }
    return out;
  }

  void applyCore(const ast::Assign& a) {
    bool known = false;
    ParamValue v = paramValue(a.value);
    std::string err = applyCoreGlobal(cfg_.settings, a.name, v, known);
    if (!known) return;
    coreNames_.insert(&a);
    if (!err.empty()) h_.error(v.loc, err);
  }

  std::vector<std::string> moduleDirs() const {
    std::vector<std::string> dirs = opt_.moduleDirs;
    for (const auto& m : cfg_.settings.mpath) {
      // A relative mpath is taken from the working directory, else from the config's directory.
      if (m.front() != '/' && !isDir(m) && isDir(cfg_.configDir + "/" + m))
        dirs.push_back(cfg_.configDir + "/" + m);
      else
        dirs.push_back(m);
    }
    return dirs;
  }

  void loadModule(const ast::LoadModule& lm) {
    SourceLoc loc = h_.locate(lm.path);
    // A Kamailio module whose functions sipsd has built in: nothing to open, its params and
    // functions (if any) come from the built-in stand-in.
    const std::string_view base = KamailioModules::baseName(lm.path.value);
    if (KamailioBuiltin b = KamailioModules::builtin(base); b.exports) {
      if (cfg_.registry.module(b.exports->name)) {
        h_.error(loc, "module '" + b.exports->name + "' is already loaded");
        return;
      }
      logging::write(kLogInfo, "core", loc.str() + ": " + b.exports->name + ": built into sipsd (" +
                                           std::string(b.provides) + ")");
      addExports(*b.exports, loc);
      builtins_.insert(b.exports.get());
      cfg_.builtinModules.push_back(std::move(b.exports));
      return;
    }
    std::string err;
    std::string path = ModuleLibrary::find(lm.path.value, moduleDirs(), cfg_.configDir, err);
    if (path.empty()) {
      std::string missing = KamailioModules::missing(base);
      h_.error(loc, missing.empty() ? err : missing);
      return;
    }
    auto lib = ModuleLibrary::open(path, err);
    if (!lib) {
      h_.error(loc, err);
      return;
    }
    const ModuleExports& m = lib->exports();
    if (cfg_.registry.module(m.name)) {
      h_.error(loc, "module '" + m.name + "' is already loaded");
      return;
    }
    addExports(m, loc);
    cfg_.modules.push_back(std::move(lib));
    moduleLocs_.push_back(loc);
  }

  // Registers a module's names (functions, selects, RPCs, transports) in the registry.
  void addExports(const ModuleExports& m, const SourceLoc& loc) {
    cfg_.registry.addModule(&m);
    for (const auto& f : m.functions)
      if (auto e = cfg_.registry.addFunction(f, m.name); !e.empty()) h_.error(loc, e);
    for (const auto& s : m.selects)
      if (auto e = cfg_.registry.addSelect(s, m.name); !e.empty()) h_.error(loc, e);
    for (const auto& r : m.rpcs)
      if (auto e = cfg_.registry.addRpc(r, m.name); !e.empty()) h_.error(loc, e);
    for (const auto& t : m.transports)
      if (auto r = cfg_.registry.transports().add(t.proto, t.transport, m.name); !r) h_.error(loc, r.error());
  }

  void modParam(const ast::ModParam& mp) {
    const std::string& modName = mp.module.value;
    const std::string& name = mp.param.value;
    const ModuleExports* m = cfg_.registry.module(modName);
    if (!m) {
      h_.error(mp.module, "modparam for module '" + modName + "', which is not loaded");
      return;
    }
    const ParamExport* p = nullptr;
    for (const auto& pe : m->params)
      if (pe.name == name) p = &pe;
    if (!p) {
      if (builtins_.count(m))
        h_.error(mp.param, "module '" + modName + "' is built into sipsd, which has no setting '" + name +
                               "' (remove this modparam; README.md \"Kamailio users\" lists what is applied)");
      else
        h_.error(mp.param, "module '" + modName + "' has no parameter '" + name + "'");
      return;
    }
    ParamValue v = paramValue(mp.value);
    if (p->type == ParamType::Int && !v.isInt) {
      // SER scripts often quote numbers: modparam("tls", "verify_certificate", "1").
      int64_t n = 0;
      if (!str::toNumber(v.str, n)) {
        h_.error(v.loc, "parameter '" + name + "' of module '" + modName + "' takes an integer, not '" + v.str + "'");
        return;
      }
      v.isInt = true;
      v.num = n;
    } else if (p->type == ParamType::Str && v.isInt) {
      v.isInt = false;
    }
    if (!p->set) return;
    if (auto set = p->set(v); !set) h_.error(v.loc, modName + "." + name + ": " + set.error());
  }

  void claimGlobal(const ast::Assign& a) {
    ParamValue v = paramValue(a.value);
    for (const auto& lib : cfg_.modules) {
      const ModuleExports& m = lib->exports();
      if (!m.claimGlobal) continue;
      auto claimed = m.claimGlobal(a.name, v);
      if (!claimed) {
        h_.error(v.loc, a.name + ": " + claimed.error());
        return;
      }
      if (*claimed) return;
    }
    h_.error(a, "unknown parameter '" + a.name + "'" +
                    (a.name.rfind("tls_", 0) == 0 || a.name == "disable_tls" ? " (is the tls module loaded?)" : ""));
  }

  void claimBlock(const ast::CfgBlockAst& b) {
    CfgBlock block;
    block.kind = b.kind;
    block.selector = b.selector;
    block.loc = h_.locate(b);
    for (const auto& item : b.items) block.items.emplace_back(item.name, paramValue(item.value));
    for (const auto& lib : cfg_.modules) {
      const ModuleExports& m = lib->exports();
      if (!m.claimBlock) continue;
      auto claimed = m.claimBlock(block);
      if (!claimed) {
        h_.error(block.loc, b.kind + ": " + claimed.error());
        return;
      }
      if (*claimed) return;
    }
    h_.error(block.loc, "unknown block '" + b.kind + "'" + (b.kind == "tls_domain" ? " (is the tls module loaded?)" : ""));
  }

  void checkListens() {
    for (const auto& l : cfg_.settings.listens)
      if (!cfg_.registry.transports().available(l.proto))
        h_.error(l.loc, "listen=" + l.text + " needs the " + std::string(protoName(l.proto)) +
                            " transport: loadmodule \"" + std::string(protoToken(l.proto)) + "\"");
    // An address no interface has passes the syntax but cannot be bound at start: say so at
    // -c time already, naming the line (once per listen=, which may open UDP and TCP).
    std::set<std::pair<int, int>> warned;
    for (const auto& l : cfg_.settings.listens) {
      if (!warned.insert({l.loc.line, l.loc.col}).second) continue;
      std::string why = localAddressProblem(l.addr);
      if (!why.empty())
        logging::write(kLogWarn, "core", l.loc.str() + ": warning: listen=" + l.text + ": " + l.addr.ip() +
                                             " is not an address of this machine (" + why + ")");
    }
  }

  void initModules() {
    for (size_t i = 0; i < cfg_.modules.size(); ++i) {
      auto& lib = cfg_.modules[i];
      const ModuleExports& m = lib->exports();
      if (!m.init) {
        lib->initialized = true;
        continue;
      }
      if (auto done = m.init(*cfg_.coreApi); !done) {
        h_.error(moduleLocs_[i], "module '" + m.name + "' failed to initialise: " + done.error());
        return;
      }
      lib->initialized = true;
    }
  }

  LoadedConfig& cfg_;
  const LoadOptions& opt_;
  cfg::ErrorHandler& h_;
  std::set<const ast::Assign*> coreNames_;
  std::set<const ModuleExports*> builtins_;  // the Kamailio modules sipsd has built in
  std::vector<SourceLoc> moduleLocs_;  // the loadmodule of each entry of cfg_.modules
};

}  // namespace

LoadedConfig::~LoadedConfig() {
  for (auto it = modules.rbegin(); it != modules.rend(); ++it)
    if ((*it)->initialized && (*it)->exports().destroy) (*it)->exports().destroy();
  script.reset();
  coreApi.reset();
  registry = Registry();
}

std::unique_ptr<LoadedConfig> loadConfigText(const std::string& text, const std::string& path,
                                             const LoadOptions& options) {
  auto cfg = std::make_unique<LoadedConfig>();
  cfg->path = path;
  cfg->configDir = str::dirOf(path);
  cfg::SourceMap map;
  cfg::Preprocessor pre(cfg->diagnostics);
  for (const auto& d : options.defines)
    if (auto err = pre.defineFromCommandLine(d); !err.empty()) cfg->diagnostics.error(SourceLoc{path, 0, 0}, err);
  const std::string merged = pre.run(text, path, map);
  // Parsing a text whose conditional blocks or includes are broken only adds confusion.
  if (cfg->diagnostics.hasErrors()) return cfg;
  cfg::ErrorHandler handler(merged, path, cfg->diagnostics, &map);
  ast::Config config = cfg::parseConfig(handler);
  Pipeline(*cfg, options, handler).run(config);
  if (cfg->diagnostics.hasErrors()) cfg->script.reset();
  return cfg;
}

std::unique_ptr<LoadedConfig> loadConfig(const std::string& path, const LoadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    auto cfg = std::make_unique<LoadedConfig>();
    cfg->path = path;
    cfg->configDir = str::dirOf(path);
    cfg->diagnostics.error(SourceLoc{path, 0, 0}, std::string("cannot read the config file: ") + std::strerror(errno));
    return cfg;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return loadConfigText(ss.str(), path, options);
}

}  // namespace sipsd

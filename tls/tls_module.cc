// Configuration intake, init/reload/watching and the module's export table.
#include "tls/tls_module.h"

#include <malloc.h>

#include <chrono>
#include <cstdio>

#include "core/log.h"
#include "tls/domain_file.h"
#include "tls/kamailio_params.h"
#include "tls/setting_table.h"
#include "tls/tls_domain_set.h"
#include "tls/tls_metrics.h"
#include "tls/tls_rpc.h"
#include "tls/tls_script.h"

namespace sipsd::tls {
namespace {

const SettingSpec* findGlobal(std::string_view name) {
  const SettingSpec* s = findSetting(name);
  return s && s->scope == SettingScope::Global ? s : nullptr;
}

std::string where(const SourceLoc& l) { return l.file.empty() ? std::string("(built-in)") : l.str(); }

}  // namespace

TlsModule::TlsModule() : transport_(std::make_shared<TlsTransport>()) { buildExports(); }

TlsModule::~TlsModule() = default;

std::string TlsModule::setGlobal(const std::string& name, const ParamValue& v) {
  const SettingSpec* spec = findGlobal(name);
  if (!spec) return "unknown TLS setting '" + name + "'";
  auto [it, fresh] = globalsAt_.emplace(name, v.loc);
  if (!fresh) {
    return "TLS setting '" + name + "' is set twice: at " + where(it->second) + " and at " + where(v.loc);
  }
  ParamValue value = v;
  if (spec->isPath()) {
    if (v.text().empty()) return "modparam tls " + name + ": empty file name";
    value.isInt = false;
    value.str = resolvePath(v.text(), v.loc.file.empty() ? std::string() : dirOf(v.loc.file));
  }
  if (std::string e = applySetting(*spec, value, g_); !e.empty()) return "TLS setting '" + name + "' " + e;
  if (spec->name == "config") g_.configFileLoc = v.loc;
  return {};
}

std::string TlsModule::setDomainParam(const std::string& rawName, const ParamValue& v, const char* origin) {
  const SettingSpec* spec = findDomainSetting(rawName);
  if (!spec) return std::string("unknown TLS ") + origin + " '" + rawName + "'";
  const std::string name(spec->name);
  const std::string baseDir = v.loc.file.empty() ? std::string() : dirOf(v.loc.file);
  // "[server:|client:]IP:PORT=value" addresses one domain; anything else sets both defaults.
  if (!v.isInt) {
    auto eq = v.str.find('=');
    if (eq != std::string::npos) {
      std::string ignored;
      if (auto id = DomainId::parse(v.str.substr(0, eq), Side::Server, ignored)) {
        ParamValue one = v;
        one.str = v.str.substr(eq + 1);
        return params_.set(*id, name, one, baseDir);
      }
    }
  }
  // A client domain's id names one domain, never both defaults.
  if (name != "server_id") {
    if (auto e = params_.set(DomainId{Side::Server, "default", ""}, name, v, baseDir); !e.empty()) return e;
  }
  return params_.set(DomainId{Side::Client, "default", ""}, name, v, baseDir);
}

Result<void> TlsModule::setParam(const std::string& name, const ParamValue& v) {
  if (initialized_) return fail("TLS parameters cannot change after start (use tls.reload for files)");
  if (const SettingSpec* g = findGlobal(name); g && g->modparam) return okUnless(setGlobal(name, v));
  return okUnless(setDomainParam(name, v, "parameter"));
}

Result<bool> TlsModule::claimGlobal(const std::string& name, const ParamValue& v) {
  for (const auto& s : settingTable()) {
    if (s.scope == SettingScope::Global && !s.keyword.empty() && s.keyword == name) {
      if (std::string e = setGlobal(std::string(s.name), v); !e.empty()) return fail(e);
      return true;
    }
  }
  if (name.rfind("tls_", 0) != 0) return false;
  const SettingSpec* spec = findDomainSetting(name.substr(4));
  if (!spec) return false;
  if (std::string e = setDomainParam(std::string(spec->name), v, "keyword"); !e.empty()) return fail(e);
  return true;
}

Result<bool> TlsModule::claimBlock(const CfgBlock& b) {
  if (b.kind != "tls_domain") return false;
  std::string err;
  auto id = DomainId::parse(b.selector, Side::Server, err);
  if (!id) return fail(b.loc.str() + ": tls_domain[" + b.selector + "]: " + err);
  const std::string baseDir = b.loc.file.empty() ? std::string() : dirOf(b.loc.file);
  for (const auto& [rawName, v] : b.items) {
    std::string n = rawName.rfind("tls_", 0) == 0 ? rawName.substr(4) : rawName;
    const SettingSpec* spec = findDomainSetting(n);
    if (!spec) return fail(v.loc.str() + ": unknown setting '" + rawName + "' in tls_domain[" + b.selector + "]");
    if (auto e = params_.set(*id, std::string(spec->name), v, baseDir); !e.empty()) return fail(e);
  }
  // A block with no items still declares the domain (it inherits the defaults).
  params_.declare(*id, b.loc);
  return true;
}

std::shared_ptr<const TlsDomainSet> TlsModule::buildSet(std::string& err, const TlsDomainSet* previous) {
  TlsConfig cfg = params_;
  if (!g_.configFile.empty()) {
    TlsConfig file;
    if (std::string e = DomainFile::load(g_.configFile, file, dirOf(g_.configFileLoc.file)); !e.empty()) {
      err = e;
      return nullptr;
    }
    if (std::string e = cfg.merge(file); !e.empty()) {
      err = e;
      return nullptr;
    }
  }
  for (const auto& [id, dc] : cfg.domains()) declaredAt_[id.str()] = dc.declaredAt;
  return TlsDomainSet::build(cfg, g_, ring_, err, previous);
}

std::vector<std::string> TlsModule::watchedPaths(const TlsDomainSet& set) const {
  std::vector<std::string> p = set.inputs();
  if (!g_.configFile.empty()) p.push_back(g_.configFile);
  return p;
}

Result<void> TlsModule::init(CoreApi* core) {
  std::lock_guard lk(reloadMu_);
  core_ = core;
  transport_->setGlobals(g_);
  if (g_.disabled) {
    initialized_ = true;
    logging::write(kLogNotice, "tls", "TLS disabled (disable_tls)");
    return {};
  }
  if (!ring_) ring_ = std::make_shared<TicketKeyRing>(std::chrono::seconds(g_.ticketKeyLifetime));
  std::string err;
  auto set = buildSet(err);
  if (!set) return fail(err);
  if (std::string e = checkCrlDates(*set, false); !e.empty()) return fail(e);
  warnUnusedDomains(*set);
  transport_->publish(set);
  watcher_.arm(watchedPaths(*set));
  notifier_.watch(watcher_.paths());
  if (!initialized_ && core_) core_->addTimer(std::chrono::seconds(1), [this] { tick(); });
  initialized_ = true;
  if (core_) ops_->start(*core_);
  logging::write(kLogInfo, "tls", "TLS ready: " + std::to_string(set->all().size()) + " domains");
  return {};
}

Result<void> TlsModule::reload(std::vector<std::string>* changes) {
  ReloadReport r;
  auto done = reload("reload", &r);
  if (changes) *changes = std::move(r.changes);
  return done;
}

Result<void> TlsModule::reload(const std::string& trigger, ReloadReport* report) {
  std::lock_guard lk(reloadMu_);
  if (!initialized_ || g_.disabled) return fail("TLS is not running");
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsedMs = [&t0] {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  auto old = transport_->current();
  std::string err;
  auto set = buildSet(err, old.get());
  if (!set) {
    lastReloadError_ = err;
    TlsMetrics::instance().reload(false);
    char took[32];
    std::snprintf(took, sizeof took, "%.1f", elapsedMs());
    logging::write(kLogErr, "tls",
                   "TLS reload (" + trigger + ") failed after " + took + " ms, keeping the running domains: " + err);
    return fail(err);
  }
  // An expired CRL does not block a reload (the running set has the same problem, and the
  // reload may be the fix of something else); it is logged by checkCrlDates instead.
  if (std::string e = checkCrlDates(*set, false); !e.empty()) logging::write(kLogErr, "tls", e);
  ReloadReport r;
  r.changes = set->diff(old.get());
  r.rebuilt = set->rebuilt();
  r.kept = set->all().size() - r.rebuilt.size();
  transport_->publish(set);
  watcher_.arm(watchedPaths(*set));
  notifier_.watch(watcher_.paths());
  lastReloadError_.clear();
  TlsMetrics::instance().reload(true);
  // Domains nobody uses any more are freed here (or when their last connection closes); hand
  // the freed pages back instead of keeping a high-water mark after every rotation.
  old.reset();
  if (!r.rebuilt.empty() || !r.changes.empty()) malloc_trim(0);
  r.ms = elapsedMs();
  std::string summary;
  for (const auto& d : r.changes) summary += (summary.empty() ? "" : ", ") + d;
  char took[32];
  std::snprintf(took, sizeof took, "%.1f", r.ms);
  logging::write(kLogNotice, "tls",
                 "TLS reload (" + trigger + "): " + (summary.empty() ? std::string("no change") : summary) + "; " +
                     std::to_string(r.rebuilt.size()) + " of " + std::to_string(set->all().size()) +
                     " domains rebuilt, " + std::to_string(r.kept) + " kept with their sessions; " + took + " ms");
  if (report) *report = std::move(r);
  return {};
}

bool TlsModule::checkFiles() {
  {
    std::lock_guard lk(reloadMu_);
    if (!initialized_ || g_.disabled || !watcher_.changed()) return false;
  }
  (void)reload("files changed on disk", nullptr);  // logs its outcome; the old set stays on failure
  return true;
}

std::string TlsModule::checkCrlDates(const TlsDomainSet& set, bool logExpired) {
  const time_t now = std::time(nullptr);
  struct Use {
    const CrlDue* due;
    std::string domains;
  };
  std::map<std::string, Use> byFile;
  for (const auto& d : set.all()) {
    for (const auto& c : d->crlDue()) {
      auto [it, fresh] = byFile.emplace(c.file, Use{&c, d->name()});
      if (!fresh) it->second.domains += ", " + d->name();
    }
  }
  std::string expired;
  std::lock_guard lk(crlMu_);
  for (const auto& [file, u] : byFile) {
    const std::string what = "CRL " + file + " of CA '" + u.due->issuer + "' (TLS domain" +
                             (u.domains.find(',') != std::string::npos ? "s " : " ") + u.domains + ")";
    int& warned = crlWarned_[file];
    if (u.due->at <= now) {
      expired += (expired.empty() ? "" : "\n") + what + " expired: its nextUpdate " + u.due->nextUpdate +
                 " has passed, so every certificate of that CA is refused; publish a new CRL (tools/sipsd-ca crl)";
      if (warned < 2 && logExpired) logging::write(kLogErr, "tls", what + " has expired (nextUpdate " + u.due->nextUpdate +
                                                                 "): every certificate of that CA is now refused");
      if (logExpired) warned = 2;
    } else if (u.due->at - now <= 24 * 3600) {
      if (warned < 1) {
        logging::write(kLogWarn, "tls", what + " expires within a day (nextUpdate " + u.due->nextUpdate +
                                            "); after that every certificate of that CA is refused: publish a new CRL");
      }
      warned = 1;
    } else {
      warned = 0;  // renewed: warn again next time it runs out
      // expiry_warning_days ahead: a reminder a day (the expiry monitor leaves CRLs to this one
      // path, so each CRL gets one line per event, not one per domain and path).
      const int days = ops_ ? ops_->expiryWarningDays() : 0;
      const time_t left = u.due->at - now;
      time_t& last = crlWindowLogged_[file];
      if (days > 0 && left < time_t(days) * 86400) {
        if (last == 0 || now - last >= 86400) {
          last = now;
          logging::write(kLogWarn, "tls", what + " reaches its nextUpdate " + u.due->nextUpdate + ", in " +
                                              std::to_string(left / 86400) + " days " + std::to_string(left % 86400 / 3600) +
                                              " hours (expiry_warning_days " + std::to_string(days) + ")");
        }
      } else {
        last = 0;
      }
    }
  }
  return expired;
}

void TlsModule::warnUnusedDomains(const TlsDomainSet& set) {
  if (!core_) return;
  const std::vector<std::string> listens = core_->listenAddresses(Proto::TLS);
  std::string all;
  for (const auto& l : listens) all += (all.empty() ? "" : ", ") + l;
  for (const auto& d : set.all()) {
    const std::string& addr = d->id().addr;
    if (d->side() != Side::Server || addr == "default" || addr == "any") continue;
    const std::string port = addr.substr(addr.rfind(':') + 1);
    const bool v6 = addr[0] == '[';
    bool used = false;
    for (const auto& l : listens) {
      // A wildcard listener accepts on every address of the port; its connections carry the
      // real local address, which the domain lookup uses.
      used = used || l == addr || l == (v6 ? "[::]:" : "0.0.0.0:") + port;
    }
    if (used) continue;
    auto at = declaredAt_.find(d->name());
    std::string where = at != declaredAt_.end() && !at->second.file.empty() ? at->second.str() + ": " : "";
    logging::write(kLogWarn, "tls",
                   where + "TLS domain " + d->name() + " is for " + addr + ", but no listen=tls: uses that address (" +
                       (all.empty() ? std::string("no TLS listener") : "TLS listeners: " + all) +
                       "); it will never serve a connection");
  }
}

void TlsModule::tick() {
  ++ticks_;
  if (auto set = transport_->current()) checkCrlDates(*set, true);
  if (ring_ && ring_->rotateIfDue()) logging::write(kLogInfo, "tls", "rotated the session ticket key");
  if (g_.watchInterval > 0 && ticks_ % g_.watchInterval == 0) checkFiles();
}

void TlsModule::startNotifier() {
  if (!initialized_ || g_.disabled || g_.watchInterval == 0 || !g_.watchInotify || notifier_.running()) return;
  if (std::string e = notifier_.start(); !e.empty()) {
    logging::write(kLogWarn, "tls", "no inotify (" + e + "): changed TLS files are found by polling every " +
                                        std::to_string(g_.watchInterval) + " s");
  }
}

void TlsModule::buildExports() {
  ModuleExports& x = exports_;
  x.name = "tls";
  // Every setting of the table under its name, and under Kamailio's modparam names.
  for (const auto& s : settingTable()) {
    if (!s.modparam) continue;
    std::string n(s.name);
    x.params.push_back({n, ParamType::Any, [this, n](const ParamValue& v) { return setParam(n, v); }});
    for (std::string_view k : s.kamailioParams) {
      x.params.push_back({std::string(k), ParamType::Any, [this, n](const ParamValue& v) { return setParam(n, v); }});
    }
  }
  for (auto& p : kamailioParams(*this)) x.params.push_back(std::move(p));  // accepted for Kamailio configs
  ops_ = std::make_unique<TlsOps>(*this);
  x.functions = tlsFunctions(*this);
  x.selects.push_back(tlsSelectExport());
  x.rpcs = tlsRpcMethods(*this);
  x.transports.push_back({Proto::TLS, transport_});
  x.claimGlobal = [this](const std::string& n, const ParamValue& v) { return claimGlobal(n, v); };
  x.claimBlock = [this](const CfgBlock& b) { return claimBlock(b); };
  x.init = [this](CoreApi& core) { return init(&core); };
  x.reload = [this] { return reload("SIGHUP", nullptr); };
  // Worker-init hooks run only in the running server (never under `sipsd -c`; see
  // ModuleExports::workerInit): worker 0's call is the place to start the inotify thread.
  x.workerInit = [this](CoreApi&, int worker) -> Result<void> {
    if (worker == 0) startNotifier();
    return {};
  };
  x.destroy = [this] { notifier_.stop(); };
}

}  // namespace sipsd::tls

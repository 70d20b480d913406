// The TLS module: collects configuration (modparams, legacy keywords, tls_domain blocks, the
// domain file), builds and publishes domain sets (init, reload, on-disk changes), and
// exports everything the core loads: params, claims, selects, functions, RPCs, transport.
#pragma once
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/module_api.h"
#include "tls/dir_notifier.h"
#include "tls/file_watcher.h"
#include "tls/ticket_keys.h"
#include "tls/tls_config.h"
#include "tls/tls_ops.h"
#include "tls/tls_transport.h"

namespace sipsd::tls {

// What one reload did, for tls.reload and the log line.
struct ReloadReport {
  std::vector<std::string> changes;  // "added X", "changed X", "removed X"
  std::vector<std::string> rebuilt;  // domains that got a new SSL_CTX
  size_t kept = 0;                   // domains taken over unchanged (sessions kept)
  double ms = 0;                     // how long the reload took
};

class TlsModule {
 public:
  TlsModule();
  ~TlsModule();
  TlsModule(const TlsModule&) = delete;
  TlsModule& operator=(const TlsModule&) = delete;

  const ModuleExports& exports() const { return exports_; }

  // Configuration input (before init).
  // (The module's ModuleExports hooks; claims say true when the name/block is the module's.)
  Result<void> setParam(const std::string& name, const ParamValue& v);
  Result<bool> claimGlobal(const std::string& name, const ParamValue& v);
  Result<bool> claimBlock(const CfgBlock& b);

  // Builds and validates the domain set (also what `sipsd -c` runs). `core` may be null.
  Result<void> init(CoreApi* core);
  // Rebuilds everything from the configuration and the files on disk. On failure keeps the
  // running set and says why. `changes` receives what differs ("changed server:default").
  Result<void> reload(std::vector<std::string>* changes = nullptr);
  // The same, saying what asked for it ("tls.reload", "SIGHUP", "files changed: PATH") in the
  // one log line every reload writes, and filling `report`.
  Result<void> reload(const std::string& trigger, ReloadReport* report);
  // One tick of the on-disk watcher: reloads when a watched file changed. Returns true when
  // a reload was attempted.
  bool checkFiles();
  // Timer work: watcher (every watch_interval) and ticket key rotation.
  void tick();

  TlsTransport& transport() { return *transport_; }
  // The core's API once init() ran (null before, and under `sipsd -c`); tls.kill uses it.
  CoreApi* core() const { return core_; }
  const GlobalConfig& globals() const { return g_; }
  TicketKeyRing* ticketKeys() { return ring_.get(); }
  const std::string& lastReloadError() const { return lastReloadError_; }

 private:
  std::string setDomainParam(const std::string& name, const ParamValue& v, const char* origin);
  std::string setGlobal(const std::string& name, const ParamValue& v);
  std::shared_ptr<const TlsDomainSet> buildSet(std::string& err, const TlsDomainSet* previous = nullptr);
  std::vector<std::string> watchedPaths(const TlsDomainSet& set) const;
  void buildExports();
  // Starts the inotify thread (running server only, not `sipsd -c`).
  void startNotifier();
  // CRLs whose nextUpdate has passed (returned as an error text naming file, CA and date) and,
  // logged once each, those due within a day; those within expiry_warning_days once a day. The
  // one place CRL expiry is logged. With CRL checks on, an expired CRL refuses every
  // certificate of its CA, management clients included.
  // `logExpired`: also log the expired ones (once each), for the timer's check.
  std::string checkCrlDates(const TlsDomainSet& set, bool logExpired);
  // Warns about server domains for an address no listen=tls: uses (they would never serve).
  void warnUnusedDomains(const TlsDomainSet& set);

  TlsConfig params_;  // from modparams, keywords and blocks; fixed after init
  GlobalConfig g_;
  std::map<std::string, SourceLoc> globalsAt_;  // where each global was set (conflicts)
  std::shared_ptr<TlsTransport> transport_;
  std::shared_ptr<TicketKeyRing> ring_;
  FileWatcher watcher_;
  std::mutex reloadMu_;  // reloads (RPC, SIGHUP, watcher) run one at a time
  std::string lastReloadError_;
  int ticks_ = 0;
  bool initialized_ = false;
  CoreApi* core_ = nullptr;
  ModuleExports exports_;
  std::unique_ptr<TlsOps> ops_;  // expiry warnings and metrics
  std::map<std::string, SourceLoc> declaredAt_;  // domain name -> where it was configured
  std::mutex crlMu_;                      // crlWarned_ (timer thread, reloads)
  std::map<std::string, int> crlWarned_;  // CRL file -> 1 due soon / 2 expired, logged once
  std::map<std::string, time_t> crlWindowLogged_;  // CRL file -> last expiry_warning_days reminder (crlMu_)
  // Last member: destroyed (thread joined) before anything its callback uses.
  DirNotifier notifier_{[this] { checkFiles(); }};
};

}  // namespace sipsd::tls

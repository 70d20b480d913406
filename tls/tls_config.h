// The TLS module's configuration model: which domains exist and what each one says, with the
// source location of every setting (so a conflict names both places). Filled from modparams,
// legacy tls_* keywords, tls_domain[] blocks and the YAML domain file; turned into live
// TlsDomains by TlsDomainSet::build.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/module_api.h"
#include "core/source_loc.h"
#include "core/util/strings.h"

namespace sipsd::tls {

enum class Side : uint8_t { Server, Client };
std::string_view sideName(Side s);

// Identifies a domain: side, address ("default", "any" or canonical "ip:port") and an optional
// label that tells several domains on one address apart (SNI names on a listener, server ids).
struct DomainId {
  Side side = Side::Server;
  std::string addr = "default";
  std::string label;

  bool isDefault() const { return addr == "default" && label.empty(); }
  std::string str() const;  // "server:default", "server:1.2.3.4:5061/sip.example.org"
  bool operator<(const DomainId& o) const;
  bool operator==(const DomainId& o) const { return side == o.side && addr == o.addr && label == o.label; }

  // Parses "[server:|client:](default|any|IP:PORT|[IPv6]:PORT)[/LABEL]"; `defSide` applies
  // when no side prefix is given. Returns nullopt (and sets err) when it is not a selector.
  static std::optional<DomainId> parse(std::string_view text, Side defSide, std::string& err);
};

struct DomainConfig {
  DomainId id;
  std::map<std::string, ParamValue> settings;  // canonical name -> value (with its SourceLoc)
  SourceLoc declaredAt;                        // first place that mentioned the domain
  // A Media Gateway `peers` block was given: verify and require default to on.
  bool peersGiven = false;

  const ParamValue* get(const std::string& name) const;
};

// Global (not per-domain) settings. The defaults come from the settings table
// (tls/setting_table.h), which the constructor applies.
struct GlobalConfig {
  GlobalConfig();
  int handshakeTimeout;   // seconds
  int sendTimeout;        // seconds
  int tlsLog;             // log level of handshake diagnostics
  int sessionCache;       // server-side session cache entries; 0 = off
  bool sessionTickets;
  int ticketKeyLifetime;  // seconds a ticket key encrypts before rotating
  int watchInterval;      // seconds between on-disk change checks; 0 = off
  bool disabled;          // disable_tls
  std::string configFile; // modparam config (absolute)
  SourceLoc configFileLoc;
  bool watchInotify;      // inotify wakes the watcher at once (polling stays on as fallback)
  int expiryWarningDays;  // days before notAfter/nextUpdate that warnings start; 0 = off
};

class TlsConfig {
 public:
  // Sets `name` (canonical or alias) on domain `id`. Relative paths are resolved against
  // `baseDir`. Returns an error text naming both places when the setting is already set.
  std::string set(const DomainId& id, const std::string& name, ParamValue v, const std::string& baseDir);
  // Merges `other` into this; conflicts are errors naming both places.
  std::string merge(const TlsConfig& other);

  const std::map<DomainId, DomainConfig>& domains() const { return domains_; }
  const DomainConfig* find(const DomainId& id) const;
  // Makes sure domain `id` exists (e.g. an empty tls_domain[] block).
  void declare(const DomainId& id, const SourceLoc& loc);
  // Marks that a `peers` block configured client authentication for `id`.
  void markPeers(const DomainId& id, const SourceLoc& loc);

 private:
  std::map<DomainId, DomainConfig> domains_;
};

// Directory of a file path ("" -> "."), and path resolution against a base directory.
using str::dirOf;
using str::resolvePath;

// Boolean/int parsing for settings given as text ("1", "yes", "true", "on" ...).
std::optional<bool> parseBool(const ParamValue& v);
std::optional<int64_t> parseInt(const ParamValue& v);

}  // namespace sipsd::tls

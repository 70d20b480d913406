// The one table of TLS settings: name, scope, type, default, validation, where a setting takes
// effect, whether a change to it rebuilds the domain on reload, and the other names it goes by.
// Everything that reads or shows a setting is driven from it: the modparams and keywords
// (tls_module), the YAML domain file (domain_file), Kamailio's tls.cfg and modparams
// (ini_domain_file, kamailio_params), a domain's typed options and its reload digest
// (tls_domain), tls.options (tls_rpc) and the parameter table of tls/README.md (checked by a
// unit test). A new setting is one row here plus, where it reaches OpenSSL, its use in
// TlsDomain::build.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/module_api.h"
#include "core/rpc_value.h"
#include "tls/tls_config.h"

namespace sipsd::tls {

// The typed, effective settings of a domain (after inheritance from the side's default). The
// defaults come from the table (defaultOptions), not from these initialisers.
struct DomainOptions {
  std::string method;
  int minVersion = 0;
  int maxVersion = 0;  // 0: the highest the library supports
  std::string certificate, privateKey, caList, caPath, crl;
  bool crlEnabled = false;
  bool verifyCertificate = false;
  bool requireCertificate = false;
  int verifyDepth = 0;
  std::string cipherList, cipherSuites;
  std::string serverName;  // lower case
  std::string serverId;
};

enum class SettingScope : uint8_t {
  Domain,  // per domain; inherited from the side's default domain
  Global,  // one value for the module; fixed at start
};

enum class SettingType : uint8_t {
  File,       // a path, resolved against the directory of the file that names it
  Directory,  // the same, for a directory
  Text,       // free text (OpenSSL checks cipher strings when it builds the SSL_CTX)
  Name,       // a DNS name, kept in lower case
  Method,     // TLS protocol versions: TLSv1.2+, TLSv1.3, SSLv23 ...
  Bool,       // 0/1, yes/no, on/off, true/false, enable(d)/disable(d)
  Int,        // an integer in min..max
};

// Where a setting takes effect.
enum class SettingEffect : uint8_t {
  Versions,     // SSL_CTX min/max protocol version
  Ciphers,      // SSL_CTX cipher list / TLS 1.3 suites
  Identity,     // SSL_CTX certificate chain and key
  Trust,        // SSL_CTX X509_STORE (CAs, CRLs, hash dir)
  Verify,       // SSL_CTX verify mode and depth
  Choice,       // which domain serves a connection (SNI, server_id) and the SNI we send
  Connection,   // every TLS connection (core timers, log level)
  Resumption,   // SSL_CTX session cache and ticket keys of every domain
  Watching,     // the on-disk change watcher
  Setup,        // where the configuration comes from
  Operations,   // warnings and metrics
};

struct SettingSpec {
  std::string_view name;  // canonical (modparam, tls.options, README)
  SettingScope scope;
  SettingType type;
  SettingEffect effect;
  std::string_view def;        // default, in the form the setting is written ("" = none)
  std::string_view clientDef;  // client domains' default where it differs ("" = same)
  std::string_view noneText;   // README text for an empty default ("" = "none")
  int64_t min = 0, max = 0;    // Int range
  int64_t cap = 0;             // Int: larger values are taken as this (0 = none)
  // Names it is also accepted under: YAML/JSON domain file, keywords and tls_domain blocks
  // (Media Gateway and legacy names); Kamailio's tls.cfg; Kamailio's modparams.
  std::vector<std::string_view> aliases, iniNames, kamailioParams;
  // Globals: the keyword form (`tls_log=`), "" when there is none; and whether it is a
  // modparam at all (disable_tls is a keyword only).
  std::string_view keyword;
  bool modparam = true;
  // Where the value lives.
  std::string DomainOptions::*domainText = nullptr;
  bool DomainOptions::*domainFlag = nullptr;
  int DomainOptions::*domainNumber = nullptr;
  std::string GlobalConfig::*globalText = nullptr;
  bool GlobalConfig::*globalFlag = nullptr;
  int GlobalConfig::*globalNumber = nullptr;

  // A change rebuilds the domain on reload (its SSL_CTX and sessions): every domain setting is
  // part of the reload digest; a global is fixed at start.
  bool inDigest() const { return scope == SettingScope::Domain; }
  // Holds a file or directory path.
  bool isPath() const { return type == SettingType::File || type == SettingType::Directory; }
  // The default as tls/README.md shows it: "none", "TLSv1.2+", "server 0, client 1" ...
  std::string defaultText() const;
  // What it applies to, and when a change takes effect, as tls/README.md shows them.
  std::string appliesText() const;
  std::string changeText() const;
};

// Every setting, in README order.
const std::vector<SettingSpec>& settingTable();
// By canonical name; null when there is none.
const SettingSpec* findSetting(std::string_view name);
// A domain setting by canonical name or alias (YAML, keywords, blocks); null when unknown.
const SettingSpec* findDomainSetting(std::string_view nameOrAlias);
// A domain setting by a Kamailio tls.cfg name (or its canonical name); null when unknown.
const SettingSpec* findIniSetting(std::string_view iniName);

// The defaults of a domain of `side`.
DomainOptions defaultOptions(Side side);
// Checks `v` and stores it in `o` (domain settings) or `g` (globals). Returns "" or what is
// wrong with the value ("must be 0 or 1, not 'x'"); the caller says which setting and where.
std::string applySetting(const SettingSpec& s, const ParamValue& v, DomainOptions& o);
std::string applySetting(const SettingSpec& s, const ParamValue& v, GlobalConfig& g);
// The effective value, typed, for tls.options.
RpcValue settingValue(const SettingSpec& s, const DomainOptions& o);
RpcValue settingValue(const SettingSpec& s, const GlobalConfig& g);
// The effective value as text (reload digest).
std::string settingText(const SettingSpec& s, const DomainOptions& o);

// Parses a method text into min/max protocol versions (0 = library limit).
bool parseMethod(std::string_view m, int& minV, int& maxV);

}  // namespace sipsd::tls

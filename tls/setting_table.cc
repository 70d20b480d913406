// The TLS settings table and the typed reading, defaults and display every consumer shares.
#include "tls/setting_table.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <type_traits>

namespace sipsd::tls {
namespace {

using S = SettingScope;
using T = SettingType;
using E = SettingEffect;

constexpr int64_t kMaxGlobal = 100000000;

// One row; the type of `field` says the scope and where the value is stored.
template <class Field>
SettingSpec row(std::string_view name, T type, E effect, std::string_view def, Field field) {
  SettingSpec s{};
  s.name = name;
  s.type = type;
  s.effect = effect;
  s.def = def;
  s.scope = S::Domain;
  if constexpr (std::is_same_v<Field, std::string DomainOptions::*>) s.domainText = field;
  else if constexpr (std::is_same_v<Field, bool DomainOptions::*>) s.domainFlag = field;
  else if constexpr (std::is_same_v<Field, int DomainOptions::*>) s.domainNumber = field;
  else {
    s.scope = S::Global;
    if constexpr (std::is_same_v<Field, std::string GlobalConfig::*>) s.globalText = field;
    else if constexpr (std::is_same_v<Field, bool GlobalConfig::*>) s.globalFlag = field;
    else s.globalNumber = field;
  }
  return s;
}

// An integer row with its range.
template <class Field>
SettingSpec number(std::string_view name, E effect, std::string_view def, int64_t min, int64_t max, Field field) {
  SettingSpec s = row(name, T::Int, effect, def, field);
  s.min = min;
  s.max = max;
  return s;
}

std::vector<SettingSpec> makeTable() {
  using D = DomainOptions;
  using G = GlobalConfig;
  std::vector<SettingSpec> t;
  // ---- per domain --------------------------------------------------------------------------
  auto& method = t.emplace_back(row("method", T::Method, E::Versions, "TLSv1.2+", &D::method));
  method.aliases = {"tls_method"};
  method.iniNames = {"tls_method"};
  method.kamailioParams = {"tls_method"};
  t.emplace_back(row("certificate", T::File, E::Identity, "", &D::certificate)).aliases = {"identity.certificate"};
  t.back().iniNames = {"cert_file"};
  t.emplace_back(row("private_key", T::File, E::Identity, "", &D::privateKey)).aliases = {"identity.key", "key",
                                                                                          "certificate_key"};
  t.back().iniNames = {"pkey_file"};
  t.emplace_back(row("ca_list", T::File, E::Trust, "", &D::caList)).aliases = {"root_certificate"};
  t.back().iniNames = {"calist_file"};
  t.emplace_back(row("ca_path", T::Directory, E::Trust, "", &D::caPath)).aliases = {
      "peers.lookup_hash_directory", "lookup_hash_directory", "certificate_directory"};
  t.emplace_back(row("crl", T::File, E::Trust, "", &D::crl));
  t.emplace_back(row("crl_enabled", T::Bool, E::Trust, "0", &D::crlEnabled)).aliases = {"peers.crl_enabled"};
  auto& verify = t.emplace_back(row("verify_certificate", T::Bool, E::Verify, "0", &D::verifyCertificate));
  verify.clientDef = "1";
  verify.aliases = {"verify"};
  verify.iniNames = {"verify_cert"};
  t.emplace_back(row("require_certificate", T::Bool, E::Verify, "0", &D::requireCertificate)).iniNames = {
      "require_cert"};
  t.emplace_back(number("verify_depth", E::Verify, "9", 0, 100, &D::verifyDepth));
  auto& ciphers = t.emplace_back(row("cipher_list", T::Text, E::Ciphers, "", &D::cipherList));
  ciphers.noneText = "library default";
  ciphers.aliases = {"ciphers_list"};
  t.emplace_back(row("cipher_suites", T::Text, E::Ciphers, "", &D::cipherSuites)).noneText = "library default";
  t.emplace_back(row("server_name", T::Name, E::Choice, "", &D::serverName));
  t.emplace_back(row("server_id", T::Text, E::Choice, "", &D::serverId));

  // ---- global ------------------------------------------------------------------------------
  t.emplace_back(number("handshake_timeout", E::Connection, "30", 1, kMaxGlobal, &G::handshakeTimeout)).keyword =
      "tls_handshake_timeout";
  t.emplace_back(number("send_timeout", E::Connection, "10", 1, kMaxGlobal, &G::sendTimeout)).keyword =
      "tls_send_timeout";
  auto& log = t.emplace_back(number("tls_log", E::Connection, "3", 0, kMaxGlobal, &G::tlsLog));
  log.cap = 4;  // kLogDebug: higher levels say nothing more
  log.keyword = "tls_log";
  t.emplace_back(number("session_cache", E::Resumption, "20480", 0, kMaxGlobal, &G::sessionCache));
  t.emplace_back(row("session_tickets", T::Bool, E::Resumption, "1", &G::sessionTickets));
  t.emplace_back(number("ticket_key_lifetime", E::Resumption, "3600", 1, kMaxGlobal, &G::ticketKeyLifetime));
  t.emplace_back(number("watch_interval", E::Watching, "1", 0, kMaxGlobal, &G::watchInterval));
  t.emplace_back(row("watch_inotify", T::Bool, E::Watching, "1", &G::watchInotify));
  t.emplace_back(row("config", T::File, E::Setup, "", &G::configFile));
  t.emplace_back(number("expiry_warning_days", E::Operations, "14", 0, 3650, &G::expiryWarningDays));
  auto& disable = t.emplace_back(row("disable_tls", T::Bool, E::Setup, "0", &G::disabled));
  disable.keyword = "disable_tls";
  disable.modparam = false;
  return t;
}

const char* effectText(E e) {
  switch (e) {
    case E::Versions: return "SSL_CTX protocol versions";
    case E::Ciphers: return "SSL_CTX ciphers";
    case E::Identity: return "SSL_CTX certificate and key";
    case E::Trust: return "SSL_CTX trust store";
    case E::Verify: return "SSL_CTX peer verification";
    case E::Choice: return "domain choice";
    case E::Connection: return "every connection";
    case E::Resumption: return "session resumption";
    case E::Watching: return "file watcher";
    case E::Setup: return "domain set";
    case E::Operations: return "warnings, metrics";
  }
  return "";
}

}  // namespace

const std::vector<SettingSpec>& settingTable() {
  static const std::vector<SettingSpec> table = makeTable();
  return table;
}

const SettingSpec* findSetting(std::string_view name) {
  for (const auto& s : settingTable()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const SettingSpec* findDomainSetting(std::string_view name) {
  for (const auto& s : settingTable()) {
    if (s.scope != S::Domain) continue;
    if (s.name == name || std::find(s.aliases.begin(), s.aliases.end(), name) != s.aliases.end()) return &s;
  }
  return nullptr;
}

const SettingSpec* findIniSetting(std::string_view name) {
  for (const auto& s : settingTable()) {
    if (s.scope != S::Domain) continue;
    if (s.name == name || std::find(s.iniNames.begin(), s.iniNames.end(), name) != s.iniNames.end()) return &s;
  }
  return nullptr;
}

std::string SettingSpec::defaultText() const {
  auto shown = [this](std::string_view d) {
    if (!d.empty()) return std::string(d);
    return noneText.empty() ? std::string("none") : std::string(noneText);
  };
  if (!clientDef.empty() && clientDef != def) return "server " + shown(def) + ", client " + shown(clientDef);
  return shown(def);
}

std::string SettingSpec::appliesText() const { return effectText(effect); }

std::string SettingSpec::changeText() const {
  return inDigest() ? "on reload (that domain is rebuilt)" : "at restart";
}

bool parseMethod(std::string_view text, int& minV, int& maxV) {
  std::string m = str::toLower(text);
  struct Entry {
    const char* name;
    int v;
  };
  static const Entry versions[] = {{"tlsv1.3", TLS1_3_VERSION}, {"tlsv1.2", TLS1_2_VERSION},
                                   {"tlsv1.1", TLS1_1_VERSION}, {"tlsv1.0", TLS1_VERSION},
                                   {"tlsv1", TLS1_VERSION}};
  if (m == "sslv23" || m == "any" || m == "tls") {
    minV = 0;
    maxV = 0;
    return true;
  }
  bool plus = !m.empty() && m.back() == '+';
  if (plus) m.pop_back();
  for (const auto& e : versions) {
    if (m == e.name) {
      minV = e.v;
      maxV = plus ? 0 : e.v;
      return true;
    }
  }
  return false;
}

namespace {

// The checks every scope shares; `text`, `flag` and `number` receive the typed value.
std::string check(const SettingSpec& s, const ParamValue& v, std::string& text, bool& flag, int64_t& number) {
  switch (s.type) {
    case T::Bool: {
      auto b = parseBool(v);
      if (!b) return "must be 0 or 1, not '" + v.text() + "'";
      flag = *b;
      return {};
    }
    case T::Int: {
      auto n = parseInt(v);
      if (!n || *n < s.min || *n > s.max) {
        return "must be a number " + std::to_string(s.min) + ".." + std::to_string(s.max) + ", not '" + v.text() + "'";
      }
      number = s.cap > 0 ? std::min(*n, s.cap) : *n;
      return {};
    }
    case T::Method: {
      int lo = 0, hi = 0;
      text = v.text();
      if (!parseMethod(text, lo, hi)) {
        return "has unknown value '" + text + "' (TLSv1.2+, TLSv1.3, TLSv1.2, TLSv1.1+, SSLv23 ...)";
      }
      return {};
    }
    case T::Name: text = str::toLower(v.text()); return {};
    case T::File:
    case T::Directory:
    case T::Text: text = v.text(); return {};
  }
  return {};
}

}  // namespace

std::string applySetting(const SettingSpec& s, const ParamValue& v, DomainOptions& o) {
  std::string text;
  bool flag = false;
  int64_t number = 0;
  if (std::string e = check(s, v, text, flag, number); !e.empty()) return e;
  if (s.domainText) o.*s.domainText = text;
  if (s.domainFlag) o.*s.domainFlag = flag;
  if (s.domainNumber) o.*s.domainNumber = int(number);
  if (s.type == T::Method) parseMethod(o.method, o.minVersion, o.maxVersion);
  return {};
}

std::string applySetting(const SettingSpec& s, const ParamValue& v, GlobalConfig& g) {
  std::string text;
  bool flag = false;
  int64_t number = 0;
  if (std::string e = check(s, v, text, flag, number); !e.empty()) return e;
  if (s.globalText) g.*s.globalText = text;
  if (s.globalFlag) g.*s.globalFlag = flag;
  if (s.globalNumber) g.*s.globalNumber = int(number);
  return {};
}

DomainOptions defaultOptions(Side side) {
  DomainOptions o;
  for (const auto& s : settingTable()) {
    if (s.scope != S::Domain) continue;
    std::string_view d = side == Side::Client && !s.clientDef.empty() ? s.clientDef : s.def;
    ParamValue v;
    v.str = std::string(d);
    applySetting(s, v, o);  // the table's own defaults are valid
  }
  return o;
}

GlobalConfig::GlobalConfig() {
  for (const auto& s : settingTable()) {
    if (s.scope != S::Global) continue;
    ParamValue v;
    v.str = std::string(s.def);
    applySetting(s, v, *this);
  }
}

RpcValue settingValue(const SettingSpec& s, const DomainOptions& o) {
  if (s.domainFlag) return RpcValue(o.*s.domainFlag);
  if (s.domainNumber) return RpcValue(int64_t(o.*s.domainNumber));
  return RpcValue(s.domainText ? o.*s.domainText : std::string());
}

RpcValue settingValue(const SettingSpec& s, const GlobalConfig& g) {
  if (s.globalFlag) return RpcValue(g.*s.globalFlag);
  if (s.globalNumber) return RpcValue(int64_t(g.*s.globalNumber));
  return RpcValue(s.globalText ? g.*s.globalText : std::string());
}

std::string settingText(const SettingSpec& s, const DomainOptions& o) {
  if (s.domainFlag) return o.*s.domainFlag ? "1" : "0";
  if (s.domainNumber) return std::to_string(o.*s.domainNumber);
  return s.domainText ? o.*s.domainText : std::string();
}

}  // namespace sipsd::tls

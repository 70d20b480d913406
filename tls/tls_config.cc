// Domain identities, setting names/aliases and conflict-checked assignment.
#include "tls/tls_config.h"

#include <algorithm>
#include <tuple>

#include "core/net/sock_addr.h"
#include "tls/setting_table.h"

namespace sipsd::tls {

std::string_view sideName(Side s) { return s == Side::Server ? "server" : "client"; }

std::string DomainId::str() const {
  std::string r(sideName(side));
  r += ':';
  r += addr;
  if (!label.empty()) {
    r += '/';
    r += label;
  }
  return r;
}

bool DomainId::operator<(const DomainId& o) const {
  return std::tie(side, addr, label) < std::tie(o.side, o.addr, o.label);
}

std::optional<DomainId> DomainId::parse(std::string_view text, Side defSide, std::string& err) {
  DomainId id;
  id.side = defSide;
  std::string_view t = text;
  if (t.substr(0, 7) == "server:") {
    id.side = Side::Server;
    t.remove_prefix(7);
  } else if (t.substr(0, 7) == "client:") {
    id.side = Side::Client;
    t.remove_prefix(7);
  }
  // The label starts at the first '/' (IPv6 addresses are bracketed, so no '/' inside).
  auto slash = t.find('/');
  std::string_view addr = t.substr(0, slash);
  if (slash != std::string_view::npos) {
    id.label = str::toLower(t.substr(slash + 1));
    if (id.label.empty()) {
      err = "empty label after '/' in domain selector '" + std::string(text) + "'";
      return std::nullopt;
    }
  }
  if (addr == "default" || addr == "any") {
    id.addr = std::string(addr);
    if (id.addr == "any" && id.label.empty()) {
      err = "domain selector 'any' needs a label (any/NAME) in '" + std::string(text) + "'";
      return std::nullopt;
    }
    return id;
  }
  auto sa = SockAddr::fromString(addr);
  if (!sa) {
    err = "'" + std::string(text) + "' is not a domain selector ([server:|client:](default|IP:PORT)[/NAME])";
    return std::nullopt;
  }
  id.addr = sa->str();
  return id;
}

const ParamValue* DomainConfig::get(const std::string& name) const {
  auto it = settings.find(name);
  return it == settings.end() ? nullptr : &it->second;
}

static std::string where(const SourceLoc& l) {
  return l.file.empty() ? std::string("(built-in)") : l.str();
}

std::string TlsConfig::set(const DomainId& id, const std::string& rawName, ParamValue v,
                           const std::string& baseDir) {
  const SettingSpec* spec = findDomainSetting(rawName);
  if (!spec) return "unknown TLS domain setting '" + rawName + "'";
  const std::string name(spec->name);
  if (spec->isPath()) {
    if (v.isInt) v.str = std::to_string(v.num), v.isInt = false;
    if (v.str.empty()) return "'" + name + "' for domain " + id.str() + " is empty";
    v.str = resolvePath(v.str, baseDir);
  }
  auto [it, inserted] = domains_.try_emplace(id);
  DomainConfig& d = it->second;
  if (inserted) {
    d.id = id;
    d.declaredAt = v.loc;
  }
  auto prev = d.settings.find(name);
  if (prev != d.settings.end()) {
    return "'" + name + "' for TLS domain " + id.str() + " is set twice: at " + where(prev->second.loc) + " and at " +
           where(v.loc);
  }
  d.settings.emplace(name, std::move(v));
  return {};
}

std::string TlsConfig::merge(const TlsConfig& other) {
  for (const auto& [id, dom] : other.domains_) {
    auto [it, inserted] = domains_.try_emplace(id);
    if (inserted) {
      it->second.id = id;
      it->second.declaredAt = dom.declaredAt;
    }
    it->second.peersGiven = it->second.peersGiven || dom.peersGiven;
    for (const auto& [name, v] : dom.settings) {
      auto prev = it->second.settings.find(name);
      if (prev != it->second.settings.end()) {
        return "'" + name + "' for TLS domain " + id.str() + " is set twice: at " + where(prev->second.loc) +
               " and at " + where(v.loc);
      }
      it->second.settings.emplace(name, v);
    }
  }
  return {};
}

const DomainConfig* TlsConfig::find(const DomainId& id) const {
  auto it = domains_.find(id);
  return it == domains_.end() ? nullptr : &it->second;
}

void TlsConfig::declare(const DomainId& id, const SourceLoc& loc) {
  auto [it, inserted] = domains_.try_emplace(id);
  if (inserted) {
    it->second.id = id;
    it->second.declaredAt = loc;
  }
}

void TlsConfig::markPeers(const DomainId& id, const SourceLoc& loc) {
  auto [it, inserted] = domains_.try_emplace(id);
  if (inserted) {
    it->second.id = id;
    it->second.declaredAt = loc;
  }
  it->second.peersGiven = true;
}

std::optional<bool> parseBool(const ParamValue& v) {
  if (v.isInt) return v.num != 0;
  std::string s = str::toLower(v.str);
  if (s == "1" || s == "yes" || s == "true" || s == "on" || s == "enable" || s == "enabled") return true;
  if (s == "0" || s == "no" || s == "false" || s == "off" || s == "disable" || s == "disabled") return false;
  return std::nullopt;
}

std::optional<int64_t> parseInt(const ParamValue& v) {
  if (v.isInt) return v.num;
  if (v.str.empty()) return std::nullopt;
  int64_t r = 0;
  size_t i = 0;
  bool neg = false;
  if (v.str[0] == '-') neg = true, i = 1;
  if (i == v.str.size()) return std::nullopt;
  for (; i < v.str.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(v.str[i]))) return std::nullopt;
    r = r * 10 + (v.str[i] - '0');
    if (r > (int64_t(1) << 40)) return std::nullopt;
  }
  return neg ? -r : r;
}

}  // namespace sipsd::tls

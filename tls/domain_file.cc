// YAML domain file reader (yaml-cpp).
#include "tls/domain_file.h"

#include "tls/ini_domain_file.h"
#include "tls/setting_table.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sipsd::tls {
namespace {

struct Reader {
  std::string path;
  std::string baseDir;
  TlsConfig& out;

  SourceLoc loc(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    return SourceLoc{path, m.line + 1, m.column + 1};
  }
  std::string at(const YAML::Node& n) const { return loc(n).str() + ": "; }

  std::string setting(const DomainId& id, const std::string& name, const YAML::Node& v) {
    if (!v.IsScalar()) return at(v) + "TLS setting '" + name + "' of domain " + id.str() + " must be a single value";
    const SettingSpec* spec = findDomainSetting(name);
    if (!spec) return at(v) + "unknown TLS setting '" + name + "' in domain " + id.str();
    const std::string canon(spec->name);
    ParamValue pv;
    pv.str = v.Scalar();
    pv.loc = loc(v);
    std::string e = out.set(id, canon, pv, baseDir);
    return e.empty() ? e : at(v) + e;
  }

  std::string domain(const DomainId& id, const YAML::Node& body, const std::string& prefix) {
    if (!body.IsMap()) return at(body) + "TLS domain " + id.str() + " must be a map of settings";
    for (const auto& kv : body) {
      std::string key = kv.first.as<std::string>();
      const YAML::Node& v = kv.second;
      if (v.IsMap()) {
        // identity: {certificate, key}; peers: {lookup_hash_directory, crl_enabled}
        if (prefix.empty() && key == "peers" && id.side == Side::Server) out.markPeers(id, loc(kv.first));
        if (prefix.empty() && (key == "identity" || key == "peers")) {
          if (std::string e = domain(id, v, key + "."); !e.empty()) return e;
          continue;
        }
        return at(kv.first) + "unknown TLS setting group '" + key + "' in domain " + id.str();
      }
      std::string name = prefix + key;
      // "peers.ca_list" and the like: a SER name inside a Media Gateway group.
      if (!findDomainSetting(name) && findDomainSetting(key)) name = key;
      if (std::string e = setting(id, name, v); !e.empty()) return e;
    }
    return {};
  }

  std::string side(Side s, const YAML::Node& n) {
    if (!n.IsMap()) return at(n) + "'" + std::string(sideName(s)) + "' must map domain selectors to settings";
    for (const auto& kv : n) {
      std::string key = kv.first.as<std::string>();
      std::string err;
      auto id = DomainId::parse(key, s, err);
      if (!id) return at(kv.first) + err;
      if (id->side != s) {
        return at(kv.first) + "domain '" + key + "' is listed under '" + std::string(sideName(s)) + "'";
      }
      if (std::string e = domain(*id, kv.second, ""); !e.empty()) return e;
    }
    return {};
  }
};

}  // namespace

std::string DomainFile::load(const std::string& path, TlsConfig& out, const std::string& mainConfigDir) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return IniDomainFile::loadDir(path, mainConfigDir, out);
  std::ifstream in(path, std::ios::binary);
  if (!in) return path + ": cannot open TLS domain file: " + std::strerror(errno);
  std::stringstream text;
  text << in.rdbuf();
  if (IniDomainFile::looksLikeIni(text.str())) return IniDomainFile::load(path, text.str(), mainConfigDir, out);
  YAML::Node root;
  try {
    root = YAML::Load(text.str());
  } catch (const YAML::Exception& e) {
    return path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) + ": " + e.msg;
  }
  Reader r{path, dirOf(path), out};
  if (root.IsNull()) return {};
  if (!root.IsMap()) return path + ":1:1: a TLS domain file is a map with 'server' and/or 'client'";
  try {
    for (const auto& kv : root) {
      std::string key = kv.first.as<std::string>();
      std::string e;
      if (key == "server") e = r.side(Side::Server, kv.second);
      else if (key == "client") e = r.side(Side::Client, kv.second);
      else e = r.at(kv.first) + "unknown section '" + key + "' (expected 'server' or 'client')";
      if (!e.empty()) return e;
    }
  } catch (const YAML::Exception& e) {
    return path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) + ": " + e.msg;
  }
  return {};
}

}  // namespace sipsd::tls

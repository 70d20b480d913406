// Kamailio tls.cfg reader: sections and settings into TlsConfig, differences as warnings.
#include "tls/ini_domain_file.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "core/log.h"
#include "core/module_api.h"
#include "tls/setting_table.h"

namespace sipsd::tls {
namespace {

struct Setting {
  std::string name;   // as written (lower case)
  std::string value;  // unquoted, comment stripped
  SourceLoc loc;      // of the value
  SourceLoc nameLoc;  // of the name
};

struct Section {
  Side side = Side::Server;
  std::string addr;  // "default", "any" or canonical "ip:port"
  SourceLoc loc;     // of the '['
  std::vector<Setting> items;
};

std::string_view trim(std::string_view s) { return str::trim(s, str::kSpace); }

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

void warn(const SourceLoc& at, const std::string& text) {
  logging::write(kLogWarn, "tls", at.str() + ": warning: " + text);
}

// Kamailio's own names for one setting (the table's iniNames), mapped to sipsd's canonical
// names. Settings sipsd has beyond Kamailio's (crl_enabled, cipher_suites) are taken under their
// own names; an unknown name stays as it is.
std::string canonicalIni(const std::string& name) {
  const SettingSpec* s = findIniSetting(name);
  return s ? std::string(s->name) : name;
}

// What the error for an unknown setting lists: every domain setting and Kamailio's two
// section-level ones.
std::string knownIniSettings() {
  std::string r;
  for (const auto& s : settingTable()) {
    if (s.scope == SettingScope::Domain) r += (r.empty() ? "" : ", ") + std::string(s.name);
  }
  return r + ", verify_client, server_name_mode";
}

class Reader {
 public:
  Reader(const std::string& mainDir, TlsConfig& out) : mainDir_(mainDir), out_(out) {}

  // Splits one file into sections. Errors are "FILE:LINE:COL: what".
  std::string parse(const std::string& path, std::string_view text) {
    Section* cur = nullptr;
    int lineNo = 0;
    size_t pos = 0;
    while (pos <= text.size()) {
      size_t eol = text.find('\n', pos);
      if (eol == std::string_view::npos) eol = text.size();
      std::string_view raw = text.substr(pos, eol - pos);
      pos = eol + 1;
      ++lineNo;
      if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
      std::string_view line = trim(raw);
      if (line.empty() || line.front() == '#') continue;
      const int col = int(raw.find(line.front())) + 1;
      SourceLoc at{path, lineNo, col};
      if (line.front() == '[') {
        sections_.emplace_back();
        cur = &sections_.back();
        cur->loc = at;
        if (std::string e = header(line, *cur); !e.empty()) return at.str() + ": " + e;
        continue;
      }
      auto eq = line.find('=');
      if (eq == std::string_view::npos) return at.str() + ": expected 'name = value' or a [section] header";
      if (!cur) return at.str() + ": setting before the first [server:...] or [client:...] section";
      Setting s;
      s.name = str::toLower(trim(line.substr(0, eq)));
      s.nameLoc = at;
      std::string_view v = trim(line.substr(eq + 1));
      // Column of the value (of the '=' when the value is empty), for diagnostics.
      const size_t eqRaw = raw.find('=');
      size_t vcol = std::min(raw.find_first_not_of(str::kSpace, eqRaw + 1), raw.size());
      s.loc = SourceLoc{path, lineNo, int(v.empty() ? eqRaw : vcol) + 1};
      if (!v.empty() && v.front() == '"') {
        auto close = v.find('"', 1);
        if (close == std::string_view::npos) return s.loc.str() + ": missing closing '\"'";
        s.value = std::string(v.substr(1, close - 1));
        std::string_view rest = trim(v.substr(close + 1));
        if (!rest.empty() && rest.front() != '#') return s.loc.str() + ": unexpected text after the quoted value";
      } else {
        // A comment starts at a '#' that follows white space ("HIGH:!aNULL  # strong").
        for (size_t i = 1; i < v.size(); ++i) {
          if (v[i] == '#' && str::isSpace(v[i - 1])) {
            v = trim(v.substr(0, i));
            break;
          }
        }
        s.value = std::string(v);
      }
      if (s.name.empty()) return at.str() + ": empty setting name";
      cur->items.push_back(std::move(s));
    }
    return {};
  }

  // Turns the sections into domains (after every file was parsed, so ids are decided with the
  // whole picture).
  std::string apply() {
    for (Section& s : sections_) {
      if (std::string e = section(s); !e.empty()) return e;
    }
    return {};
  }

 private:
  std::string header(std::string_view line, Section& s) {
    if (line.back() != ']') return "section header must end with ']'";
    std::string inner(trim(line.substr(1, line.size() - 2)));
    auto colon = inner.find(':');
    if (colon == std::string::npos) return "section '[" + inner + "]' must be [server:...] or [client:...]";
    std::string type = str::toLower(trim(std::string_view(inner).substr(0, colon)));
    std::string rest(trim(std::string_view(inner).substr(colon + 1)));
    if (type == "server" || type == "srv" || type == "s") s.side = Side::Server;
    else if (type == "client" || type == "cli" || type == "c") s.side = Side::Client;
    else return "unknown TLS domain type '" + type + "' (server or client)";
    std::string r = str::toLower(rest);
    if (r == "default" || r == "def" || r == "*") {
      s.addr = "default";
      return {};
    }
    if (r == "any" || r == "all") {
      s.addr = "any";
      return {};
    }
    std::string err;
    auto id = DomainId::parse(rest, s.side, err);
    if (!id || id->addr == "default" || id->addr == "any" || !id->label.empty()) {
      return "'" + rest + "' is not default, any or IP:PORT ([IPv6]:PORT)";
    }
    s.addr = id->addr;
    return {};
  }

  std::string resolve(const std::string& v, const SourceLoc& at) {
    if (v.empty() || v.front() == '/') return v;
    std::string ours = resolvePath(v, dirOf(at.file));
    // Kamailio: "./x" is relative to the working directory, "x" to the main config's directory.
    std::string kam = v.front() == '.' ? v : resolvePath(v, mainDir_.empty() ? "." : mainDir_);
    if (ours != kam && !exists(ours) && exists(kam)) {
      warn(at, "'" + v + "' does not exist relative to this file's directory, where sipsd looks first; using " + kam +
                   ", where Kamailio looks");
      return kam;
    }
    return ours;
  }

  std::string set(const DomainId& id, const std::string& name, const std::string& value, const SourceLoc& at) {
    ParamValue pv;
    const SettingSpec* spec = findSetting(name);
    pv.str = spec && spec->isPath() ? resolve(value, at) : value;
    pv.loc = at;
    std::string e = out_.set(id, name, pv, "");
    return e.empty() ? e : at.str() + ": " + e;
  }

  std::string section(Section& s) {
    const std::string where = "[" + std::string(sideName(s.side)) + ":" + s.addr + "]";
    // Later settings win, as in Kamailio; say so, since sipsd's other inputs refuse doubles.
    std::map<std::string, const Setting*> eff;
    for (const Setting& it : s.items) {
      std::string canon = canonicalIni(it.name);
      bool special = canon == "server_name_mode" || canon == "verify_client";
      const SettingSpec* spec = findSetting(canon);
      if (!special && !(spec && spec->scope == SettingScope::Domain)) {
        return it.nameLoc.str() + ": unknown setting '" + it.name + "' in " + where + " (" + knownIniSettings() + ")";
      }
      auto [pos, fresh] = eff.emplace(canon, &it);
      if (!fresh) {
        warn(it.loc, "'" + it.name + "' is set again in " + where + " (first at line " +
                         std::to_string(pos->second->loc.line) + "); the later value wins, as in Kamailio");
        pos->second = &it;
      }
    }
    auto get = [&](const char* n) -> const Setting* {
      auto it = eff.find(n);
      return it == eff.end() ? nullptr : it->second;
    };

    // The name that tells domains on one address apart, and server_name_mode.
    std::string name = get("server_name") ? str::toLower(get("server_name")->value) : "";
    int mode = 0;
    if (const Setting* m = get("server_name_mode")) {
      ParamValue pv;
      pv.str = m->value;
      auto n = parseInt(pv);
      if (!n) return m->loc.str() + ": server_name_mode must be 0, 1 or 2, not '" + m->value + "'";
      if (s.side == Side::Client) {
        warn(m->loc, "server_name_mode has no meaning for a client domain here; ignored");
      } else if (name.empty()) {
        warn(m->loc, "server_name_mode without server_name; ignored");
      } else if (*n == 1 || *n == 2) {
        mode = int(*n);
        warn(m->loc, "server_name_mode " + std::to_string(mode) + ": sipsd matches '*." + name +
                         "' one label deep (a.NAME, not a.b.NAME); Kamailio matches subdomains at any depth");
      }
    }
    const std::string sniName = mode == 2 ? "*." + name : name;

    DomainId id{s.side, s.addr, ""};
    bool derivedId = false;  // a [client:any] whose server_name doubles as its id
    if (s.addr == "default") {
      if (auto [it, fresh] = firstAt_.emplace(id.str(), s.loc); !fresh) {
        return s.loc.str() + ": " + where + " appears twice (first at " + it->second.str() + ")";
      }
    } else if (s.side == Side::Server) {
      if (s.addr == "any" && sniName.empty()) {
        return s.loc.str() + ": " + where + " needs a server_name (it is chosen by SNI only)";
      }
      auto [it, fresh] = firstAt_.emplace(id.str(), s.loc);
      if (!fresh || s.addr == "any") {
        if (sniName.empty()) {
          return s.loc.str() + ": a second " + where + " (first at " + it->second.str() +
                 ") needs a server_name to tell them apart";
        }
        id.label = sniName;
      }
    } else {
      std::string sid = get("server_id") ? get("server_id")->value : "";
      if (s.addr == "any" && sid.empty() && !name.empty()) {
        warn(s.loc, where + " has no server_id; sipsd picks client domains on 'any' by server_id "
                    "(tls_set_connect_server_id), so server_name '" + name + "' serves as its id");
        sid = name;
        derivedId = true;
      }
      if (s.addr == "any" && sid.empty()) {
        return s.loc.str() + ": " + where + " needs a server_id (it is chosen by tls_set_connect_server_id only)";
      }
      auto [it, fresh] = firstAt_.emplace(id.str(), s.loc);
      if (!fresh || s.addr == "any") {
        std::string label = !sid.empty() ? sid : name;
        if (label.empty()) {
          return s.loc.str() + ": a second " + where + " (first at " + it->second.str() +
                 ") needs a server_id or server_name to tell them apart";
        }
        id.label = str::toLower(label);
      }
    }
    out_.declare(id, s.loc);

    // verify_client (Kamailio 5.5+) stands for the verify/require pair.
    std::map<std::string, std::pair<std::string, SourceLoc>> values;
    for (const auto& [canon, it] : eff) {
      if (canon == "server_name_mode" || canon == "verify_client" || canon == "server_name") continue;
      values[canon] = {it->value, it->loc};
    }
    if (const Setting* vc = get("verify_client")) {
      std::string v = str::toLower(vc->value);
      std::string verify, require;
      if (v == "off") verify = "0", require = "0";
      else if (v == "on") verify = "1", require = "1";
      else if (v == "optional") verify = "1", require = "0";
      else if (v == "optional_no_ca") {
        verify = "1", require = "0";
        warn(vc->loc, "verify_client = optional_no_ca: sipsd never accepts a certificate that fails verification; "
                      "treated as 'optional' (no certificate is fine, a bad one fails the handshake)");
      } else {
        return vc->loc.str() + ": verify_client must be off, on, optional or optional_no_ca, not '" + vc->value + "'";
      }
      if (s.side == Side::Client) {
        warn(vc->loc, "verify_client applies to server domains; ignored in " + where);
      } else {
        if (get("verify_certificate") || get("require_certificate")) {
          warn(vc->loc, "verify_client overrides verify_certificate/require_certificate in " + where);
        }
        values["verify_certificate"] = {verify, vc->loc};
        values["require_certificate"] = {require, vc->loc};
      }
    }
    if (auto it = values.find("method"); it != values.end()) {
      std::string m = str::toLower(it->second.first);
      if (m == "sslv2" || m == "sslv3") {
        return it->second.second.str() + ": method " + it->second.first +
               " is not available (OpenSSL 3 has no SSLv2/SSLv3); use TLSv1.2+";
      }
      if (m == "tlsv1" || m == "tlsv1.0" || m == "tlsv1.1") {
        warn(it->second.second, "method " + it->second.first + " allows only that one old version, which OpenSSL 3 "
                                "refuses at its default security level; TLSv1.2+ is what peers speak today");
      }
    }
    if (auto it = values.find("server_id"); it != values.end() && s.side == Side::Server) {
      warn(it->second.second, "server_id has no meaning for a server domain here (server domains are chosen by "
                              "listener and SNI); ignored");
      values.erase(it);
    }
    if (s.side == Side::Client && s.addr == "default" && !values.count("verify_certificate")) {
      warn(s.loc, where + " does not set verify_certificate: Kamailio then does not verify servers, sipsd does "
                  "(set verify_certificate = no for Kamailio's behaviour)");
    }
    if (s.side == Side::Client && !name.empty()) {
      warn(get("server_name")->loc, "server_name in a client domain: sipsd sends it as SNI and also requires the "
                                    "server certificate to carry that name (when verify_certificate is on)");
    }
    if (derivedId) values["server_id"] = {name, get("server_name")->loc};
    for (const auto& [canon, v] : values) {
      if (std::string e = set(id, canon, v.first, v.second); !e.empty()) return e;
    }
    if (!sniName.empty() && s.side == Side::Server) {
      if (std::string e = set(id, "server_name", sniName, get("server_name")->loc); !e.empty()) return e;
    } else if (!name.empty()) {
      if (std::string e = set(id, "server_name", name, get("server_name")->loc); !e.empty()) return e;
    }
    // server_name_mode 1: the name itself and its subdomains, i.e. a twin domain for "*.NAME".
    if (mode == 1) {
      DomainId twin{s.side, s.addr, "*." + name};
      out_.declare(twin, s.loc);
      for (const auto& [canon, v] : values) {
        if (std::string e = set(twin, canon, v.first, v.second); !e.empty()) return e;
      }
      if (std::string e = set(twin, "server_name", "*." + name, get("server_name")->loc); !e.empty()) return e;
    }
    return {};
  }

  std::string mainDir_;
  TlsConfig& out_;
  std::vector<Section> sections_;          // std::vector: Section* cur is re-taken after each push
  std::map<std::string, SourceLoc> firstAt_;  // first section of each side:addr
};

}  // namespace

bool IniDomainFile::looksLikeIni(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = trim(text.substr(pos, eol - pos));
    pos = eol + 1;
    if (line.empty() || line.front() == '#') continue;
    if (line.front() != '[' || line.back() != ']') return false;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return false;
    std::string type = str::toLower(trim(line.substr(1, colon - 1)));
    return type == "server" || type == "client" || type == "srv" || type == "cli" || type == "s" || type == "c";
  }
  return false;
}

std::string IniDomainFile::load(const std::string& path, std::string_view text, const std::string& mainConfigDir,
                                TlsConfig& out) {
  Reader r(mainConfigDir, out);
  if (std::string e = r.parse(path, text); !e.empty()) return e;
  return r.apply();
}

std::string IniDomainFile::loadDir(const std::string& dir, const std::string& mainConfigDir, TlsConfig& out) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return dir + ": cannot open TLS config directory: " + std::strerror(errno);
  std::vector<std::string> files;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.empty() || n.front() == '.') continue;
    struct stat st {};
    std::string p = dir + "/" + n;
    if (::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode)) files.push_back(p);
  }
  ::closedir(d);
  std::sort(files.begin(), files.end());
  Reader r(mainConfigDir, out);
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) return f + ": cannot open: " + std::strerror(errno);
    std::stringstream ss;
    ss << in.rdbuf();
    if (std::string e = r.parse(f, ss.str()); !e.empty()) return e;
  }
  return r.apply();
}

}  // namespace sipsd::tls

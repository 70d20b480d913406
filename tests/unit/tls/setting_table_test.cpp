// The TLS settings table: tls/README.md's parameter table agrees with it, every domain setting
// reaches the reload digest and tls.options, every reader resolves names through it.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "fixture.h"
#include "tls/domain_file.h"
#include "tls/setting_table.h"
#include "tls/tls_domain.h"
#include "tls/tls_domain_set.h"

using namespace sipsd;
using namespace sipsd::tls;
using namespace sipsd::tls::test;

namespace {

struct ReadmeRow {
  std::string def, applies, change;
  int line = 0;
};

std::string cell(std::string_view c) {
  std::string r(str::trim(c, " "));
  if (r.size() >= 2 && r.front() == '`' && r.back() == '`') r = r.substr(1, r.size() - 2);
  return r;
}

// The rows of the table under "## 2. Parameters" in tls/README.md, by parameter name.
std::map<std::string, ReadmeRow> readmeTable() {
  std::ifstream in(std::string(SIPSD_SOURCE_ROOT) + "/tls/README.md");
  REQUIRE(in);
  std::map<std::string, ReadmeRow> rows;
  std::string line;
  bool inSection = false, inTable = false;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.rfind("## ", 0) == 0) inSection = line.rfind("## 2. Parameters", 0) == 0;
    if (!inSection) continue;
    if (line.rfind("| parameter |", 0) == 0) {
      inTable = true;
      continue;
    }
    if (!inTable) continue;
    if (line.empty() || line[0] != '|') break;
    if (line.rfind("|---", 0) == 0) continue;
    std::vector<std::string_view> cells;
    std::string_view rest(line);
    rest.remove_prefix(1);
    for (size_t bar; (bar = rest.find('|')) != std::string_view::npos && cells.size() < 4; rest.remove_prefix(bar + 1)) {
      cells.push_back(rest.substr(0, bar));
    }
    REQUIRE_MESSAGE(cells.size() == 4, "tls/README.md:" << n << ": a parameter row has five columns");
    rows[cell(cells[0])] = ReadmeRow{cell(cells[1]), cell(cells[2]), cell(cells[3]), n};
  }
  return rows;
}

// A value other than the default for each setting whose digest test needs no file.
const std::map<std::string_view, std::string> kOtherValue = {
    {"method", "TLSv1.3"},          {"crl_enabled", "1"},           {"verify_certificate", "0"},
    {"require_certificate", "1"},   {"verify_depth", "3"},          {"cipher_list", "HIGH:!aNULL"},
    {"cipher_suites", "TLS_AES_128_GCM_SHA256"}, {"server_name", "up.example.org"}, {"server_id", "up"},
};

}  // namespace

TEST_CASE("settings table: README parameter table") {
  auto rows = readmeTable();
  std::set<std::string> code;
  for (const auto& s : settingTable()) {
    if (!s.modparam) continue;  // keyword-only (disable_tls) is documented with the keywords
    const std::string name(s.name);
    code.insert(name);
    auto it = rows.find(name);
    CHECK_MESSAGE(it != rows.end(), "tls/README.md §2 has no row for the setting '" << name << "'");
    if (it == rows.end()) continue;
    const ReadmeRow& r = it->second;
    CHECK_MESSAGE(r.def == s.defaultText(), "tls/README.md:" << r.line << ": default of '" << name << "' is '" << r.def
                                                             << "', the code says '" << s.defaultText() << "'");
    CHECK_MESSAGE(r.applies == s.appliesText(), "tls/README.md:" << r.line << ": '" << name << "' applies to '"
                                                                 << r.applies << "', the code says '" << s.appliesText() << "'");
    CHECK_MESSAGE(r.change == s.changeText(), "tls/README.md:" << r.line << ": a change of '" << name << "' takes effect '"
                                                               << r.change << "', the code says '" << s.changeText() << "'");
  }
  for (const auto& [name, r] : rows) {
    CHECK_MESSAGE(code.count(name), "tls/README.md:" << r.line << ": '" << name << "' is not a setting of the code's table");
  }
}

TEST_CASE("settings table: defaults and validation") {
  DomainOptions srv = defaultOptions(Side::Server), cli = defaultOptions(Side::Client);
  CHECK(srv.method == "TLSv1.2+");
  CHECK(srv.minVersion == TLS1_2_VERSION);
  CHECK(srv.maxVersion == 0);
  CHECK(srv.verifyDepth == 9);
  CHECK_FALSE(srv.verifyCertificate);
  CHECK(cli.verifyCertificate);
  const GlobalConfig g;
  CHECK(g.handshakeTimeout == 30);
  CHECK(g.sendTimeout == 10);
  CHECK(g.tlsLog == 3);
  CHECK(g.sessionCache == 20480);
  CHECK(g.sessionTickets);
  CHECK(g.watchInotify);
  CHECK(g.expiryWarningDays == 14);
  CHECK_FALSE(g.disabled);

  ParamValue v;
  v.str = "sometimes";
  CHECK(applySetting(*findSetting("verify_depth"), v, srv) == "must be a number 0..100, not 'sometimes'");
  CHECK(applySetting(*findSetting("crl_enabled"), v, srv) == "must be 0 or 1, not 'sometimes'");
  CHECK(applySetting(*findSetting("method"), v, srv).find("has unknown value 'sometimes'") == 0);
  GlobalConfig g2;
  v.str = "0";
  CHECK(applySetting(*findSetting("handshake_timeout"), v, g2) == "must be a number 1..100000000, not '0'");
  v.str = "9";
  CHECK(applySetting(*findSetting("tls_log"), v, g2) == "");
  CHECK(g2.tlsLog == 4);  // capped: higher levels say nothing more
}

TEST_CASE("settings table: every reader and alias resolves through it") {
  CHECK(findDomainSetting("identity.key")->name == "private_key");
  CHECK(findDomainSetting("peers.lookup_hash_directory")->name == "ca_path");
  CHECK(findDomainSetting("ciphers_list")->name == "cipher_list");
  CHECK(findDomainSetting("session_cache") == nullptr);  // a global, not a domain setting
  CHECK(findIniSetting("pkey_file")->name == "private_key");
  CHECK(findIniSetting("crl_enabled")->name == "crl_enabled");
  CHECK(findIniSetting("identity.key") == nullptr);  // Media Gateway names are not Kamailio's
  TlsModule m;
  std::set<std::string> params;
  for (const auto& p : m.exports().params) params.insert(p.name);
  for (const auto& s : settingTable()) {
    CHECK_MESSAGE(params.count(std::string(s.name)) == (s.modparam ? 1u : 0u), s.name);
    for (auto k : s.kamailioParams) CHECK_MESSAGE(params.count(std::string(k)) == 1, k);
  }
}

TEST_CASE("settings table: every domain setting changes the reload digest") {
  Pki p;
  auto digestWith = [&](std::string_view name, const std::string& value) {
    DomainConfig dc;
    dc.id = DomainId{Side::Client, "default", ""};
    if (!name.empty()) {
      ParamValue v;
      v.str = value;
      dc.settings.emplace(std::string(name), v);
    }
    std::string err;
    auto d = TlsDomain::create(dc, nullptr, GlobalConfig(), nullptr, err);
    REQUIRE_MESSAGE(d, name << ": " << err);
    return d->digest();
  };
  const std::string base = digestWith("", "");
  std::set<std::string> digests{base};
  for (const auto& s : settingTable()) {
    if (s.scope != SettingScope::Domain) continue;
    CHECK(s.inDigest());
    std::string value;
    if (s.isPath()) {
      // Files that load on a client domain: the certificate/key pair goes together below.
      if (s.name == "ca_list") value = p.caFile;
      else if (s.name == "ca_path") value = p.pki.dir();
      else continue;
    } else {
      auto it = kOtherValue.find(s.name);
      REQUIRE_MESSAGE(it != kOtherValue.end(), "no test value for the domain setting '" << s.name << "'");
      value = it->second;
    }
    std::string d = digestWith(s.name, value);
    CHECK_MESSAGE(digests.insert(d).second, "setting '" << s.name << "' does not change the digest");
  }
}

TEST_CASE("settings table: tls.options shows every setting") {
  Pki p;
  TlsModule m;
  REQUIRE(initModule(m, {{"certificate", pv(p.serverBase + ".crt")}, {"private_key", pv(p.serverBase + ".key")}}) == "");
  const RpcMethod* options = nullptr;
  for (const auto& r : m.exports().rpcs) {
    if (r.name == "tls.options") options = &r;
  }
  REQUIRE(options);
  RpcValue out = options->call({});
  const auto& top = std::get<RpcStruct>(out.v);
  std::set<std::string> globals, domain;
  for (const auto& [k, v] : top) {
    if (k == "global") {
      for (const auto& [n, x] : std::get<RpcStruct>(v.v)) globals.insert(n);
    } else if (k == "domains") {
      const auto& first = std::get<RpcStruct>(std::get<RpcArray>(v.v).at(0).v);
      for (const auto& [n, x] : first) domain.insert(n);
    }
  }
  for (const auto& s : settingTable()) {
    const auto& names = s.scope == SettingScope::Global ? globals : domain;
    CHECK_MESSAGE(names.count(std::string(s.name)), "tls.options lacks '" << s.name << "'");
  }
}

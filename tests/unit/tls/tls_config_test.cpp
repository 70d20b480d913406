// Configuration sources: modparam prefixes, legacy keywords, tls_domain blocks, the YAML
// domain file with Media Gateway aliases, conflicts naming both places, start-up errors
// naming the file and the domain.
#include <doctest/doctest.h>

#include "fixture.h"
#include <sys/stat.h>

#include "tls/domain_file.h"
#include "tls/tls_domain.h"
#include "tls/tls_domain_set.h"

using namespace sipsd;
using namespace sipsd::tls;
using namespace sipsd::tls::test;

TEST_CASE("domain selectors") {
  std::string err;
  auto d = DomainId::parse("1.2.3.4:5061", Side::Server, err);
  REQUIRE(d);
  CHECK(d->str() == "server:1.2.3.4:5061");
  CHECK(DomainId::parse("client:[::1]:5061", Side::Server, err)->str() == "client:[::1]:5061");
  CHECK(DomainId::parse("server:default", Side::Client, err)->isDefault());
  CHECK(DomainId::parse("server:1.2.3.4:5061/SIP.Example.org", Side::Server, err)->label == "sip.example.org");
  CHECK_FALSE(DomainId::parse("any", Side::Client, err));
  CHECK_FALSE(DomainId::parse("DEFAULT:@SECLEVEL", Side::Server, err));
  CHECK_FALSE(DomainId::parse("/p/c.pem", Side::Server, err));
}

TEST_CASE("modparam prefixes, cipher strings with '=', conflicts name both places") {
  Pki p;
  TlsModule m;
  CHECK(errorText(m.setParam("certificate", pv(p.serverBase + ".crt", "a.cfg", 3))) == "");
  CHECK(errorText(m.setParam("private_key", pv(p.serverBase + ".key", "a.cfg", 4))) == "");
  CHECK(errorText(m.setParam("cipher_list", pv("DEFAULT:@SECLEVEL=1", "a.cfg", 5))) == "");
  CHECK(errorText(m.setParam("verify_certificate", pv("127.0.0.1:5061=1", "a.cfg", 6))) == "");
  CHECK(errorText(m.setParam("certificate", pv("server:127.0.0.1:5061=" + p.serverBase + ".crt"))) == "");
  CHECK(errorText(m.setParam("private_key", pv("server:127.0.0.1:5061=" + p.serverBase + ".key"))) == "");
  CHECK(errorText(m.setParam("verify_depth", pvi(3))) == "");
  CHECK(errorText(m.setParam("handshake_timeout", pvi(7))) == "");
  std::string e = errorText(m.setParam("certificate", pv("server:default=/x.crt", "a.cfg", 9)));
  CHECK(e.find("a.cfg:3:1") != std::string::npos);
  CHECK(e.find("a.cfg:9:1") != std::string::npos);
  CHECK(e.find("server:default") != std::string::npos);
  CHECK(errorText(m.setParam("handshake_timeout", pvi(8, "b.cfg", 2))).find("b.cfg:2:1") != std::string::npos);
  CHECK(errorText(m.setParam("nonsense", pv("1"))) != "");
  CHECK(errorText(m.setParam("verify_depth", pv("client:127.0.0.1:5099=deep"))) == "");
  std::string ie = errorText(m.init(nullptr));
  CHECK(ie.find("verify_depth") != std::string::npos);  // bad value reported at init, with where
  TlsModule ok;
  REQUIRE(initModule(ok, {{"certificate", pv(p.serverBase + ".crt")},
                          {"private_key", pv(p.serverBase + ".key")},
                          {"cipher_list", pv("DEFAULT:@SECLEVEL=1")},
                          {"verify_certificate", pv("127.0.0.1:5061=1")},
                          {"handshake_timeout", pvi(7)}}) == "");
  auto set = ok.transport().current();
  CHECK(set->defaultServer().options().cipherList == "DEFAULT:@SECLEVEL=1");
  CHECK(set->defaultClient().hasCertificate());  // no prefix: both defaults
  CHECK(set->serverFor(addr("127.0.0.1:5061")).options().verifyCertificate);
  CHECK(set->serverFor(addr("127.0.0.1:5061")).hasCertificate());  // identity inherited from the default
  CHECK_FALSE(set->defaultServer().options().verifyCertificate);
  CHECK(set->defaultClient().options().verifyCertificate);
  CHECK(ok.transport().handshakeTimeout() == std::chrono::seconds(7));
  CHECK(ok.transport().sendTimeout() == std::chrono::seconds(10));
}

TEST_CASE("relative paths resolve against the directory of the file naming them") {
  Pki p;
  TlsModule m;
  REQUIRE(initModule(m, {{"certificate", pv("server.crt", p.pki.path("sipsd.cfg"))},
                         {"private_key", pv("./server.key", p.pki.path("sipsd.cfg"))}}) == "");
  CHECK(m.transport().current()->defaultServer().options().certificate == p.serverBase + ".crt");
  CHECK(m.transport().current()->defaultServer().options().privateKey == p.serverBase + ".key");
}

TEST_CASE("legacy tls_* keywords and tls_domain blocks") {
  Pki p;
  TlsModule m;
  bool claimed = false;
  // A claim's error text ("" when it succeeded); `claimed` says whether the module took it.
  auto claim = [&claimed](const Result<bool>& r) {
    claimed = r.ok() && *r;
    return errorText(r);
  };
  CHECK(claim(m.claimGlobal("tls_certificate", pv(p.serverBase + ".crt", "k.cfg", 1))) == "");
  CHECK(claimed);
  CHECK(claim(m.claimGlobal("tls_private_key", pv(p.serverBase + ".key", "k.cfg", 2))) == "");
  CHECK(claim(m.claimGlobal("tls_ca_list", pv(p.caFile))) == "");
  CHECK(claim(m.claimGlobal("tls_ciphers_list", pv("HIGH"))) == "");
  CHECK(claim(m.claimGlobal("tls_method", pv("TLSv1.2+"))) == "");
  CHECK(claim(m.claimGlobal("tls_verify", pvi(1))) == "");
  CHECK(claim(m.claimGlobal("tls_require_certificate", pvi(0))) == "");
  CHECK(claim(m.claimGlobal("tls_handshake_timeout", pvi(119))) == "");
  CHECK(claim(m.claimGlobal("tls_send_timeout", pvi(121))) == "");
  CHECK(claim(m.claimGlobal("disable_tls", pvi(0))) == "");
  CHECK(claim(m.claimGlobal("children", pvi(4))) == "");
  CHECK_FALSE(claimed);
  // Same setting from a keyword and a modparam: an error naming both.
  std::string e = errorText(m.setParam("handshake_timeout", pvi(5, "k.cfg", 30)));
  CHECK(e.find("k.cfg:30:1") != std::string::npos);
  CfgBlock b;
  b.kind = "tls_domain";
  b.selector = "127.0.0.1:5062";
  b.loc = SourceLoc{"k.cfg", 10, 1};
  b.items.push_back({"tls_certificate", pv(p.aliceBase + ".crt", "k.cfg", 11)});
  b.items.push_back({"tls_private_key", pv(p.aliceBase + ".key", "k.cfg", 12)});
  b.items.push_back({"tls_method", pv("TLSv1.3", "k.cfg", 13)});
  CHECK(claim(m.claimBlock(b)) == "");
  CHECK(claimed);
  CfgBlock cb;
  cb.kind = "tls_domain";
  cb.selector = "client:127.0.0.1:5071";
  cb.loc = SourceLoc{"k.cfg", 20, 1};
  cb.items.push_back({"verify_certificate", pvi(0, "k.cfg", 21)});
  CHECK(claim(m.claimBlock(cb)) == "");
  CfgBlock bad = b;
  bad.items = {{"tls_colour", pv("blue", "k.cfg", 15)}};
  CHECK(claim(m.claimBlock(bad)).find("k.cfg:15:1") != std::string::npos);
  CfgBlock dup = b;
  dup.items = {{"tls_method", pv("TLSv1.2", "k.cfg", 16)}};
  std::string de = claim(m.claimBlock(dup));
  CHECK(de.find("k.cfg:13:1") != std::string::npos);
  CHECK(de.find("k.cfg:16:1") != std::string::npos);
  REQUIRE(errorText(m.init(nullptr)) == "");
  auto set = m.transport().current();
  const TlsDomain& d = set->serverFor(addr("127.0.0.1:5062"));
  CHECK(d.name() == "server:127.0.0.1:5062");
  CHECK(d.options().method == "TLSv1.3");
  CHECK(d.options().verifyCertificate);  // tls_verify=1 is inherited from the default
  CHECK(set->defaultServer().options().cipherList == "HIGH");
  std::string err;
  CHECK_FALSE(set->clientFor(addr("127.0.0.1:5071"), "", err)->options().verifyCertificate);
  CHECK(m.transport().handshakeTimeout() == std::chrono::seconds(119));
}

TEST_CASE("YAML domain file with Media Gateway names; conflicts with modparams") {
  Pki p;
  p.pki.writeFile(p.pki.path("tls.yml"),
                  "server:\n"
                  "  default:\n"
                  "    identity: { certificate: server.crt, key: server.key }\n"
                  "    peers: { lookup_hash_directory: hashdir, crl_enabled: true }\n"
                  "  \"127.0.0.2:5061\":\n"
                  "    identity: { certificate: alice.crt, key: alice.key }\n"
                  "    server_name: sip.example.org\n"
                  "client:\n"
                  "  default:\n"
                  "    root_certificate: ca.crt\n"
                  "    identity: { certificate: bob.crt, certificate_key: bob.key }\n"
                  "  \"127.0.0.1:5071\":\n"
                  "    server_name: upstream.example.com\n"
                  "  any/up2:\n"
                  "    certificate_directory: hashdir\n");
  std::string hd = p.pki.path("hashdir");
  REQUIRE(mkdir(hd.c_str(), 0700) == 0);
  p.pki.writeCert(hd + "/" + TestPki::hashOf(p.ca.cert.get()) + ".0", p.ca.cert.get());
  auto crl = p.pki.makeCrl(p.ca, {}, 1);
  p.pki.writeCrl(hd + "/" + TestPki::hashOf(crl.get()) + ".r0", crl.get());
  TlsModule m;
  REQUIRE(initModule(m, {{"config", pv(p.pki.path("tls.yml"))}, {"verify_depth", pv("client:default=4")}}) == "");
  auto set = m.transport().current();
  const DomainOptions& s = set->defaultServer().options();
  CHECK(s.certificate == p.serverBase + ".crt");
  CHECK(s.caPath == hd);
  CHECK(s.crlEnabled);
  CHECK(s.verifyCertificate);   // a peers block turns client authentication on
  CHECK(s.requireCertificate);
  CHECK(set->serverFor(addr("127.0.0.2:5061")).options().serverName == "sip.example.org");
  CHECK(set->defaultClient().options().privateKey == p.bobBase + ".key");
  CHECK(set->defaultClient().options().verifyDepth == 4);
  std::string err;
  CHECK(set->clientFor(addr("127.0.0.1:5071"), "", err)->options().serverName == "upstream.example.com");
  CHECK(set->clientFor(addr("127.0.0.1:5071"), "up2", err)->options().caPath == hd);

  TlsModule conflict;
  CHECK(errorText(conflict.setParam("ca_list", pv("client:default=/etc/ca.crt", "main.cfg", 7))) == "");
  CHECK(errorText(conflict.setParam("config", pv(p.pki.path("tls.yml")))) == "");
  std::string ce = errorText(conflict.init(nullptr));
  CHECK(ce.find("main.cfg:7:1") != std::string::npos);
  CHECK(ce.find("tls.yml:10:") != std::string::npos);
  CHECK(ce.find("ca_list") != std::string::npos);
}

TEST_CASE("YAML errors carry file:line:col") {
  TestPki t;
  TlsConfig c;
  t.writeFile(t.path("bad.yml"), "server:\n  default:\n    colour: blue\n");
  std::string e = DomainFile::load(t.path("bad.yml"), c);
  CHECK(e.find("bad.yml:3:") != std::string::npos);
  CHECK(e.find("colour") != std::string::npos);
  t.writeFile(t.path("syntax.yml"), "server: [\n");
  CHECK(DomainFile::load(t.path("syntax.yml"), c).find("syntax.yml:") != std::string::npos);
  t.writeFile(t.path("sel.yml"), "server:\n  \"1.2.3:99\": {}\n");
  CHECK(DomainFile::load(t.path("sel.yml"), c).find("sel.yml:2:") != std::string::npos);
  CHECK(DomainFile::load(t.path("missing.yml"), c).find("missing.yml") != std::string::npos);
}

TEST_CASE("start fails naming the file and the domain") {
  Pki p;
  auto initErr = [&](Params ps) {
    TlsModule m;
    return initModule(m, ps);
  };
  SUBCASE("missing certificate") {
    std::string e = initErr({{"certificate", pv("server:127.0.0.1:5061=/nope/c.pem", "x.cfg", 4)},
                             {"private_key", pv("server:127.0.0.1:5061=" + p.serverBase + ".key")}});
    CHECK(e.find("/nope/c.pem") != std::string::npos);
    CHECK(e.find("server:127.0.0.1:5061") != std::string::npos);
    CHECK(e.find("x.cfg:4:1") != std::string::npos);
    CHECK(e.find("No such file") != std::string::npos);
  }
  SUBCASE("key does not match") {
    std::string e = initErr({{"certificate", pv(p.serverBase + ".crt")}, {"private_key", pv(p.aliceBase + ".key")}});
    CHECK(e.find("does not match") != std::string::npos);
    CHECK(e.find(p.aliceBase + ".key") != std::string::npos);
    CHECK(e.find("server:default") != std::string::npos);
  }
  SUBCASE("expired certificate") {
    CertSpec s;
    s.cn = "old";
    s.notBeforeDays = -30;
    s.notAfterDays = -1;
    std::string base = p.pki.write("old", p.pki.issue(p.ca, s));
    std::string e = initErr({{"certificate", pv("client:default=" + base + ".crt")},
                             {"private_key", pv("client:default=" + base + ".key")}});
    CHECK(e.find("expired") != std::string::npos);
    CHECK(e.find(base + ".crt") != std::string::npos);
    CHECK(e.find("client:default") != std::string::npos);
  }
  SUBCASE("unreadable key, missing CA, bad method, server domain without certificate") {
    p.pki.writeFile(p.pki.path("garbage.key"), "not a key\n");
    CHECK(initErr({{"certificate", pv(p.serverBase + ".crt")}, {"private_key", pv(p.pki.path("garbage.key"))}})
              .find("garbage.key") != std::string::npos);
    CHECK(initErr({{"ca_list", pv("/nope/ca.pem")}}).find("/nope/ca.pem") != std::string::npos);
    CHECK(initErr({{"method", pv("SSLv2")}}).find("SSLv2") != std::string::npos);
    CHECK(initErr({{"verify_certificate", pv("server:127.0.0.1:5061=1")}}).find("needs a certificate") !=
          std::string::npos);
    CHECK(initErr({{"certificate", pv(p.serverBase + ".crt")}}).find("private_key") != std::string::npos);
  }
}

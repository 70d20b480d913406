// Without restart: CRLs in a hash directory (new .rN, replaced .r0), changed certificates,
// failed reloads keeping the running domains, and the tls.* RPCs.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include "fixture.h"
#include "tls/cert_info.h"
#include "tls/tls_domain_set.h"

using namespace sipsd;
using namespace sipsd::tls;
using namespace sipsd::tls::test;

namespace {

struct HashDirSetup {
  Pki p;
  std::string hd;
  std::string crlBase;
  TlsModule srv;

  HashDirSetup() {
    hd = p.pki.path("hashdir");
    REQUIRE(mkdir(hd.c_str(), 0700) == 0);
    p.pki.writeCert(hd + "/" + TestPki::hashOf(p.ca.cert.get()) + ".0", p.ca.cert.get());
    auto crl = p.pki.makeCrl(p.ca, {}, 1, -120);
    crlBase = hd + "/" + TestPki::hashOf(crl.get());
    p.pki.writeCrl(crlBase + ".r0", crl.get());
    REQUIRE(initModule(srv, {{"certificate", pv("server:default=" + p.serverBase + ".crt")},
                             {"private_key", pv("server:default=" + p.serverBase + ".key")},
                             {"ca_path", pv("server:default=" + hd)},
                             {"crl_enabled", pv("server:default=1")},
                             {"verify_certificate", pv("server:default=1")},
                             {"require_certificate", pv("server:default=1")}}) == "");
  }
  long serialOf(const KeyCert& kc) { return ASN1_INTEGER_get(X509_get0_serialNumber(kc.cert.get())); }
};

Pumped connectAs(TlsModule& srv, const Pki& p, const std::string& who) {
  TlsModule cli;
  REQUIRE(initModule(cli, {{"ca_list", pv(p.caFile)},
                           {"certificate", pv("client:default=" + who + ".crt")},
                           {"private_key", pv("client:default=" + who + ".key")}}) == "");
  Conn c = connect(cli, srv);
  return c.r;
}

}  // namespace

TEST_CASE("a new .rN in the hash directory revokes without restart") {
  HashDirSetup s;
  Pumped ok = connectAs(s.srv, s.p, s.p.aliceBase);
  REQUIRE_MESSAGE(ok.serverOk, ok.serverErr);
  CHECK_FALSE(s.srv.checkFiles());  // nothing changed
  auto crl = s.p.pki.makeCrl(s.p.ca, {s.serialOf(s.p.alice)}, 2, -60);
  s.p.pki.writeCrl(s.crlBase + ".r1", crl.get());
  CHECK(s.srv.checkFiles());
  Pumped revoked = connectAs(s.srv, s.p, s.p.aliceBase);
  CHECK_FALSE(revoked.serverOk);
  CHECK(revoked.serverErr.find("revoked") != std::string::npos);
  CHECK(connectAs(s.srv, s.p, s.p.bobBase).serverOk);  // others unaffected
}

TEST_CASE("a replaced .r0 (same lastUpdate second) is picked up") {
  HashDirSetup s;
  REQUIRE(connectAs(s.srv, s.p, s.p.bobBase).serverOk);
  // Same lastUpdate as the original: only the CRL number tells them apart.
  auto crl = s.p.pki.makeCrl(s.p.ca, {s.serialOf(s.p.bob)}, 2, -120);
  s.p.pki.writeCrl(s.crlBase + ".r0", crl.get());
  CHECK(s.srv.checkFiles());
  Pumped r = connectAs(s.srv, s.p, s.p.bobBase);
  CHECK_FALSE(r.serverOk);
  CHECK(r.serverErr.find("revoked") != std::string::npos);
  // Touching without a content change is no reload.
  CHECK_FALSE(s.srv.checkFiles());
}

TEST_CASE("crl_enabled checks the whole chain: a CA without a CRL fails") {
  HashDirSetup s;
  ::remove((s.crlBase + ".r0").c_str());
  std::vector<std::string> changes;
  CHECK(errorText(s.srv.reload(&changes)) == "");
  CHECK(changes == std::vector<std::string>{"changed server:default"});
  Pumped r = connectAs(s.srv, s.p, s.p.aliceBase);
  CHECK_FALSE(r.serverOk);
  CHECK(r.serverErr.find("unable to get certificate CRL") != std::string::npos);
}

TEST_CASE("a failed reload keeps the running domains; existing sessions keep theirs") {
  Pki p;
  TlsModule srv, cli;
  REQUIRE(initModule(srv, {{"certificate", pv("server:default=" + p.serverBase + ".crt")},
                           {"private_key", pv("server:default=" + p.serverBase + ".key")}}) == "");
  REQUIRE(initModule(cli, {{"ca_list", pv(p.caFile)}}) == "");
  Conn live = connect(cli, srv);
  REQUIRE(live.r.serverOk);
  auto before = srv.transport().current();
  // Replace the key with one that does not match: the reload must fail and say why.
  p.pki.writeKey(p.serverBase + ".key", p.alice.key.get());
  CHECK(srv.checkFiles());
  CHECK(srv.lastReloadError().find("does not match") != std::string::npos);
  CHECK(srv.transport().current() == before);
  CHECK(connect(cli, srv).r.serverOk);  // new connections still served by the old set
  RpcMethod reload;
  for (const auto& r : srv.exports().rpcs) {
    if (r.name == "tls.reload") reload = r;
  }
  REQUIRE(reload.call);
  CHECK_THROWS_AS(reload.call({}), RpcFault);
  // Fix it: a new certificate and key for the server.
  CertSpec s;
  s.cn = "sip2.example.org";
  s.ips = {"127.0.0.1"};
  p.pki.write("server", p.pki.issue(p.ca, s));
  CHECK(srv.checkFiles());
  CHECK(srv.transport().current() != before);
  Conn fresh = connect(cli, srv);
  REQUIRE(fresh.r.clientOk);
  CHECK(CertInfo::nameField(X509_get_subject_name(fresh.client->peerCertificate()), NID_commonName) == "sip2.example.org");
  // The connection made before the reload keeps working on its own context.
  CHECK(sendC2S(*live.client, *live.server, "still here") == "still here");
  RpcValue v = reload.call({});
  auto& st = std::get<RpcStruct>(v.v);
  CHECK(std::get<std::string>(st[0].second.v) == "ok");
  CHECK(std::get<RpcArray>(st[1].second.v).empty());  // nothing changed since
}

TEST_CASE("tls.info, tls.list and tls.options") {
  Pki p;
  TlsModule srv, cli;
  REQUIRE(initModule(srv, {{"certificate", pv(p.serverBase + ".crt")},
                           {"private_key", pv(p.serverBase + ".key")},
                           {"ca_list", pv(p.caFile)},
                           {"verify_certificate", pv("server:default=1")}}) == "");
  REQUIRE(initModule(cli, {{"ca_list", pv(p.caFile)},
                           {"certificate", pv("client:default=" + p.aliceBase + ".crt")},
                           {"private_key", pv("client:default=" + p.aliceBase + ".key")}}) == "");
  auto rpc = [&](const std::string& name) {
    for (const auto& r : srv.exports().rpcs) {
      if (r.name == name) return r.call({});
    }
    FAIL("no rpc " << name);
    return RpcValue();
  };
  auto field = [](const RpcStruct& s, const std::string& k) -> const RpcValue& {
    for (const auto& [n, v] : s) {
      if (n == k) return v;
    }
    static RpcValue none;
    return none;
  };
  {
    Conn c = connect(cli, srv);
    REQUIRE(c.r.serverOk);
    auto pending = srv.transport().accept(serverEp("127.0.0.1:5061", "127.0.0.8:1", 77));
    REQUIRE_MESSAGE(pending, pending.error());
    RpcStruct info = std::get<RpcStruct>(rpc("tls.info").v);
    CHECK(std::get<int64_t>(field(info, "connections").v) == 2);
    CHECK(std::get<int64_t>(field(info, "established").v) == 1);
    RpcArray list = std::get<RpcArray>(rpc("tls.list").v);
    REQUIRE(list.size() == 2);
    bool sawAlice = false;
    for (const auto& e : list) {
      const auto& s = std::get<RpcStruct>(e.v);
      if (std::get<std::string>(field(s, "state").v) != "established") continue;
      CHECK(std::get<int64_t>(field(s, "id").v) == 1);
      CHECK(std::get<std::string>(field(s, "remote").v) == "127.0.0.9:40000");
      CHECK(std::get<std::string>(field(s, "domain").v) == "server:default");
      CHECK(std::get<std::string>(field(s, "version").v) == "TLSv1.3");
      CHECK_FALSE(std::get<std::string>(field(s, "cipher").v).empty());
      CHECK(std::get<bool>(field(s, "verified").v));
      sawAlice = std::get<std::string>(field(s, "peer").v) == "Alice";
    }
    CHECK(sawAlice);
  }
  CHECK(std::get<RpcArray>(rpc("tls.list").v).empty());  // sessions leave the registry
  RpcStruct opts = std::get<RpcStruct>(rpc("tls.options").v);
  const RpcArray& domains = std::get<RpcArray>(field(opts, "domains").v);
  REQUIRE(domains.size() == 2);
  const RpcStruct& d0 = std::get<RpcStruct>(domains[0].v);
  CHECK(std::get<std::string>(field(d0, "domain").v) == "server:default");
  CHECK(std::get<std::string>(field(d0, "certificate_subject").v) == "sip.example.org");
  CHECK(std::get<bool>(field(d0, "verify_certificate").v));
}

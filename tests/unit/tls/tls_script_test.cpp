// @tls selects and the script functions, on TLS and non-TLS messages.
#include <doctest/doctest.h>

#include "core/parser/sip_msg.h"
#include "core/script_context.h"
#include "fixture.h"
#include "tls/cert_info.h"
#include "tls/tls_script.h"

using namespace sipsd;
using namespace sipsd::tls;
using namespace sipsd::tls::test;

namespace {

struct Script {
  TlsModule& m;
  FakeCore core;
  SipMsg msg;
  ReceiveInfo rcv;

  Value sel(const std::string& path) {
    std::vector<SelectPart> parts;
    size_t pos = 0;
    while (pos <= path.size()) {
      size_t dot = path.find('.', pos);
      if (dot == std::string::npos) dot = path.size();
      parts.push_back({path.substr(pos, dot - pos), -1});
      pos = dot + 1;
    }
    auto fn = m.exports().selects[0].resolve(parts);
    REQUIRE_MESSAGE(fn.ok(), path << ": " << errorText(fn));
    ScriptContext ctx(msg, rcv, core);
    return (*fn)(ctx);
  }
  std::string str(const std::string& path) { return sel(path).text(); }
  int call(const std::string& fname, std::vector<FuncArg> args, ScriptContext* out = nullptr) {
    for (const auto& f : m.exports().functions) {
      if (f.name != fname) continue;
      ScriptContext ctx(msg, rcv, core);
      int r = f.handler(out ? *out : ctx, args, nullptr);
      return r;
    }
    FAIL("no function " << fname);
    return 0;
  }
};

}  // namespace

TEST_CASE("@tls selects on an accepted connection with Alice's certificate") {
  Pki p;
  TlsModule srv, cli;
  REQUIRE(initModule(srv, {{"certificate", pv(p.serverBase + ".crt")},
                           {"private_key", pv(p.serverBase + ".key")},
                           {"ca_list", pv(p.caFile)},
                           {"verify_certificate", pv("server:default=1")}}) == "");
  REQUIRE(initModule(cli, {{"ca_list", pv(p.caFile)},
                           {"certificate", pv("client:default=" + p.aliceBase + ".crt")},
                           {"private_key", pv("client:default=" + p.aliceBase + ".key")}}) == "");
  ConnectOptions opt;
  opt.serverName = "sip.example.org";
  Conn c = connect(cli, srv, "127.0.0.1:5061", opt);
  REQUIRE(c.r.serverOk);
  Script s{srv, {}, {}, {}};
  s.rcv.proto = Proto::TLS;
  s.rcv.session = c.server.get();

  CHECK(s.str("tls.peer") == "Alice");
  CHECK(s.str("tls.peer.subject") == "Alice");
  CHECK(s.str("tls.peer.subj.cn") == "Alice");
  CHECK(s.str("tls.peer.issuer") == "Test CA");
  CHECK(s.str("tls.peer.subj.organization") == "Example Inc");
  CHECK(s.str("tls.peer.subj.unit") == "Voice");
  CHECK(s.str("tls.peer.subj.locality") == "Prague");
  CHECK(s.str("tls.peer.subj.country") == "CZ");
  CHECK(s.str("tls.peer.subj.state") == "Bohemia");
  CHECK(s.str("tls.peer.issuer.cn") == "Test CA");
  CHECK(s.str("tls.peer.issuer.organization") == "");
  CHECK(s.str("tls.peer.email") == "alice@example.org");
  CHECK(s.str("tls.peer.host") == "alice.example.org");
  CHECK(s.str("tls.peer.uri") == "sip:alice@example.org");
  CHECK(s.str("tls.peer.ip") == "10.1.2.3");
  CHECK(s.sel("tls.peer.version").num() == 3);
  CHECK(s.str("tls.peer.sn") == CertInfo::serial(p.alice.cert.get()));
  CHECK(s.str("tls.peer.not_after").find("GMT") != std::string::npos);
  CHECK_FALSE(s.str("tls.peer.not_before").empty());
  CHECK(s.sel("tls.peer.verified").truthy());
  CHECK_FALSE(s.sel("tls.peer.revoked").truthy());
  CHECK_FALSE(s.sel("tls.peer.expired").truthy());
  CHECK_FALSE(s.sel("tls.peer.selfsigned").truthy());
  CHECK(s.str("tls.peer.fingerprint") == CertInfo::fingerprint(p.alice.cert.get()));
  CHECK(s.str("tls.peer.fingerprint").size() == 64);
  CHECK(s.str("tls.me") == "sip.example.org");
  CHECK(s.str("tls.my.subj.organization") == "Example Server Org");
  CHECK(s.str("tls.my.host") == "sip.example.org");
  CHECK(s.str("tls.my.ip") == "127.0.0.1");
  CHECK(s.str("tls.version") == "TLSv1.3");
  CHECK_FALSE(s.str("tls.cipher").empty());
  CHECK(s.sel("tls.cipher.bits").num() >= 128);
  CHECK(s.str("tls").find(s.str("tls.cipher")) != std::string::npos);
  CHECK(s.str("tls.desc") == s.str("tls"));
  CHECK(s.str("tls.sni") == "sip.example.org");
  CHECK(s.str("tls.domain") == "server:default");
  CHECK(s.call("is_peer_verified", {}) == 1);
  // The SER access rule: @tls.peer != "Bob" rejects Alice.
  CHECK(s.str("tls.peer") != "Bob");
}

TEST_CASE("selects on non-TLS messages are Null; bad selects fail at load") {
  Pki p;
  TlsModule srv;
  REQUIRE(initModule(srv, {{"certificate", pv(p.serverBase + ".crt")}, {"private_key", pv(p.serverBase + ".key")}}) == "");
  Script s{srv, {}, {}, {}};
  s.rcv.proto = Proto::UDP;
  for (const char* path : {"tls", "tls.peer", "tls.peer.issuer", "tls.me", "tls.version", "tls.sni", "tls.domain",
                           "tls.peer.subj.organization", "tls.peer.fingerprint"}) {
    Value v = s.sel(path);
    CHECK_MESSAGE(v.isNull(), path);
  }
  for (const char* path : {"tls.peer.verified", "tls.peer.revoked", "tls.peer.expired", "tls.peer.selfsigned",
                           "tls.cipher.bits"}) {
    CHECK_MESSAGE(s.sel(path).isNull(), path);
    CHECK_FALSE_MESSAGE(s.sel(path).truthy(), path);
  }
  CHECK(s.call("is_peer_verified", {}) == -1);
  const auto& resolve = srv.exports().selects[0].resolve;
  CHECK(errorText(resolve({{"tls", -1}, {"colour", -1}})).find("@tls.colour") != std::string::npos);
  CHECK(errorText(resolve({{"tls", -1}, {"peer", -1}, {"subj", -1}, {"shoe", -1}})) != "");
  CHECK(errorText(resolve({{"tls", -1}, {"peer", 2}})) != "");
  CHECK(errorText(resolve({{"tls", -1}, {"my", -1}, {"verified", -1}})) != "");
}

TEST_CASE("peer selects on the client side: revoked and self-signed servers") {
  Pki p;
  SUBCASE("self-signed server certificate") {
    CertSpec ss;
    ss.cn = "selfie";
    std::string base = p.pki.write("selfie", p.pki.issue(KeyCert{}, ss));
    TlsModule srv, cli;
    REQUIRE(initModule(srv, {{"certificate", pv(base + ".crt")}, {"private_key", pv(base + ".key")}}) == "");
    REQUIRE(initModule(cli, {{"verify_certificate", pv("client:default=0")}}) == "");
    Conn c = connect(cli, srv);
    REQUIRE(c.r.clientOk);
    Script s{cli, {}, {}, {}};
    s.rcv.proto = Proto::TLS;
    s.rcv.session = c.client.get();
    CHECK(s.sel("tls.peer.selfsigned").truthy());
    CHECK_FALSE(s.sel("tls.peer.verified").truthy());
    CHECK(s.str("tls.peer") == "selfie");
    CHECK(s.str("tls.me") == "");  // no client certificate
  }
  SUBCASE("revoked server certificate seen by a non-verifying client") {
    auto crl = p.pki.makeCrl(p.ca, {ASN1_INTEGER_get(X509_get0_serialNumber(p.server.cert.get()))}, 1);
    p.pki.writeCrl(p.pki.path("ca.crl"), crl.get());
    TlsModule srv, cli;
    REQUIRE(initModule(srv, {{"certificate", pv(p.serverBase + ".crt")}, {"private_key", pv(p.serverBase + ".key")}}) == "");
    REQUIRE(initModule(cli, {{"verify_certificate", pv("client:default=0")},
                             {"ca_list", pv("client:default=" + p.caFile)},
                             {"crl", pv("client:default=" + p.pki.path("ca.crl"))}}) == "");
    Conn c = connect(cli, srv);
    REQUIRE(c.r.clientOk);
    Script s{cli, {}, {}, {}};
    s.rcv.proto = Proto::TLS;
    s.rcv.session = c.client.get();
    CHECK(s.sel("tls.peer.revoked").truthy());
    CHECK_FALSE(s.sel("tls.peer.verified").truthy());
  }
}

TEST_CASE("expired certificates are reported by the helper the select uses") {
  Pki p;
  CertSpec s;
  s.cn = "old";
  s.notAfterDays = -1;
  s.notBeforeDays = -10;
  KeyCert old = p.pki.issue(p.ca, s);
  CHECK(CertInfo::expired(old.cert.get()));
  CHECK_FALSE(CertInfo::expired(p.alice.cert.get()));
  CHECK(CertInfo::selfSigned(p.ca.cert.get()));
  CHECK_FALSE(CertInfo::selfSigned(p.alice.cert.get()));
}

TEST_CASE("tls_set_connect_server_id") {
  Pki p;
  TlsModule cli;
  REQUIRE(initModule(cli, {{"ca_list", pv(p.caFile)}, {"server_id", pv("client:127.0.0.1:5071=upstream")}}) == "");
  Script s{cli, {}, {}, {}};
  ScriptContext ctx(s.msg, s.rcv, s.core);
  FuncArg a;
  a.str = "upstream";
  CHECK(s.call("tls_set_connect_server_id", {a}, &ctx) == 1);
  CHECK(ctx.connect.profile == "upstream");
  FuncArg b;
  b.str = "nobody";
  ScriptContext ctx2(s.msg, s.rcv, s.core);
  CHECK(s.call("tls_set_connect_server_id", {b}, &ctx2) == -1);
  CHECK(ctx2.connect.profile.empty());
}

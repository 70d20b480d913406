// TlsSession/TlsTransport driven in memory: handshake, data, close_notify, verify/require
// semantics, outbound name checks, SNI and client domain choice, resumption.
#include <doctest/doctest.h>

#include "fixture.h"
#include "tls/cert_info.h"
#include "tls/tls_domain.h"

using namespace sipsd;
using namespace sipsd::tls;
using namespace sipsd::tls::test;

namespace {

Params serverParams(const Pki& p) {
  return {{"certificate", pv("server:default=" + p.serverBase + ".crt")},
          {"private_key", pv("server:default=" + p.serverBase + ".key")},
          {"ca_list", pv("server:default=" + p.caFile)}};
}

Params clientParams(const Pki& p, const std::string& who = "") {
  Params ps = {{"ca_list", pv("client:default=" + p.caFile)}};
  if (!who.empty()) {
    ps.push_back({"certificate", pv("client:default=" + who + ".crt")});
    ps.push_back({"private_key", pv("client:default=" + who + ".key")});
  }
  return ps;
}

}  // namespace

TEST_CASE("handshake, data both ways, queued data, close_notify") {
  Pki p;
  TlsModule srv, cli;
  REQUIRE(initModule(srv, serverParams(p)) == "");
  REQUIRE(initModule(cli, clientParams(p)) == "");
  ConnectOptions opt;
  opt.serverName = "sip.example.org";
  Conn c = connect(cli, srv, "127.0.0.1:5061", opt, false);
  std::string wire;
  // Written before the handshake: queued and flushed once established.
  REQUIRE(c.client->encrypt("OPTIONS early", wire).ok);
  CHECK(wire.empty());
  c.r = pump(*c.client, *c.server);
  REQUIRE_MESSAGE(c.r.clientOk, c.r.clientErr);
  REQUIRE_MESSAGE(c.r.serverOk, c.r.serverErr);
  CHECK(c.client->established());
  CHECK(c.server->established());
  CHECK(c.r.serverPlain == "OPTIONS early");
  CHECK(std::string(SSL_get_version(c.client->ssl())) == "TLSv1.3");
  CHECK(c.client->peerVerified());  // outbound: server certificate verified by default

  std::string s2c, plain, back;
  REQUIRE(c.server->encrypt("SIP/2.0 200 OK", s2c).ok);
  REQUIRE(c.client->onReceive(s2c, plain, back).ok);
  CHECK(plain == "SIP/2.0 200 OK");
  CHECK(sendC2S(*c.client, *c.server, std::string(100000, 'x')) == std::string(100000, 'x'));

  std::string bye;
  c.client->shutdown(bye);
  CHECK_FALSE(bye.empty());
  std::string p2, answer;
  IoResult r = c.server->onReceive(bye, p2, answer);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("close_notify") != std::string::npos);
  CHECK_FALSE(answer.empty());  // the server answers with its own close_notify
  std::string w2;
  CHECK_FALSE(c.client->encrypt("after close", w2).ok);
}

TEST_CASE("garbage instead of a ClientHello fails only that session") {
  Pki p;
  TlsModule srv;
  REQUIRE(initModule(srv, serverParams(p)) == "");
  std::string plain, wire;
  auto accepted = srv.transport().accept(serverEp());
  REQUIRE_MESSAGE(accepted, accepted.error());
  auto& s = *accepted;
  IoResult r = s->onReceive("GET / HTTP/1.1\r\nHost: x\r\n\r\n", plain, wire);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("127.0.0.9:40000") != std::string::npos);
  CHECK(plain.empty());
}

TEST_CASE("server verify/require semantics (SER tls_verify / tls_require_certificate)") {
  Pki p;
  SUBCASE("verify off: no certificate is requested, peer not verified") {
    TlsModule srv, cli;
    REQUIRE(initModule(srv, serverParams(p)) == "");
    REQUIRE(initModule(cli, clientParams(p, p.aliceBase)) == "");
    Conn c = connect(cli, srv);
    REQUIRE(c.r.serverOk);
    CHECK(c.server->established());
    CHECK(c.server->peerCertificate() == nullptr);
    CHECK_FALSE(c.server->peerVerified());
  }
  SUBCASE("verify on, require off") {
    TlsModule srv;
    Params ps = serverParams(p);
    ps.push_back({"verify_certificate", pv("server:default=1")});
    REQUIRE(initModule(srv, ps) == "");
    {
      TlsModule cli;
      REQUIRE(initModule(cli, clientParams(p)) == "");
      Conn c = connect(cli, srv);
      CHECK(c.r.serverOk);
      CHECK(c.server->established());
      CHECK_FALSE(c.server->peerVerified());  // no certificate: allowed, not verified
    }
    {
      TlsModule cli;
      REQUIRE(initModule(cli, clientParams(p, p.aliceBase)) == "");
      Conn c = connect(cli, srv);
      REQUIRE(c.r.serverOk);
      CHECK(c.server->peerVerified());
      CHECK(CertInfo::nameField(X509_get_subject_name(c.server->peerCertificate()), NID_commonName) == "Alice");
    }
    {
      TlsModule cli;  // a certificate from an unknown CA fails even without require
      REQUIRE(initModule(cli, clientParams(p, p.malloryBase)) == "");
      Conn c = connect(cli, srv);
      CHECK_FALSE(c.r.serverOk);
      CHECK(c.r.serverErr.find("certificate verify") != std::string::npos);
      CHECK_FALSE(c.server->established());
    }
  }
  SUBCASE("verify on, require on") {
    TlsModule srv;
    Params ps = serverParams(p);
    ps.push_back({"verify_certificate", pv("server:default=1")});
    ps.push_back({"require_certificate", pv("server:default=1")});
    REQUIRE(initModule(srv, ps) == "");
    TlsModule none, bob;
    REQUIRE(initModule(none, clientParams(p)) == "");
    REQUIRE(initModule(bob, clientParams(p, p.bobBase)) == "");
    Conn c1 = connect(none, srv);
    CHECK_FALSE(c1.r.serverOk);
    CHECK_FALSE(c1.server->established());
    // TLS 1.3: the client finished first, then learns of the failure from the alert.
    CHECK_FALSE(c1.r.clientOk);
    Conn c2 = connect(bob, srv);
    REQUIRE(c2.r.serverOk);
    CHECK(c2.server->peerVerified());
    CHECK(CertInfo::nameField(X509_get_subject_name(c2.server->peerCertificate()), NID_commonName) == "Bob");
  }
}

TEST_CASE("outbound connections verify the server certificate and its name") {
  Pki p;
  TlsModule srv;
  REQUIRE(initModule(srv, serverParams(p)) == "");
  SUBCASE("unknown CA fails by default") {
    TlsModule cli;
    REQUIRE(initModule(cli, {{"ca_list", pv("client:default=" + p.otherCaFile)}}) == "");
    Conn c = connect(cli, srv);
    CHECK_FALSE(c.r.clientOk);
    CHECK(c.r.clientErr.find("certificate verify") != std::string::npos);
  }
  SUBCASE("wrong host name fails") {
    TlsModule cli;
    REQUIRE(initModule(cli, clientParams(p)) == "");
    ConnectOptions opt;
    opt.serverName = "other.example.org";
    Conn c = connect(cli, srv, "127.0.0.1:5061", opt);
    CHECK_FALSE(c.r.clientOk);
    CHECK(c.r.clientErr.find("hostname mismatch") != std::string::npos);
  }
  SUBCASE("no host name: the destination IP is checked against the IP SAN") {
    TlsModule cli;
    REQUIRE(initModule(cli, clientParams(p)) == "");
    Conn c = connect(cli, srv, "127.0.0.1:5061");
    CHECK(c.r.clientOk);
    CHECK(c.client->peerVerified());
    Conn c2 = connect(cli, srv, "127.0.0.2:5061");  // no such IP in the certificate
    CHECK_FALSE(c2.r.clientOk);
  }
  SUBCASE("client domain server_name is sent as SNI and verified") {
    TlsModule cli;
    Params ps = clientParams(p);
    ps.push_back({"server_name", pv("client:default=sip.example.org")});
    REQUIRE(initModule(cli, ps) == "");
    Conn c = connect(cli, srv, "127.0.0.2:5061");
    REQUIRE(c.r.clientOk);
    CHECK(c.client->sni() == "sip.example.org");
    CHECK(c.server->sni() == "sip.example.org");
  }
  SUBCASE("verify_certificate=0 on the client domain accepts anything") {
    TlsModule cli;
    REQUIRE(initModule(cli, {{"verify_certificate", pv("client:default=0")}}) == "");
    Conn c = connect(cli, srv, "127.0.0.2:5061");
    CHECK(c.r.clientOk);
  }
}

TEST_CASE("SNI: exact name, then wildcard, then the listener's domain, then the default") {
  Pki p;
  auto mk = [&](const std::string& name, const std::string& cn) {
    CertSpec s;
    s.cn = cn;
    s.dns = {cn};
    p.pki.write(name, p.pki.issue(p.ca, s));
    return p.pki.path(name);
  };
  std::string exact = mk("exact", "a.example.com");
  std::string wild = mk("wild", "wild.example.com");
  std::string listener = mk("listener", "listener.example.com");
  std::string any = mk("any", "any.example.net");
  TlsModule srv, cli;
  Params ps = serverParams(p);
  for (auto [sel, base] : std::vector<std::pair<std::string, std::string>>{
           {"server:127.0.0.1:5061/a.example.com", exact},
           {"server:127.0.0.1:5061/wild", wild},
           {"server:127.0.0.1:5061", listener},
           {"server:any/any.example.net", any}}) {
    ps.push_back({"certificate", pv(sel + "=" + base + ".crt")});
    ps.push_back({"private_key", pv(sel + "=" + base + ".key")});
  }
  ps.push_back({"server_name", pv("server:127.0.0.1:5061/wild=*.example.com")});
  REQUIRE(initModule(srv, ps) == "");
  REQUIRE(initModule(cli, {{"verify_certificate", pv("client:default=0")}}) == "");
  auto served = [&](const std::string& sni, const std::string& local) {
    ConnectOptions opt;
    opt.serverName = sni;
    Conn c = connect(cli, srv, local, opt);
    REQUIRE_MESSAGE(c.r.serverOk, c.r.serverErr);
    X509* peer = c.client->peerCertificate();
    return std::make_pair(c.server->domain().name(), CertInfo::nameField(X509_get_subject_name(peer), NID_commonName));
  };
  CHECK(served("a.example.com", "127.0.0.1:5061") ==
        std::make_pair(std::string("server:127.0.0.1:5061/a.example.com"), std::string("a.example.com")));
  CHECK(served("b.example.com", "127.0.0.1:5061").first == "server:127.0.0.1:5061/wild");
  CHECK(served("b.example.com", "127.0.0.1:5061").second == "wild.example.com");
  CHECK(served("x.y.example.com", "127.0.0.1:5061").first == "server:127.0.0.1:5061");  // one label only
  CHECK(served("unknown.org", "127.0.0.1:5061").first == "server:127.0.0.1:5061");
  CHECK(served("any.example.net", "127.0.0.1:5061").first == "server:any/any.example.net");
  CHECK(served("any.example.net", "127.0.0.3:5061").first == "server:any/any.example.net");
  CHECK(served("a.example.com", "127.0.0.3:5061").first == "server:default");  // other listener
  CHECK(served("", "127.0.0.3:5061").second == "sip.example.org");
}

TEST_CASE("client domain by destination and by server_id; reuse key follows the domain") {
  Pki p;
  TlsModule srv;
  Params sp = serverParams(p);
  sp.push_back({"verify_certificate", pv("server:default=1")});
  sp.push_back({"require_certificate", pv("server:default=1")});
  REQUIRE(initModule(srv, sp) == "");
  TlsModule cli;
  Params ps = {{"ca_list", pv(p.caFile)}};  // both defaults
  ps.push_back({"certificate", pv("client:default=" + p.aliceBase + ".crt")});
  ps.push_back({"private_key", pv("client:default=" + p.aliceBase + ".key")});
  ps.push_back({"certificate", pv("client:127.0.0.1:5071=" + p.bobBase + ".crt")});
  ps.push_back({"private_key", pv("client:127.0.0.1:5071=" + p.bobBase + ".key")});
  ps.push_back({"certificate", pv("client:any/bob-id=" + p.bobBase + ".crt")});
  ps.push_back({"private_key", pv("client:any/bob-id=" + p.bobBase + ".key")});
  ps.push_back({"certificate", pv("server:default=" + p.serverBase + ".crt")});
  ps.push_back({"private_key", pv("server:default=" + p.serverBase + ".key")});
  REQUIRE(initModule(cli, ps) == "");
  auto peerCn = [](const Conn& c) {
    return CertInfo::nameField(X509_get_subject_name(c.server->peerCertificate()), NID_commonName);
  };
  Conn d = connect(cli, srv, "127.0.0.1:5061");
  REQUIRE(d.r.serverOk);
  CHECK(peerCn(d) == "Alice");
  CHECK(d.client->domain().name() == "client:default");
  Conn byAddr = connect(cli, srv, "127.0.0.1:5071");
  REQUIRE(byAddr.r.serverOk);
  CHECK(peerCn(byAddr) == "Bob");
  ConnectOptions opt;
  opt.profile = "bob-id";
  Conn byId = connect(cli, srv, "127.0.0.1:5061", opt);
  REQUIRE(byId.r.serverOk);
  CHECK(peerCn(byId) == "Bob");
  CHECK(byId.client->domain().name() == "client:any/bob-id");

  Transport& t = cli.transport();
  CHECK(t.clientDomainKey(addr("127.0.0.1:5061"), {}) != t.clientDomainKey(addr("127.0.0.1:5071"), {}));
  CHECK(t.clientDomainKey(addr("127.0.0.1:5061"), {}) != t.clientDomainKey(addr("127.0.0.1:5061"), opt));
  CHECK(t.clientDomainKey(addr("127.0.0.1:5061"), {}) == t.clientDomainKey(addr("127.0.0.1:5061"), {}));
  ConnectOptions unknown;
  unknown.profile = "nobody";
  auto refused = t.connect(clientEp(), unknown);
  CHECK_FALSE(refused);
  CHECK(refused.error().find("nobody") != std::string::npos);
}

TEST_CASE("session resumption: tickets and the client session cache") {
  Pki p;
  TlsModule srv, cli;
  REQUIRE(initModule(srv, serverParams(p)) == "");
  REQUIRE(initModule(cli, clientParams(p)) == "");
  Conn first = connect(cli, srv);
  REQUIRE(first.r.clientOk);
  CHECK_FALSE(first.client->resumed());
  Conn second = connect(cli, srv);
  REQUIRE(second.r.clientOk);
  CHECK(second.client->resumed());
  CHECK(second.server->resumed());
  // After the ticket key rotates, old tickets still resume (older key accepted).
  Conn extra = connect(cli, srv);
  CHECK(extra.server->resumed());
  srv.ticketKeys()->rotate();
  Conn third = connect(cli, srv);
  REQUIRE(third.r.clientOk);
  CHECK(third.server->resumed());
  // A key that fell off the ring no longer decrypts: full handshake, still succeeds.
  for (size_t i = 0; i < TicketKeyRing::kMaxKeys; ++i) srv.ticketKeys()->rotate();
  Conn fourth = connect(cli, srv);
  REQUIRE(fourth.r.clientOk);
  CHECK_FALSE(fourth.server->resumed());
}

TEST_CASE("method restricts the protocol version; ciphers and suites apply") {
  Pki p;
  TlsModule srv, cli;
  Params ps = serverParams(p);
  ps.push_back({"method", pv("server:default=TLSv1.2")});
  ps.push_back({"cipher_list", pv("server:default=ECDHE-ECDSA-AES128-GCM-SHA256")});
  REQUIRE(initModule(srv, ps) == "");
  REQUIRE(initModule(cli, clientParams(p)) == "");
  Conn c = connect(cli, srv);
  REQUIRE(c.r.clientOk);
  CHECK(std::string(SSL_get_version(c.client->ssl())) == "TLSv1.2");
  CHECK(std::string(SSL_get_cipher_name(c.server->ssl())) == "ECDHE-ECDSA-AES128-GCM-SHA256");
  CHECK((SSL_get_options(c.server->ssl()) & SSL_OP_NO_RENEGOTIATION) != 0);
  CHECK((SSL_get_options(c.server->ssl()) & SSL_OP_NO_COMPRESSION) != 0);

  TlsModule only13;
  REQUIRE(initModule(only13, {{"method", pv("client:default=TLSv1.3")}, {"ca_list", pv(p.caFile)}}) == "");
  Conn bad = connect(only13, srv);
  CHECK_FALSE(bad.r.clientOk);
}

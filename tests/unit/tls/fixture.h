// A test PKI with the usual cast (CA, server, Alice, Bob, an unrelated CA's Mallory) and a
// helper that builds an initialised TlsModule from modparams.
#pragma once
#include <doctest/doctest.h>

#include <memory>
#include <utility>
#include <vector>

#include "harness.h"
#include "test_pki.h"
#include "tests/unit/error_text.h"
#include "tls/tls_session.h"

namespace sipsd::tls::test {

struct Pki {
  TestPki pki;
  KeyCert ca, server, alice, bob, otherCa, mallory;
  std::string caFile, serverBase, aliceBase, bobBase, malloryBase, otherCaFile;

  Pki() {
    ca = pki.makeCa("Test CA");
    CertSpec s;
    s.cn = "sip.example.org";
    s.o = "Example Server Org";
    s.dns = {"sip.example.org"};
    s.ips = {"127.0.0.1"};
    server = pki.issue(ca, s);
    CertSpec a;
    a.cn = "Alice";
    a.o = "Example Inc";
    a.ou = "Voice";
    a.l = "Prague";
    a.c = "CZ";
    a.st = "Bohemia";
    a.email = "alice@example.org";
    a.uri = "sip:alice@example.org";
    a.dns = {"alice.example.org"};
    a.ips = {"10.1.2.3"};
    alice = pki.issue(ca, a);
    CertSpec b;
    b.cn = "Bob";
    bob = pki.issue(ca, b);
    otherCa = pki.makeCa("Other CA");
    CertSpec m;
    m.cn = "Mallory";
    mallory = pki.issue(otherCa, m);
    caFile = pki.path("ca.crt");
    pki.writeCert(caFile, ca.cert.get());
    otherCaFile = pki.path("other-ca.crt");
    pki.writeCert(otherCaFile, otherCa.cert.get());
    serverBase = pki.write("server", server);
    aliceBase = pki.write("alice", alice);
    bobBase = pki.write("bob", bob);
    malloryBase = pki.write("mallory", mallory);
  }
};

using Params = std::vector<std::pair<std::string, ParamValue>>;

// Sets every param (failing the test on an error) and runs init; returns init's error text.
inline std::string initModule(TlsModule& m, const Params& ps) {
  for (const auto& [n, v] : ps) {
    std::string e = errorText(m.setParam(n, v));
    REQUIRE_MESSAGE(e.empty(), n << ": " << e);
  }
  return errorText(m.init(nullptr));
}

inline std::unique_ptr<TlsSession> asTls(std::unique_ptr<TransportSession> s) {
  return std::unique_ptr<TlsSession>(dynamic_cast<TlsSession*>(s.release()));
}

struct Conn {
  std::unique_ptr<TlsSession> client, server;
  Pumped r;
};

// Opens a client session on `cm` towards `dest` and a server session on `sm` at `dest`.
inline Conn connect(TlsModule& cm, TlsModule& sm, const std::string& dest = "127.0.0.1:5061",
                    ConnectOptions opt = {}, bool doPump = true) {
  Conn c;
  auto client = cm.transport().connect(clientEp(dest), opt);
  REQUIRE_MESSAGE(client, client.error());
  c.client = asTls(std::move(client).value());
  auto server = sm.transport().accept(serverEp(dest));
  REQUIRE_MESSAGE(server, server.error());
  c.server = asTls(std::move(server).value());
  if (doPump) c.r = pump(*c.client, *c.server);
  return c;
}

}  // namespace sipsd::tls::test

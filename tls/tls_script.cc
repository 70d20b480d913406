// @tls selects (resolved once at config load into a small closure) and script functions.
#include "tls/tls_script.h"

#include <openssl/x509v3.h>

#include "core/log.h"
#include "core/module_helpers.h"
#include "tls/cert_info.h"
#include "tls/tls_domain.h"
#include "tls/tls_domain_set.h"
#include "tls/tls_module.h"
#include "tls/tls_session.h"

namespace sipsd::tls {
namespace {

const TlsSession* sessionOf(ScriptContext& ctx) {
  // Our layer of the connection's session stack, wherever it sits (under WebSocket one day).
  const TlsSession* s = ctx.rcv.layer<TlsSession>();
  return s && s->established() ? s : nullptr;
}

// A select body: computes the value from an established session; the wrapper turns a
// missing session (not TLS, or no handshake yet) into Null, so every ordering comparison with
// it is false (`@tls.cipher.bits < 128` on UDP) and it equals only "" / Null.
using Body = std::function<Value(const TlsSession&)>;

SelectFn wrap(Body body) {
  return [body = std::move(body)](ScriptContext& ctx) -> Value {
    const TlsSession* s = sessionOf(ctx);
    return s ? body(*s) : Value::null();
  };
}

Value str(std::string s) { return Value::owned(std::move(s)); }

int nidOf(const std::string& f) {
  if (f == "cn" || f == "common_name") return NID_commonName;
  if (f == "locality" || f == "l") return NID_localityName;
  if (f == "country" || f == "c") return NID_countryName;
  if (f == "state" || f == "st") return NID_stateOrProvinceName;
  if (f == "organization" || f == "o") return NID_organizationName;
  if (f == "unit" || f == "ou") return NID_organizationalUnitName;
  return NID_undef;
}

std::string resolveCert(bool peer, const std::vector<SelectPart>& p, size_t i, SelectFn& out) {
  auto cert = [peer](const TlsSession& s) { return peer ? s.peerCertificate() : s.localCertificate(); };
  // @tls.peer / @tls.me / @tls.my: subject common name.
  if (i == p.size()) {
    out = wrap([cert](const TlsSession& s) {
      X509* x = cert(s);
      return str(x ? CertInfo::nameField(X509_get_subject_name(x), NID_commonName) : "");
    });
    return {};
  }
  const std::string& f = p[i].name;
  if (f == "subject" || f == "subj" || f == "issuer") {
    bool issuer = f == "issuer";
    int nid = NID_commonName;
    if (i + 1 < p.size()) {
      nid = nidOf(p[i + 1].name);
      if (nid == NID_undef || i + 2 < p.size()) return "unknown field '" + p[i + 1].name + "'";
    }
    out = wrap([cert, issuer, nid](const TlsSession& s) {
      X509* x = cert(s);
      if (!x) return str("");
      return str(CertInfo::nameField(issuer ? X509_get_issuer_name(x) : X509_get_subject_name(x), nid));
    });
    return {};
  }
  if (i + 1 != p.size()) return "unexpected '" + p[i + 1].name + "' after '" + f + "'";
  if (f == "verified") {
    if (!peer) return "'verified' exists for the peer only";
    out = wrap([](const TlsSession& s) { return Value::boolean(s.peerVerified()); });
  } else if (f == "revoked") {
    if (!peer) return "'revoked' exists for the peer only";
    out = wrap([](const TlsSession& s) { return Value::boolean(s.peerRevoked()); });
  } else if (f == "expired") {
    out = wrap([cert](const TlsSession& s) { return Value::boolean(CertInfo::expired(cert(s))); });
  } else if (f == "selfsigned") {
    out = wrap([cert](const TlsSession& s) { return Value::boolean(CertInfo::selfSigned(cert(s))); });
  } else if (f == "fingerprint") {
    out = wrap([cert](const TlsSession& s) { return str(CertInfo::fingerprint(cert(s))); });
  } else if (f == "version") {
    out = wrap([cert](const TlsSession& s) {
      X509* x = cert(s);
      return Value::integer(x ? X509_get_version(x) + 1 : 0);
    });
  } else if (f == "sn" || f == "serial") {
    out = wrap([cert](const TlsSession& s) {
      std::string d = CertInfo::serial(cert(s));
      // Small serials compare as numbers in scripts; huge ones stay text.
      if (!d.empty() && d.size() < 18) return Value::integer(std::stoll(d));
      return str(d);
    });
  } else if (f == "not_before" || f == "not_after") {
    bool before = f == "not_before";
    out = wrap([cert, before](const TlsSession& s) {
      X509* x = cert(s);
      if (!x) return str("");
      return str(CertInfo::timeText(before ? X509_get0_notBefore(x) : X509_get0_notAfter(x)));
    });
  } else if (f == "email") {
    out = wrap([cert](const TlsSession& s) { return str(CertInfo::email(cert(s))); });
  } else if (f == "host" || f == "uri" || f == "ip") {
    int type = f == "host" ? GEN_DNS : f == "uri" ? GEN_URI : GEN_IPADD;
    out = wrap([cert, type](const TlsSession& s) { return str(CertInfo::altName(cert(s), type)); });
  } else {
    return "unknown certificate field '" + f + "'";
  }
  return {};
}

Result<SelectFn> resolve(const std::vector<SelectPart>& p) {
  std::string path = "@tls";
  for (size_t i = 1; i < p.size(); ++i) path += "." + p[i].name;
  auto bad = [&](const std::string& why) { return fail("select " + path + ": " + why); };
  for (const auto& part : p) {
    if (part.index >= 0) return bad("'" + part.name + "' takes no [index]");
  }
  auto desc = [](const TlsSession& s) {
    char buf[256] = {};
    const SSL_CIPHER* c = SSL_get_current_cipher(s.ssl());
    std::string d = c ? SSL_CIPHER_description(c, buf, sizeof buf) : "";
    while (!d.empty() && (d.back() == '\n' || d.back() == ' ')) d.pop_back();
    return str(d);
  };
  if (p.size() == 1) return wrap(desc);
  const std::string& a = p[1].name;
  if (a == "peer" || a == "me" || a == "my") {
    SelectFn out;
    if (std::string e = resolveCert(a == "peer", p, 2, out); !e.empty()) return bad(e);
    return out;
  }
  if (a == "cipher" && p.size() == 3 && p[2].name == "bits")
    return wrap([](const TlsSession& s) { return Value::integer(SSL_get_cipher_bits(s.ssl(), nullptr)); });
  if (p.size() != 2) return bad("unknown select");
  if (a == "desc") return wrap(desc);
  if (a == "version") return wrap([](const TlsSession& s) { return Value::view(SSL_get_version(s.ssl())); });
  if (a == "cipher") return wrap([](const TlsSession& s) { return Value::view(SSL_get_cipher_name(s.ssl())); });
  if (a == "sni") return wrap([](const TlsSession& s) { return Value::view(s.sni()); });
  if (a == "domain") return wrap([](const TlsSession& s) { return Value::view(s.domain().name()); });
  return bad("unknown select");
}

}  // namespace

SelectExport tlsSelectExport() { return SelectExport{"tls", &resolve}; }

std::vector<FunctionExport> tlsFunctions(TlsModule& m) {
  std::vector<FunctionExport> f;
  f.push_back(scriptFunction("is_peer_verified", 0, 0, [](ScriptContext& ctx, const std::vector<FuncArg>&, const void*) {
    const TlsSession* s = sessionOf(ctx);
    return s && s->peerVerified() ? 1 : -1;
  }));
  f.push_back(scriptFunction(
      "tls_set_connect_server_id", 1, 1,
      [&m](ScriptContext& ctx, const std::vector<FuncArg>& args, const void*) {
        std::string id = args[0].eval(ctx).text();
        auto set = m.transport().current();
        if (id.empty() || !set || !set->byServerId(id)) {
          logging::write(kLogWarn, "tls", "tls_set_connect_server_id: no TLS client domain has server_id '" + id + "'");
          return -1;
        }
        ctx.connect.profile = id;  // read back by TlsTransport::connect() when the relay opens a connection
        return 1;
      },
      kRequestRoute));
  return f;
}

}  // namespace sipsd::tls

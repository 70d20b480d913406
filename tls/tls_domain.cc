// Building and checking one domain's SSL_CTX.
#include "tls/tls_domain.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "tls/cert_info.h"
#include "tls/file_digest.h"
#include "tls/ticket_keys.h"
#include "tls/tls_session.h"
#include "tls/trust_store.h"

namespace sipsd::tls {
namespace {

constexpr size_t kClientSessionCacheMax = 1024;

int ctxIndex() {
  static const int idx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}

std::string at(const std::map<std::string, SourceLoc>& locs, const std::string& name) {
  auto it = locs.find(name);
  if (it == locs.end() || it->second.file.empty()) return "";
  return " (set at " + it->second.str() + ")";
}

}  // namespace

TlsDomain* TlsDomain::fromCtx(SSL_CTX* ctx) {
  return ctx ? static_cast<TlsDomain*>(SSL_CTX_get_ex_data(ctx, ctxIndex())) : nullptr;
}

TlsDomain::~TlsDomain() = default;

std::shared_ptr<TlsDomain> TlsDomain::parse(const DomainConfig& cfg, const DomainConfig* def, std::string& err) {
  std::shared_ptr<TlsDomain> d(new TlsDomain());
  d->id_ = cfg.id;
  d->name_ = cfg.id.str();
  const std::string prefix = "TLS domain " + d->name_ + ": ";

  // Effective settings: the domain's own, then what the side's default says. What chooses a
  // domain (server_name, server_id) is its own; its identity (certificate + key) is inherited
  // only as a pair, never half of it.
  auto effectOf = [](const std::string& name) {
    const SettingSpec* s = findSetting(name);
    return s ? s->effect : SettingEffect::Setup;
  };
  std::map<std::string, ParamValue> eff = cfg.settings;
  bool ownIdentity = false;
  for (const auto& [name, v] : eff) ownIdentity = ownIdentity || effectOf(name) == SettingEffect::Identity;
  bool peers = cfg.peersGiven;
  if (def) {
    peers = peers || def->peersGiven;
    for (const auto& [name, v] : def->settings) {
      const SettingEffect e = effectOf(name);
      if (e == SettingEffect::Choice || (ownIdentity && e == SettingEffect::Identity)) continue;
      eff.emplace(name, v);
    }
  }
  DomainOptions& o = d->opt_;
  o = defaultOptions(cfg.id.side);
  if (peers) o.verifyCertificate = o.requireCertificate = true;
  for (const auto& [name, v] : eff) {
    d->locs_[name] = v.loc;
    const SettingSpec* spec = findSetting(name);
    if (!spec) continue;  // TlsConfig::set admits table names only
    if (std::string what = applySetting(*spec, v, o); !what.empty()) {
      err = (v.loc.file.empty() ? std::string() : v.loc.str() + ": ") + prefix + "'" + name + "' " + what;
      return nullptr;
    }
  }
  if (o.serverName.empty() && !cfg.id.label.empty() && cfg.id.side == Side::Server) o.serverName = cfg.id.label;
  if (o.serverId.empty() && !cfg.id.label.empty() && cfg.id.side == Side::Client) o.serverId = cfg.id.label;
  for (const auto& spec : settingTable()) {
    if (spec.scope != SettingScope::Domain || !spec.isPath()) continue;
    if (std::string p = settingText(spec, o); !p.empty()) d->inputs_.push_back(std::move(p));
  }
  d->computeDigest();
  return d;
}

void TlsDomain::computeDigest() {
  // Every effective setting the table marks (paths by role, so a file moved from ca_list to crl
  // counts) and the content of every file read. Equal digests mean an equal SSL_CTX.
  std::string settingsText = name_;
  for (const auto& [n, l] : locs_) settingsText += "|" + n;
  for (const auto& s : settingTable()) {
    if (s.inDigest()) settingsText += "|" + std::string(s.name) + "=" + settingText(s, opt_);
  }
  digest_ = digestPaths(inputs_) + ":" + std::to_string(std::hash<std::string>{}(settingsText));
}

std::shared_ptr<TlsDomain> TlsDomain::create(const DomainConfig& cfg, const DomainConfig* def, const GlobalConfig& g,
                                             std::shared_ptr<TicketKeyRing> ring, std::string& err) {
  bool reused = false;
  return createOrReuse(cfg, def, g, std::move(ring), nullptr, reused, err);
}

std::shared_ptr<TlsDomain> TlsDomain::createOrReuse(const DomainConfig& cfg, const DomainConfig* def,
                                                    const GlobalConfig& g, std::shared_ptr<TicketKeyRing> ring,
                                                    const std::shared_ptr<TlsDomain>& previous, bool& reused,
                                                    std::string& err) {
  reused = false;
  auto d = parse(cfg, def, err);
  if (!d) return nullptr;
  if (previous && previous->name_ == d->name_ && previous->digest_ == d->digest_ && previous->ring_ == ring) {
    reused = true;
    return previous;
  }
  d->ring_ = std::move(ring);
  if (std::string e = d->build(g); !e.empty()) {
    err = "TLS domain " + d->name_ + ": " + e;
    return nullptr;
  }
  return d;
}

std::string TlsDomain::build(const GlobalConfig& g) {
  const bool server = id_.side == Side::Server;
  ERR_clear_error();
  ctx_.reset(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  if (!ctx_) return "cannot create SSL_CTX: " + opensslErrors();
  SSL_CTX* c = ctx_.get();
  SSL_CTX_set_ex_data(c, ctxIndex(), this);

  if (!SSL_CTX_set_min_proto_version(c, opt_.minVersion) || !SSL_CTX_set_max_proto_version(c, opt_.maxVersion)) {
    return "method '" + opt_.method + "' is not supported by this OpenSSL" + at(locs_, "method");
  }
  uint64_t opts = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;
  if (server) opts |= SSL_OP_CIPHER_SERVER_PREFERENCE;
  // TLS 1.2: no ticket extension. TLS 1.3: OpenSSL then sends stateful tickets (ids into the
  // session cache), or, with the cache off too, none at all (num_tickets 0 below).
  if (!g.sessionTickets) opts |= SSL_OP_NO_TICKET;
  SSL_CTX_set_options(c, opts);
  // Idle connections keep no read/write buffers.
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);

  if (!opt_.cipherList.empty() && !SSL_CTX_set_cipher_list(c, opt_.cipherList.c_str())) {
    return "cipher_list '" + opt_.cipherList + "' is invalid" + at(locs_, "cipher_list") + ": " + opensslErrors();
  }
  if (!opt_.cipherSuites.empty() && !SSL_CTX_set_ciphersuites(c, opt_.cipherSuites.c_str())) {
    return "cipher_suites '" + opt_.cipherSuites + "' is invalid" + at(locs_, "cipher_suites") + ": " +
           opensslErrors();
  }
  if (std::string e = loadIdentity(); !e.empty()) return e;
  if (std::string e = loadTrust(); !e.empty()) return e;

  int mode = SSL_VERIFY_NONE;
  if (opt_.verifyCertificate) {
    mode = SSL_VERIFY_PEER;
    // As in SER: require only means something when the peer is asked for a certificate.
    if (server && opt_.requireCertificate) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  SSL_CTX_set_verify(c, mode, &TlsSession::verifyCallback);
  SSL_CTX_set_verify_depth(c, opt_.verifyDepth);

  if (server) {
    SSL_CTX_set_client_hello_cb(c, &TlsSession::clientHelloCallback, nullptr);
    // Sessions resume only within the domain that created them, and only while its
    // certificates, CAs and CRLs are unchanged: after a revocation, a ticket issued before it
    // must not skip the new check.
    unsigned char sid[SHA256_DIGEST_LENGTH];
    std::string sidText = name_ + "|" + digest_;
    SHA256(reinterpret_cast<const unsigned char*>(sidText.data()), sidText.size(), sid);
    SSL_CTX_set_session_id_context(c, sid, SSL_MAX_SID_CTX_LENGTH);
    if (g.sessionCache > 0) {
      SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
      SSL_CTX_sess_set_cache_size(c, g.sessionCache);
    } else {
      SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    }
    // Nothing could resume: send no TLS 1.3 NewSessionTicket at all.
    if (!g.sessionTickets && g.sessionCache <= 0) SSL_CTX_set_num_tickets(c, 0);
    if (g.sessionTickets && ring_) {
      SSL_CTX_set_tlsext_ticket_key_evp_cb(c, &TicketKeyRing::callback);
      SSL_CTX_set_timeout(c, long(ring_->lifetime().count()) * long(TicketKeyRing::kMaxKeys - 1));
    }
  } else {
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(c, &TlsSession::newSessionCallback);
  }

  return {};
}

std::string TlsDomain::loadIdentity() {
  const bool server = id_.side == Side::Server;
  if (opt_.certificate.empty() != opt_.privateKey.empty()) {
    return opt_.certificate.empty() ? "private_key is set" + at(locs_, "private_key") + " but certificate is not"
                                    : "certificate is set" + at(locs_, "certificate") + " but private_key is not";
  }
  if (opt_.certificate.empty()) {
    // Explicit server domains must be able to answer; the default one may stay empty when
    // the process only uses TLS outbound (accept() then refuses with a clear reason).
    if (server && !id_.isDefault()) return "a server domain needs a certificate and private_key";
    return {};
  }
  const std::string& cert = opt_.certificate;
  ERR_clear_error();
  BioPtr bio(BIO_new_file(cert.c_str(), "r"));
  if (!bio) {
    int e = errno;
    ERR_clear_error();
    return "certificate " + cert + at(locs_, "certificate") + ": cannot open: " + std::strerror(e);
  }
  X509Ptr leaf(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!leaf) return "certificate " + cert + at(locs_, "certificate") + ": no PEM certificate: " + opensslErrors();
  if (X509_cmp_current_time(X509_get0_notAfter(leaf.get())) < 0) {
    return "certificate " + cert + at(locs_, "certificate") + " expired on " +
           CertInfo::timeText(X509_get0_notAfter(leaf.get()));
  }
  if (X509_cmp_current_time(X509_get0_notBefore(leaf.get())) > 0) {
    return "certificate " + cert + at(locs_, "certificate") + " is not valid before " +
           CertInfo::timeText(X509_get0_notBefore(leaf.get()));
  }
  if (SSL_CTX_use_certificate_chain_file(ctx_.get(), cert.c_str()) != 1) {
    return "certificate " + cert + at(locs_, "certificate") + ": cannot load chain: " + opensslErrors();
  }
  const std::string& key = opt_.privateKey;
  if (std::FILE* f = std::fopen(key.c_str(), "r")) {
    std::fclose(f);
  } else {
    return "private_key " + key + at(locs_, "private_key") + ": cannot open: " + std::strerror(errno);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx_.get(), key.c_str(), SSL_FILETYPE_PEM) != 1) {
    // OpenSSL reports "key values mismatch" here when the key belongs to another certificate.
    std::string why = opensslErrors();
    if (why.find("mismatch") != std::string::npos) {
      return "private_key " + key + at(locs_, "private_key") + " does not match certificate " + cert;
    }
    return "private_key " + key + at(locs_, "private_key") + ": cannot load (PEM/PKCS#8 expected): " + why;
  }
  if (SSL_CTX_check_private_key(ctx_.get()) != 1) {
    ERR_clear_error();
    return "private_key " + key + at(locs_, "private_key") + " does not match certificate " + cert;
  }
  return {};
}

std::string TlsDomain::loadTrust() {
  X509_STORE* store = SSL_CTX_get_cert_store(ctx_.get());
  TrustMaterial m;
  if (!opt_.caList.empty()) {
    if (std::string e = TrustStore::loadPemFile(opt_.caList, m, true, true); !e.empty()) {
      return "ca_list " + e + at(locs_, "ca_list");
    }
  }
  if (!opt_.caPath.empty()) {
    if (std::string e = TrustStore::loadHashDir(opt_.caPath, m); !e.empty()) return "ca_path " + e + at(locs_, "ca_path");
  }
  if (!opt_.crl.empty()) {
    if (std::string e = TrustStore::loadPemFile(opt_.crl, m, false, true); !e.empty()) return "crl " + e + at(locs_, "crl");
  }
  // The CA names a server sends in its CertificateRequest, so clients pick the right cert.
  if (id_.side == Side::Server && !m.certs.empty()) {
    X509NameStackPtr names(sk_X509_NAME_new_null());
    for (const auto& c : m.certs) {
      X509_NAME* n = X509_get_subject_name(c.get());
      bool dup = false;
      for (int i = 0; i < sk_X509_NAME_num(names.get()) && !dup; ++i) {
        dup = X509_NAME_cmp(sk_X509_NAME_value(names.get(), i), n) == 0;
      }
      if (!dup) sk_X509_NAME_push(names.get(), X509_NAME_dup(n));
    }
    SSL_CTX_set_client_CA_list(ctx_.get(), names.release());
  }
  if (std::string e = TrustStore::fill(store, m); !e.empty()) return e;
  if (opt_.crlEnabled || !opt_.crl.empty()) {
    for (const auto& crl : m.crls) {  // fill() kept the newest per issuer
      const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get());
      if (!next) continue;
      struct tm tmv{};
      if (ASN1_TIME_to_tm(next, &tmv) != 1) continue;
      auto f = m.crlFiles.find(crl.get());
      crlDue_.push_back({f == m.crlFiles.end() ? std::string("?") : f->second,
                         CertInfo::nameField(X509_CRL_get_issuer(crl.get()), NID_commonName),
                         CertInfo::timeText(next), timegm(&tmv)});
    }
  }
  if (opt_.crlEnabled) {
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  } else if (!opt_.crl.empty()) {
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  }
  if (opt_.caList.empty() && opt_.caPath.empty() && opt_.verifyCertificate) {
    // Nothing configured: trust what the system trusts (outbound to public servers).
    SSL_CTX_set_default_verify_paths(ctx_.get());
  }
  return {};
}

RpcStruct TlsDomain::describe() const {
  RpcStruct s;
  s.emplace_back("domain", name_);
  s.emplace_back("side", std::string(sideName(id_.side)));
  s.emplace_back("address", id_.addr);
  // Every domain setting of the table (the key's path, never key material).
  for (const auto& spec : settingTable()) {
    if (spec.scope == SettingScope::Domain) s.emplace_back(std::string(spec.name), settingValue(spec, opt_));
  }
  if (X509* x = SSL_CTX_get0_certificate(ctx_.get())) {
    s.emplace_back("certificate_subject", CertInfo::nameField(X509_get_subject_name(x), NID_commonName));
    s.emplace_back("certificate_not_after", CertInfo::timeText(X509_get0_notAfter(x)));
  }
  return s;
}

SslSessionPtr TlsDomain::takeSession(const std::string& key) {
  std::lock_guard lk(sessMu_);
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return nullptr;
  if (!SSL_SESSION_is_resumable(it->second.get())) {
    sessions_.erase(it);
    return nullptr;
  }
  // Kept for the next connection too (not every server sends a fresh ticket on resumption);
  // the connection gets a copy because OpenSSL marks a connection's session unresumable
  // when it ends without close_notify.
  return SslSessionPtr(SSL_SESSION_dup(it->second.get()));
}

void TlsDomain::storeSession(const std::string& key, SSL_SESSION* s) {
  SslSessionPtr owned(s);
  std::lock_guard lk(sessMu_);
  if (sessions_.size() >= kClientSessionCacheMax && !sessions_.count(key)) sessions_.erase(sessions_.begin());
  sessions_[key] = std::move(owned);
}

}  // namespace sipsd::tls

// TLS sessions over memory BIOs: handshake, record I/O, SNI domain switch, verification
// bookkeeping and client-side resumption.
#include "tls/tls_session.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/log.h"
#include "core/module_api.h"
#include "tls/cert_info.h"
#include "tls/session_registry.h"
#include "tls/tls_domain.h"
#include "tls/tls_domain_set.h"
#include "tls/tls_metrics.h"

namespace sipsd::tls {
namespace {

int sslIndex() {
  static const int idx = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}

bool isIpLiteral(const std::string& s) {
  unsigned char buf[16];
  std::string t = s;
  if (t.size() > 2 && t.front() == '[' && t.back() == ']') t = t.substr(1, t.size() - 2);
  return inet_pton(AF_INET, t.c_str(), buf) == 1 || inet_pton(AF_INET6, t.c_str(), buf) == 1;
}

}  // namespace

TlsSession* TlsSession::fromSsl(const SSL* ssl) {
  return ssl ? static_cast<TlsSession*>(SSL_get_ex_data(ssl, sslIndex())) : nullptr;
}

TlsSession::TlsSession(std::shared_ptr<const TlsDomainSet> set, const TlsDomain& domain, Side side,
                       const ConnEndpoints& ep, SessionRegistry* reg, int tlsLog)
    : set_(std::move(set)), domain_(&domain), side_(side), ep_(ep), reg_(reg), tlsLog_(tlsLog),
      initialDomain_(domain.name()) {}

TlsSession::~TlsSession() {
  if (reg_) reg_->remove(regKey_);
  // Most SIP peers just close the TCP connection. OpenSSL would then drop the session from the
  // server's cache (the RFC 2246 rule; TLS 1.1+ no longer asks for it), so session-ID and
  // stateful-ticket resumption would only work for peers that send close_notify. A session
  // that failed (fatal alert) stays unresumable: OpenSSL marks it so itself.
  if (ssl_ && established_ && !failed_) SSL_set_shutdown(ssl_.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
}

std::string TlsSession::setupSsl() {
  ERR_clear_error();
  ssl_.reset(SSL_new(domain_->ctx()));
  if (!ssl_) return "SSL_new failed: " + opensslErrors();
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  if (!rbio_ || !wbio_) {
    BIO_free(rbio_);
    BIO_free(wbio_);
    rbio_ = wbio_ = nullptr;
    return "cannot allocate memory BIOs";
  }
  // An empty memory BIO reports "retry" instead of EOF, which is what a non-blocking socket means.
  BIO_set_mem_eof_return(rbio_, -1);
  SSL_set_bio(ssl_.get(), rbio_, wbio_);
  SSL_set_ex_data(ssl_.get(), sslIndex(), this);
  if (reg_) {
    regKey_ = reg_->nextKey();
    reg_->add(regKey_, this);
  }
  return {};
}

std::unique_ptr<TlsSession> TlsSession::createServer(std::shared_ptr<const TlsDomainSet> set, const TlsDomain& domain,
                                                     const ConnEndpoints& ep, SessionRegistry* reg, int tlsLog,
                                                     std::string& err) {
  std::unique_ptr<TlsSession> s(new TlsSession(std::move(set), domain, Side::Server, ep, reg, tlsLog));
  err = s->setupSsl();
  if (!err.empty()) return nullptr;
  SSL_set_accept_state(s->ssl_.get());
  return s;
}

std::unique_ptr<TlsSession> TlsSession::createClient(std::shared_ptr<const TlsDomainSet> set, const TlsDomain& domain,
                                                     const ConnEndpoints& ep, const ConnectOptions& opt,
                                                     SessionRegistry* reg, int tlsLog, std::string& err) {
  std::unique_ptr<TlsSession> s(new TlsSession(std::move(set), domain, Side::Client, ep, reg, tlsLog));
  err = s->setupSsl();
  if (!err.empty()) return nullptr;
  SSL* ssl = s->ssl_.get();
  SSL_set_connect_state(ssl);
  const DomainOptions& o = domain.options();
  // The name we ask for and check: the domain's server_name, else the target host name.
  std::string name = !o.serverName.empty() ? o.serverName : opt.serverName;
  if (!name.empty() && !isIpLiteral(name)) {
    s->sni_ = name;
    if (!SSL_set_tlsext_host_name(ssl, name.c_str())) {
      err = "cannot set SNI '" + name + "': " + opensslErrors();
      return nullptr;
    }
  }
  if (o.verifyCertificate) {
    X509_VERIFY_PARAM* p = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(p, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    std::string checkName = name.empty() ? ep.remote.ip() : name;
    if (checkName.size() > 2 && checkName.front() == '[') checkName = checkName.substr(1, checkName.size() - 2);
    int ok = isIpLiteral(checkName) ? X509_VERIFY_PARAM_set1_ip_asc(p, checkName.c_str())
                                    : X509_VERIFY_PARAM_set1_host(p, checkName.c_str(), 0);
    if (ok != 1) {
      err = "cannot set the name to verify '" + checkName + "': " + opensslErrors();
      return nullptr;
    }
  }
  s->cacheKey_ = ep.remote.str() + "|" + name;
  if (SslSessionPtr cached = const_cast<TlsDomain&>(domain).takeSession(s->cacheKey_)) {
    SSL_set_session(ssl, cached.get());  // takes its own reference
  }
  return s;
}

void TlsSession::drain(std::string& wire) {
  size_t n = BIO_ctrl_pending(wbio_);
  if (n == 0) return;
  size_t old = wire.size();
  wire.resize(old + n);
  int got = BIO_read(wbio_, wire.data() + old, int(n));
  wire.resize(old + (got > 0 ? size_t(got) : 0));
}

std::string TlsSession::failure(int sslErr, const char* during) {
  std::string why = opensslErrors();
  if (sslErr == SSL_ERROR_SYSCALL && why.empty()) why = "unexpected end of data";
  if (why.empty()) why = "SSL error " + std::to_string(sslErr);
  if (!verifyError_.empty()) why += " (certificate verify: " + verifyError_ + ")";
  std::string r = std::string(during) + " failed with " + ep_.remote.str() + " (" + initialDomain_ + "): " + why;
  failed_ = true;
  return r;
}

IoResult TlsSession::start(std::string& wire) {
  IoResult r;
  if (side_ != Side::Client) return r;
  std::string plain;
  r = handshake(plain, wire);
  return r;
}

IoResult TlsSession::handshake(std::string& plain, std::string& wire) {
  IoResult r;
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_.get());
  if (rc == 1) {
    if (!outcomeCounted_) TlsMetrics::instance().handshake(side_, HandshakeOutcome::Ok);
    outcomeCounted_ = true;
    onEstablished();
    r.justEstablished = true;
    if (!pending_.empty()) {
      std::string queued;
      queued.swap(pending_);
      if (!writeAll(queued, r)) {
        drain(wire);
        return r;
      }
    }
    readAll(plain, r);
  } else {
    int e = SSL_get_error(ssl_.get(), rc);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
      r.ok = false;
      if (!outcomeCounted_) {
        TlsMetrics::instance().handshake(side_, TlsMetrics::classify(verifyErrCode_, ERR_GET_REASON(ERR_peek_error())));
        outcomeCounted_ = true;
      }
      r.error = failure(e, "TLS handshake");
      logging::write(tlsLog_, "tls", r.error);
    }
  }
  drain(wire);
  return r;
}

IoResult TlsSession::onReceive(std::string_view in, std::string& plain, std::string& wire) {
  IoResult r;
  if (failed_) {
    r.ok = false;
    r.error = "TLS session already failed";
    return r;
  }
  if (!in.empty() && BIO_write(rbio_, in.data(), int(in.size())) != int(in.size())) {
    r.ok = false;
    r.error = "cannot buffer received TLS data";
    return r;
  }
  if (!established_) return handshake(plain, wire);
  readAll(plain, r);
  drain(wire);
  return r;
}

bool TlsSession::readAll(std::string& plain, IoResult& r) {
  constexpr size_t kChunk = 16384;
  for (;;) {
    ERR_clear_error();
    size_t old = plain.size();
    plain.resize(old + kChunk);
    size_t got = 0;
    int rc = SSL_read_ex(ssl_.get(), plain.data() + old, kChunk, &got);
    plain.resize(old + got);
    if (rc == 1) continue;
    int e = SSL_get_error(ssl_.get(), rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
    r.ok = false;
    if (e == SSL_ERROR_ZERO_RETURN) {
      r.error = "peer " + ep_.remote.str() + " closed the TLS session (close_notify)";
      r.peerClosed = true;
      if (!shutdownSent_) {
        SSL_shutdown(ssl_.get());  // answer with our close_notify (drained by the caller)
        shutdownSent_ = true;
      }
    } else {
      r.error = failure(e, "TLS read");
    }
    logging::write(tlsLog_, "tls", r.error);
    return false;
  }
}

bool TlsSession::writeAll(std::string_view data, IoResult& r) {
  while (!data.empty()) {
    ERR_clear_error();
    size_t written = 0;
    int rc = SSL_write_ex(ssl_.get(), data.data(), data.size(), &written);
    if (rc != 1) {
      r.ok = false;
      r.error = failure(SSL_get_error(ssl_.get(), rc), "TLS write");
      return false;
    }
    data.remove_prefix(written);
  }
  return true;
}

IoResult TlsSession::encrypt(std::string_view plain, std::string& wire) {
  IoResult r;
  if (failed_ || shutdownSent_) {
    r.ok = false;
    r.error = failed_ ? "TLS session already failed" : "TLS session is shut down";
    return r;
  }
  if (!established_) {
    if (pending_.size() + plain.size() > kMaxPending) {
      r.ok = false;
      r.error = "too much data queued before the TLS handshake completed with " + ep_.remote.str();
      return r;
    }
    pending_.append(plain);
    return r;
  }
  writeAll(plain, r);
  drain(wire);
  return r;
}

void TlsSession::shutdown(std::string& wire) {
  if (!established_ || shutdownSent_ || failed_) return;
  ERR_clear_error();
  SSL_shutdown(ssl_.get());
  ERR_clear_error();
  shutdownSent_ = true;
  drain(wire);
}

void TlsSession::onClosed(std::string_view reason) {
  if (!established_ && !outcomeCounted_) {
    outcomeCounted_ = true;
    TlsMetrics::instance().handshake(side_, reason.find("timeout") != std::string_view::npos ? HandshakeOutcome::Timeout
                                                                                            : HandshakeOutcome::Aborted);
  }
  if (logging::enabled(tlsLog_ + 1)) {
    logging::write(tlsLog_ + 1, "tls",
                   "connection " + std::to_string(ep_.connId) + " with " + ep_.remote.str() + " closed: " +
                       std::string(reason));
  }
}

X509* TlsSession::peerCertificate() const { return SSL_get0_peer_certificate(ssl_.get()); }
X509* TlsSession::localCertificate() const { return SSL_get_certificate(ssl_.get()); }

bool TlsSession::peerVerified() const {
  return established_ && peerCertificate() && SSL_get_verify_result(ssl_.get()) == X509_V_OK;
}

bool TlsSession::resumed() const { return SSL_session_reused(ssl_.get()) == 1; }

void TlsSession::onEstablished() {
  established_ = true;
  SSL* s = ssl_.get();
  pubDomain_ = domain_->name();
  pubVersion_ = SSL_get_version(s);
  pubCipher_ = SSL_get_cipher_name(s);
  pubPeerCn_ = CertInfo::nameField(peerCertificate() ? X509_get_subject_name(peerCertificate()) : nullptr,
                                   NID_commonName);
  pubVerified_ = peerVerified();
  published_.store(true, std::memory_order_release);
  if (logging::enabled(tlsLog_)) {
    logging::write(tlsLog_, "tls",
                   std::string("TLS ") + (side_ == Side::Server ? "accepted" : "connected") + " connection " +
                       std::to_string(ep_.connId) + " " + ep_.local.str() + (side_ == Side::Server ? " <- " : " -> ") +
                       ep_.remote.str() + " domain " + pubDomain_ + (sni_.empty() ? "" : " sni " + sni_) + " " +
                       pubVersion_ + " " + pubCipher_ + (resumed() ? " resumed" : "") + " peer CN '" + pubPeerCn_ +
                       "' " + (pubVerified_ ? "verified" : "not verified"));
  }
}

RpcStruct TlsSession::listEntry() const {
  RpcStruct e;
  e.emplace_back("id", ep_.connId);
  e.emplace_back("side", std::string(sideName(side_)));
  e.emplace_back("local", ep_.local.str());
  e.emplace_back("remote", ep_.remote.str());
  if (published_.load(std::memory_order_acquire)) {
    e.emplace_back("state", "established");
    e.emplace_back("domain", pubDomain_);
    e.emplace_back("version", pubVersion_);
    e.emplace_back("cipher", pubCipher_);
    e.emplace_back("peer", pubPeerCn_);
    e.emplace_back("verified", pubVerified_);
  } else {
    e.emplace_back("state", "handshake");
    e.emplace_back("domain", initialDomain_);
  }
  return e;
}

void TlsSession::switchDomain(const TlsDomain& d) {
  SSL* ssl = ssl_.get();
  SSL_CTX* ctx = d.ctx();
  // SSL_set_SSL_CTX swaps certificate, key and session id context only; everything else the
  // new domain says has to be re-applied to the SSL object by hand.
  SSL_set_SSL_CTX(ssl, ctx);
  SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ctx), SSL_CTX_get_verify_callback(ctx));
  SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(ctx));
  SSL_clear_options(ssl, SSL_get_options(ssl));
  SSL_set_options(ssl, SSL_CTX_get_options(ctx));
  SSL_set_min_proto_version(ssl, SSL_CTX_get_min_proto_version(ctx));
  SSL_set_max_proto_version(ssl, SSL_CTX_get_max_proto_version(ctx));
  const DomainOptions& o = d.options();
  SSL_set_cipher_list(ssl, o.cipherList.empty() ? OSSL_default_cipher_list() : o.cipherList.c_str());
  SSL_set_ciphersuites(ssl, o.cipherSuites.empty() ? OSSL_default_ciphersuites() : o.cipherSuites.c_str());
  if (STACK_OF(X509_NAME)* cas = SSL_CTX_get_client_CA_list(ctx)) {
    SSL_set_client_CA_list(ssl, SSL_dup_CA_list(cas));
  } else {
    SSL_set_client_CA_list(ssl, nullptr);
  }
  domain_ = &d;
}

int TlsSession::clientHelloCallback(SSL* ssl, int* alert, void*) {
  TlsSession* s = fromSsl(ssl);
  if (!s) return SSL_CLIENT_HELLO_SUCCESS;
  const unsigned char* p = nullptr;
  size_t len = 0;
  std::string name;
  // server_name extension: list length (2), then entries of type (1), length (2), name.
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) && len > 5) {
    size_t listLen = (size_t(p[0]) << 8) | p[1];
    if (listLen + 2 <= len && p[2] == TLSEXT_NAMETYPE_host_name) {
      size_t n = (size_t(p[3]) << 8) | p[4];
      if (n + 5 <= len && n > 0 && n < 256) name.assign(reinterpret_cast<const char*>(p + 5), n);
    }
  }
  s->sni_ = name;
  const TlsDomain& d = s->set_->serverForSni(s->ep_.local, name);
  if (!d.hasCertificate()) {
    logging::write(kLogErr, "tls",
                   "TLS domain " + d.name() + " has no certificate; refusing connection from " + s->ep_.remote.str());
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  if (&d != s->domain_) s->switchDomain(d);
  return SSL_CLIENT_HELLO_SUCCESS;
}

int TlsSession::verifyCallback(int ok, X509_STORE_CTX* xs) {
  SSL* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx()));
  TlsSession* s = fromSsl(ssl);
  if (!ok && s) {
    int err = X509_STORE_CTX_get_error(xs);
    int depth = X509_STORE_CTX_get_error_depth(xs);
    X509* cert = X509_STORE_CTX_get_current_cert(xs);
    if (err == X509_V_ERR_CERT_REVOKED) s->revoked_ = true;
    if (s->verifyErrCode_ == 0) s->verifyErrCode_ = err;
    std::string subject = cert ? CertInfo::nameField(X509_get_subject_name(cert), NID_commonName) : "";
    if (s->verifyError_.empty()) {
      s->verifyError_ = std::string(X509_verify_cert_error_string(err)) + " at depth " + std::to_string(depth) +
                        " (CN '" + subject + "')";
    }
    logging::write(s->tlsLog_, "tls",
                   "certificate of " + s->ep_.remote.str() + " fails verification: " +
                       X509_verify_cert_error_string(err) + " at depth " + std::to_string(depth) + " CN '" + subject +
                       "'");
  }
  return ok;
}

int TlsSession::newSessionCallback(SSL* ssl, SSL_SESSION* sess) {
  TlsSession* s = fromSsl(ssl);
  TlsDomain* d = TlsDomain::fromCtx(SSL_get_SSL_CTX(ssl));
  if (!s || !d || s->cacheKey_.empty()) return 0;
  // A copy: OpenSSL marks the connection's own session object unresumable when that
  // connection ends without close_notify, which must not spoil the cached one.
  if (SSL_SESSION* copy = SSL_SESSION_dup(sess)) d->storeSession(s->cacheKey_, copy);
  return 0;
}

}  // namespace sipsd::tls

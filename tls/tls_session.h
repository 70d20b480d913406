// One TLS connection (server or client side) over memory BIOs: the core hands in socket bytes
// and gets back plaintext and bytes to write. Keeps the domain set it started with, so a
// reload never changes a running connection.
#pragma once
#include <openssl/ssl.h>

#include <atomic>
#include <memory>
#include <string>

#include "core/net/transport.h"
#include "core/rpc_value.h"
#include "tls/ossl_ptr.h"
#include "tls/tls_config.h"

namespace sipsd::tls {

class TlsDomain;
class TlsDomainSet;
class SessionRegistry;

class TlsSession : public TransportSession {
 public:
  // Bytes of plaintext queued before the handshake completes, at most.
  static constexpr size_t kMaxPending = 4 * 1024 * 1024;

  // Creates a server (accept) or client (connect) session on `domain` of `set`.
  // Returns null and sets err when OpenSSL cannot create it.
  static std::unique_ptr<TlsSession> createServer(std::shared_ptr<const TlsDomainSet> set, const TlsDomain& domain,
                                                  const ConnEndpoints& ep, SessionRegistry* reg, int tlsLog,
                                                  std::string& err);
  static std::unique_ptr<TlsSession> createClient(std::shared_ptr<const TlsDomainSet> set, const TlsDomain& domain,
                                                  const ConnEndpoints& ep, const ConnectOptions& opt,
                                                  SessionRegistry* reg, int tlsLog, std::string& err);
  ~TlsSession() override;

  IoResult start(std::string& wire) override;
  IoResult onReceive(std::string_view in, std::string& plain, std::string& wire) override;
  IoResult encrypt(std::string_view plain, std::string& wire) override;
  void shutdown(std::string& wire) override;
  bool established() const override { return established_; }
  void onClosed(std::string_view reason) override;
  bool secure() const override { return true; }

  // For selects (owning worker thread only).
  SSL* ssl() const { return ssl_.get(); }
  Side side() const { return side_; }
  const TlsDomain& domain() const { return *domain_; }
  const std::string& sni() const { return sni_; }
  const ConnEndpoints& endpoints() const { return ep_; }
  X509* peerCertificate() const;
  X509* localCertificate() const;
  bool peerVerified() const;
  bool peerRevoked() const { return revoked_; }
  bool resumed() const;

  // For tls.list (any thread): what was published when the handshake completed.
  RpcStruct listEntry() const;
  bool publishedEstablished() const { return published_.load(std::memory_order_acquire); }

  // OpenSSL callbacks (installed on every domain's SSL_CTX).
  static int verifyCallback(int ok, X509_STORE_CTX* xs);
  static int clientHelloCallback(SSL* ssl, int* alert, void* arg);
  static int newSessionCallback(SSL* ssl, SSL_SESSION* sess);
  static TlsSession* fromSsl(const SSL* ssl);

 private:
  TlsSession(std::shared_ptr<const TlsDomainSet> set, const TlsDomain& domain, Side side, const ConnEndpoints& ep,
             SessionRegistry* reg, int tlsLog);
  std::string setupSsl();
  IoResult handshake(std::string& plain, std::string& wire);
  bool readAll(std::string& plain, IoResult& r);
  bool writeAll(std::string_view data, IoResult& r);
  void drain(std::string& wire);
  std::string failure(int sslErr, const char* during);
  void onEstablished();
  void switchDomain(const TlsDomain& d);

  std::shared_ptr<const TlsDomainSet> set_;
  const TlsDomain* domain_;
  Side side_;
  ConnEndpoints ep_;
  SessionRegistry* reg_;
  uint64_t regKey_ = 0;
  int tlsLog_;
  SslPtr ssl_;
  BIO* rbio_ = nullptr;  // owned by ssl_
  BIO* wbio_ = nullptr;  // owned by ssl_
  bool established_ = false;
  bool failed_ = false;
  bool shutdownSent_ = false;
  std::string pending_;    // plaintext queued before the handshake completed
  std::string sni_;        // server: what the client asked for; client: what we sent
  std::string cacheKey_;   // client: resumption cache key (destination | name)
  std::string verifyError_;
  bool revoked_ = false;
  int verifyErrCode_ = 0;      // first X509_V_ERR_* of the peer's chain (metrics)
  bool outcomeCounted_ = false;  // the handshake's outcome went into TlsMetrics

  // Published once at establishment for other threads (tls.list); immutable afterwards.
  std::atomic<bool> published_{false};
  std::string pubDomain_, pubVersion_, pubCipher_, pubPeerCn_;
  bool pubVerified_ = false;
  const std::string initialDomain_;
};

}  // namespace sipsd::tls

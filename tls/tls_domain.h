// One TLS domain: a checked, immutable SSL_CTX built from a DomainConfig (certificate and key
// loaded and matched, trust store filled, verification mode, versions, ciphers, resumption).
// Also the small client-side session cache of a client domain (resumption per destination).
#pragma once
#include <openssl/ssl.h>

#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/rpc_value.h"
#include "tls/ossl_ptr.h"
#include "tls/setting_table.h"
#include "tls/tls_config.h"

namespace sipsd::tls {

class TicketKeyRing;

// When a CRL this domain checks against stops being valid (its nextUpdate).
struct CrlDue {
  std::string file;
  std::string issuer;      // CN of the CA that signed it
  std::string nextUpdate;  // as text, "Jun 17 15:03:20 2026 GMT"
  time_t at = 0;
};

class TlsDomain {
 public:
  // Builds and checks the domain. `def` is the same side's default domain config (inherited
  // settings), null for the defaults themselves. Errors name the domain, the file and where
  // the setting was written.
  static std::shared_ptr<TlsDomain> create(const DomainConfig& cfg, const DomainConfig* def, const GlobalConfig& g,
                                           std::shared_ptr<TicketKeyRing> ring, std::string& err);
  // The same, but when `previous` (the running domain of the same name) has the same digest
  // (settings and file contents) it is returned as it is, with its SSL_CTX, session cache and
  // client sessions, and `reused` is set: a reload rebuilds only what changed.
  static std::shared_ptr<TlsDomain> createOrReuse(const DomainConfig& cfg, const DomainConfig* def,
                                                  const GlobalConfig& g, std::shared_ptr<TicketKeyRing> ring,
                                                  const std::shared_ptr<TlsDomain>& previous, bool& reused,
                                                  std::string& err);
  ~TlsDomain();
  TlsDomain(const TlsDomain&) = delete;
  TlsDomain& operator=(const TlsDomain&) = delete;

  const DomainId& id() const { return id_; }
  const std::string& name() const { return name_; }
  Side side() const { return id_.side; }
  SSL_CTX* ctx() const { return ctx_.get(); }
  const DomainOptions& options() const { return opt_; }
  bool hasCertificate() const { return !opt_.certificate.empty(); }
  // Files and directories this domain read (watched for changes).
  const std::vector<std::string>& inputs() const { return inputs_; }
  // Fingerprint of the settings and of every file read; differs when anything changed.
  const std::string& digest() const { return digest_; }
  // Effective settings for tls.options (paths, never key material).
  RpcStruct describe() const;
  TicketKeyRing* ticketKeys() const { return ring_.get(); }
  // The CRLs verification uses (newest per issuer), when this domain checks CRLs at all.
  const std::vector<CrlDue>& crlDue() const { return crlDue_; }

  // Client session cache (resumption): keyed by destination and server name; the newest
  // session per key is kept until a newer one arrives or it stops being resumable.
  SslSessionPtr takeSession(const std::string& key);
  void storeSession(const std::string& key, SSL_SESSION* s);  // takes ownership

  static TlsDomain* fromCtx(SSL_CTX* ctx);

 private:
  TlsDomain() = default;
  // Effective settings from the config (before any file is read); sets err on a bad value.
  static std::shared_ptr<TlsDomain> parse(const DomainConfig& cfg, const DomainConfig* def, std::string& err);
  void computeDigest();
  std::string build(const GlobalConfig& g);
  std::string loadIdentity();
  std::string loadTrust();

  DomainId id_;
  std::string name_;
  DomainOptions opt_;
  std::map<std::string, SourceLoc> locs_;  // where each effective setting came from
  SslCtxPtr ctx_;
  std::shared_ptr<TicketKeyRing> ring_;
  std::vector<std::string> inputs_;
  std::string digest_;
  std::vector<CrlDue> crlDue_;

  std::mutex sessMu_;  // touched at connect and when a new session arrives, never per message
  std::unordered_map<std::string, SslSessionPtr> sessions_;
};

}  // namespace sipsd::tls

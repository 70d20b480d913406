// The tls module's Transport (registered for Proto::TLS): picks the domain for each new connection from the
// current domain-set snapshot and creates TlsSessions. The snapshot is swapped atomically on
// reload; nothing here locks per message.
#pragma once
#include <atomic>
#include <memory>

#include "core/net/transport.h"
#include "tls/session_registry.h"
#include "tls/tls_domain_set.h"

namespace sipsd::tls {

class TlsTransport : public Transport {
 public:
  void publish(std::shared_ptr<const TlsDomainSet> set) { set_.store(std::move(set)); }
  std::shared_ptr<const TlsDomainSet> current() const { return set_.load(); }
  void setGlobals(const GlobalConfig& g);

  SessionResult accept(const ConnEndpoints& ep) override;
  SessionResult connect(const ConnEndpoints& ep, const ConnectOptions& opt) override;
  // "client:1.2.3.4:5061|name": the client domain plus the name the certificate is checked
  // against, so a connection is reused only where it would have been verified the same way.
  std::string clientDomainKey(const SockAddr& remote, const ConnectOptions& opt) override;
  std::chrono::milliseconds handshakeTimeout() const override { return std::chrono::milliseconds(handshakeMs_.load()); }
  std::chrono::milliseconds sendTimeout() const override { return std::chrono::milliseconds(sendMs_.load()); }

  SessionRegistry& registry() { return registry_; }
  const SessionRegistry& registry() const { return registry_; }
  int tlsLog() const { return tlsLog_.load(); }

 private:
  std::atomic<std::shared_ptr<const TlsDomainSet>> set_;
  std::atomic<int64_t> handshakeMs_{30000};
  std::atomic<int64_t> sendMs_{10000};
  std::atomic<int> tlsLog_{3};
  std::atomic<bool> disabled_{false};
  SessionRegistry registry_;
};

}  // namespace sipsd::tls

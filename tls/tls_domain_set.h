// The immutable set of live domains: the two defaults, server domains by listen address and
// SNI name, client domains by destination and server_id. A new set is built and fully
// checked on reload, then published; sessions keep the set they started with.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/net/sock_addr.h"
#include "tls/tls_config.h"
#include "tls/tls_domain.h"

namespace sipsd::tls {

class TicketKeyRing;

class TlsDomainSet {
 public:
  // Builds every configured domain (plus the defaults). On failure returns null and `err`
  // lists every broken domain, one per line. A domain of `previous` whose settings and files
  // are unchanged is taken over as it is (SSL_CTX, session cache), not rebuilt.
  static std::shared_ptr<const TlsDomainSet> build(const TlsConfig& cfg, const GlobalConfig& g,
                                                   std::shared_ptr<TicketKeyRing> ring, std::string& err,
                                                   const TlsDomainSet* previous = nullptr);

  const TlsDomain& defaultServer() const { return *defaultServer_; }
  const TlsDomain& defaultClient() const { return *defaultClient_; }
  // The domain of a listener (no SNI): its own, else the default server domain.
  const TlsDomain& serverFor(const SockAddr& local) const;
  // SNI choice: exact name, then `*.suffix`, then the listener's domain, then the default.
  const TlsDomain& serverForSni(const SockAddr& local, std::string_view sni) const;
  // Client domain: by server_id when given (null + err when unknown), else by destination,
  // else the default client domain.
  const TlsDomain* clientFor(const SockAddr& remote, const std::string& serverId, std::string& err) const;
  const TlsDomain* byServerId(const std::string& id) const;

  const std::vector<std::shared_ptr<TlsDomain>>& all() const { return all_; }
  const TlsDomain* find(const std::string& name) const;
  // Every file and directory the domains read.
  std::vector<std::string> inputs() const;
  // What differs from `before` ("added X", "removed X", "changed X"), for tls.reload.
  std::vector<std::string> diff(const TlsDomainSet* before) const;
  // Names of the domains this build made a new SSL_CTX for (all of them on a first build).
  const std::vector<std::string>& rebuilt() const { return rebuilt_; }

 private:
  struct Names {
    std::unordered_map<std::string, const TlsDomain*> exact;    // "sip.example.org"
    std::unordered_map<std::string, const TlsDomain*> suffix;   // ".example.org" from "*.example.org"
    const TlsDomain* find(std::string_view name) const;
    const TlsDomain* findWild(std::string_view name) const;
  };
  struct Listener {
    const TlsDomain* plain = nullptr;
    Names names;
  };
  std::string addName(Names& n, const TlsDomain* d);

  std::vector<std::shared_ptr<TlsDomain>> all_;
  const TlsDomain* defaultServer_ = nullptr;
  const TlsDomain* defaultClient_ = nullptr;
  std::unordered_map<std::string, Listener> listeners_;  // by canonical "ip:port"
  Names anyListener_;                                     // named domains valid on every listener
  std::unordered_map<std::string, const TlsDomain*> clientsByAddr_;
  std::unordered_map<std::string, const TlsDomain*> clientsById_;
  std::vector<std::string> rebuilt_;
};

}  // namespace sipsd::tls

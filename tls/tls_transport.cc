// Domain choice for accepted and outbound connections.
#include "tls/tls_transport.h"

#include "tls/tls_session.h"

namespace sipsd::tls {

void TlsTransport::setGlobals(const GlobalConfig& g) {
  handshakeMs_ = int64_t(g.handshakeTimeout) * 1000;
  sendMs_ = int64_t(g.sendTimeout) * 1000;
  tlsLog_ = g.tlsLog;
  disabled_ = g.disabled;
}

std::unique_ptr<TransportSession> TlsTransport::accept(const ConnEndpoints& ep, std::string& err) {
  if (disabled_) {
    err = "TLS is disabled (disable_tls)";
    return nullptr;
  }
  auto set = set_.load();
  if (!set) {
    err = "TLS module not initialised";
    return nullptr;
  }
  // The listener's domain; the ClientHello callback may move the session to an SNI domain.
  const TlsDomain& d = set->serverFor(ep.local);
  return TlsSession::createServer(set, d, ep, &registry_, tlsLog_, err);
}

std::unique_ptr<TransportSession> TlsTransport::connect(const ConnEndpoints& ep, const ConnectOptions& opt,
                                                        std::string& err) {
  if (disabled_) {
    err = "TLS is disabled (disable_tls)";
    return nullptr;
  }
  auto set = set_.load();
  if (!set) {
    err = "TLS module not initialised";
    return nullptr;
  }
  const TlsDomain* d = set->clientFor(ep.remote, opt.serverId, err);
  if (!d) return nullptr;
  return TlsSession::createClient(set, *d, ep, opt, &registry_, tlsLog_, err);
}

std::string TlsTransport::clientDomainKey(const SockAddr& remote, const ConnectOptions& opt) {
  auto set = set_.load();
  if (!set) return {};
  std::string err;
  const TlsDomain* d = set->clientFor(remote, opt.serverId, err);
  if (!d) return "server_id:" + opt.serverId;
  const std::string& name = d->options().serverName.empty() ? opt.serverName : d->options().serverName;
  return d->name() + "|" + name;
}

}  // namespace sipsd::tls

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

Transport::SessionResult TlsTransport::accept(const ConnEndpoints& ep) {
  if (disabled_) return fail("TLS is disabled (disable_tls)");
  auto set = set_.load();
  if (!set) return fail("TLS module not initialised");
  // The listener's domain; the ClientHello callback may move the session to an SNI domain.
  const TlsDomain& d = set->serverFor(ep.local);
  std::string err;
  std::unique_ptr<TransportSession> s = TlsSession::createServer(set, d, ep, &registry_, tlsLog_, err);
  if (!s) return fail(std::move(err));
  return s;
}

Transport::SessionResult TlsTransport::connect(const ConnEndpoints& ep, const ConnectOptions& opt) {
  if (disabled_) return fail("TLS is disabled (disable_tls)");
  auto set = set_.load();
  if (!set) return fail("TLS module not initialised");
  std::string err;
  const TlsDomain* d = set->clientFor(ep.remote, opt.profile, err);
  if (!d) return fail(std::move(err));
  std::unique_ptr<TransportSession> s = TlsSession::createClient(set, *d, ep, opt, &registry_, tlsLog_, err);
  if (!s) return fail(std::move(err));
  return s;
}

std::string TlsTransport::clientDomainKey(const SockAddr& remote, const ConnectOptions& opt) {
  auto set = set_.load();
  if (!set) return {};
  std::string err;
  const TlsDomain* d = set->clientFor(remote, opt.profile, err);
  if (!d) return "server_id:" + opt.profile;
  const std::string& name = d->options().serverName.empty() ? opt.serverName : d->options().serverName;
  return d->name() + "|" + name;
}

}  // namespace sipsd::tls

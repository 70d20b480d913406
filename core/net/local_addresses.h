// "Is this address us?" and "how do we name this socket?": the one answer the core gives for
// `myself`, is_myself(), rr's Route checks (loose_route) and the Via / Record-Route a relayed
// request carries. Built once the listeners are bound (ports known), from the listen
// addresses, their advertise= names, alias= entries and, for a wildcard listen (0.0.0.0, ::),
// the addresses of the host's interfaces. Immutable afterwards, so workers read it unlocked.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/net/sock_addr.h"

namespace sipsd {

// How a local socket is named to peers (Via sent-by, Record-Route host:port).
struct SocketName {
  std::string host;  // IP (IPv6 without brackets) or name
  uint16_t port = 0;
};

class LocalAddresses {
 public:
  struct Listen {
    Proto proto = Proto::None;
    SockAddr bound;         // with the actual port
    std::string advHost;    // advertise= host (empty: none)
    uint16_t advPort = 0;   // advertise= port (0: the bound port)
  };
  struct Alias {
    Proto proto = Proto::None;  // None: any
    std::string host;
    uint16_t port = 0;          // 0: any port
  };

  LocalAddresses() = default;
  LocalAddresses(std::vector<Listen> listens, std::vector<Alias> aliases);

  // True when host (a name, an IPv4 or IPv6 address with or without brackets) and port (0: the
  // default of the protocol or any of ours, as Kamailio's check_self) over proto (None: any)
  // name one of our listeners, their advertised names or an alias.
  bool isMyself(std::string_view host, uint16_t port, Proto proto) const;
  // The name of our socket `local` over proto: its advertise= address, else its IP and port.
  SocketName nameOf(Proto proto, const SockAddr& local) const;
  // Parses a SIP URI (or host[:port]) and asks isMyself with its host, port and transport.
  bool uriIsMyself(std::string_view uriOrHost) const;

  const std::vector<Listen>& listens() const { return listens_; }

 private:
  std::vector<Listen> listens_;
  std::vector<Alias> aliases_;
  std::vector<SockAddr> interfaceIps_;  // for wildcard listens (port 0)
};

}  // namespace sipsd

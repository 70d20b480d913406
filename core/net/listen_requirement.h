// Sending over a transport needs a listen= socket of it: the Via of what leaves names that socket
// (replies and new connections for the transaction come there), as in Kamailio, which has no send
// socket for a protocol it does not listen on. One wording for the load-time refusals of
// forward_udp|tcp|tls() and t_relay_to_udp|tcp|tls() and the run-time refusal of a URI's transport.
#pragma once
#include <string>
#include <string_view>

#include "core/net/sock_addr.h"

namespace sipsd {

// "tls" for Proto::TLS: the spelling of listen=tls:...
inline std::string_view listenScheme(Proto p) {
  return p == Proto::TLS ? "tls" : p == Proto::TCP ? "tcp" : "udp";
}

// What a script function that sends over `p` is told when no listen= has that protocol.
inline std::string missingListenerText(Proto p) {
  return "needs a listen=" + std::string(listenScheme(p)) + ":ADDRESS[:PORT] socket (the Via of the request it sends names it)";
}

}  // namespace sipsd

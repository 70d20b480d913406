// Small socket helpers shared by the engine: listening sockets per worker (SO_REUSEPORT),
// non-blocking outbound sockets, addresses of a socket.
#pragma once
#include <string>

#include "core/net/sock_addr.h"

namespace sipsd::sock {

// A non-blocking, close-on-exec socket bound to `addr` with SO_REUSEPORT (so every worker can
// bind the same address) and, for TCP/TLS, listening. -1 and `err` naming the address on failure.
int openListener(Proto proto, const SockAddr& addr, std::string& err);
// Fails (with `err` naming the address) when something already holds `addr`. SO_REUSEPORT
// would otherwise let a second sipsd of the same user silently share the port with the first.
bool addressFree(Proto proto, const SockAddr& addr, std::string& err);
// A non-blocking TCP socket with connect() started. -1 and `err` on immediate failure.
int startConnect(const SockAddr& to, std::string& err);
SockAddr localAddress(int fd);
// The pending error of a socket (SO_ERROR), 0 when none.
int pendingError(int fd);
std::string errnoText(int e);

}  // namespace sipsd::sock

// sipsd-baseline's server: one thread, one epoll loop, non-blocking sockets (+ OpenSSL for tls),
// Content-Length framing, a copied-lines 200 OK for every request.  It exists only as the
// measurement floor for sipsd-bench (what the kernel + OpenSSL cost without a proxy around them).
#pragma once
#include "bench_options.h"
#include "net_addr.h"
#include "sip_framer.h"
#include "ssl_handles.h"

#include <memory>
#include <string>
#include <vector>

namespace sipsd::bench {

class BaselineServer {
 public:
  // ctx is used for Proto::kTls only and must outlive the server.
  BaselineServer(Proto proto, SSL_CTX* ctx);
  ~BaselineServer();
  BaselineServer(const BaselineServer&) = delete;
  BaselineServer& operator=(const BaselineServer&) = delete;

  // Binds and listens (or binds the UDP socket).  On failure *error names the address.
  bool open(const NetAddr& addr, std::string* error);
  std::string localAddress() const;  // "ip:port" actually bound (port 0 resolved)
  // Serves until *stop becomes non-zero (checked after every wake-up; a signal interrupts the wait).
  void run(const volatile int* stop);

 private:
  struct Conn {
    int fd = -1;
    SslPtr ssl;
    bool handshaking = false;
    SipFramer framer;
    std::string out;
    std::size_t outOff = 0;
  };

  void acceptAll();
  void onConn(int fd);
  void serveDatagrams();
  bool readAndAnswer(Conn& c);   // false: close the connection
  bool flush(Conn& c);           // false: close the connection
  void closeConn(int fd, bool polite);

  const Proto proto_;
  SSL_CTX* ctx_;
  int epfd_ = -1;
  int listenFd_ = -1;
  std::vector<std::unique_ptr<Conn>> conns_;  // indexed by fd
  std::string scratch_;                       // UDP reply buffer, reused
};

}  // namespace sipsd::bench

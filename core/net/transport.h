// The interface a secure transport (the tls module) implements for the core.
// The core owns sockets and does all I/O; a TransportSession only transforms bytes
// (memory-BIO style), so it can never block a worker.
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/net/sock_addr.h"

namespace sipsd {

struct ConnEndpoints {
  uint64_t connId = 0;
  int worker = -1;
  SockAddr local;
  SockAddr remote;
};

// What the script asked for before opening an outbound connection.
struct ConnectOptions {
  std::string serverId;    // tls_set_connect_server_id(); empty = by destination
  std::string serverName;  // host name of the target (SNI and certificate name check); may be empty
};

struct IoResult {
  bool ok = true;
  bool justEstablished = false;  // handshake completed during this call
  std::string error;             // why the connection must close (when !ok)
  bool peerClosed = false;       // with !ok: the peer ended the session in order (close_notify)
};

class TransportSession {
 public:
  virtual ~TransportSession() = default;
  // Client side: produce the first flight (ClientHello) into `wire`.
  virtual IoResult start(std::string& wire) = 0;
  // Bytes read from the socket. Appends decrypted application data to `plain` and any bytes
  // that must be written to the socket to `wire`.
  virtual IoResult onReceive(std::string_view in, std::string& plain, std::string& wire) = 0;
  // Application data to send. Before the handshake completes the session queues it
  // and emits it (into `wire` of a later onReceive) once established.
  virtual IoResult encrypt(std::string_view plain, std::string& wire) = 0;
  // Orderly close: appends close_notify to `wire`.
  virtual void shutdown(std::string& wire) = 0;
  virtual bool established() const = 0;
  // Called when the core closes the connection (peer gone, timeout, error); reason for logs.
  virtual void onClosed(std::string_view reason) { (void)reason; }
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual std::unique_ptr<TransportSession> accept(const ConnEndpoints& ep, std::string& err) = 0;
  virtual std::unique_ptr<TransportSession> connect(const ConnEndpoints& ep, const ConnectOptions& opt,
                                                    std::string& err) = 0;
  // Key for outbound connection reuse: connections are reused only for the same key
  // (the client domain they were opened with).
  virtual std::string clientDomainKey(const SockAddr& remote, const ConnectOptions& opt) { (void)remote; (void)opt; return {}; }
  virtual std::chrono::milliseconds handshakeTimeout() const { return std::chrono::seconds(30); }
  virtual std::chrono::milliseconds sendTimeout() const { return std::chrono::seconds(10); }
};

}  // namespace sipsd

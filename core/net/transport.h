// The seam between the core's stream connections and the transports modules provide (tls
// today, a WebSocket layer later). The core owns sockets and does all I/O; a TransportSession
// only transforms bytes (memory-BIO style), so it can never block a worker. Nothing here names
// a protocol: a module registers a Transport for a Proto (TransportExport), and the core asks
// the TransportRegistry (core/net/transport_registry.h) for whatever serves a connection's Proto.
//
// Sessions stack: a session may wrap a lower one (WebSocket framing over TLS), the Connection
// holds the top of the stack, and a module finds its own layer with findLayer<T>() wherever it
// sits. A stacked transport builds its session from the lower protocol's transport (found in
// the registry) at accept/connect and forwards wire bytes through it.
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/net/sock_addr.h"
#include "core/result.h"

namespace sipsd {

struct ConnEndpoints {
  uint64_t connId = 0;
  int worker = -1;
  SockAddr local;
  SockAddr remote;
};

// What the script asked for before opening an outbound connection (ScriptContext::connect).
struct ConnectOptions {
  // A named client configuration the script picked for the next connection (tls: a client
  // domain's server_id, set by tls_set_connect_server_id()); empty = chosen by destination.
  std::string profile;
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
  // The session this one wraps (its wire bytes go through the lower one), null at the bottom.
  virtual const TransportSession* lower() const { return nullptr; }
  // Whether this layer protects the bytes on the wire (encryption, peer authentication).
  virtual bool secure() const { return false; }
};

// The layer of type T in the session stack whose top is `s`, or null: how a module reaches its
// own per-connection state whatever is stacked above it (a TLS session under WebSocket).
template <class T>
const T* findLayer(const TransportSession* s) {
  for (; s; s = s->lower())
    if (const T* t = dynamic_cast<const T*>(s)) return t;
  return nullptr;
}

// Whether any layer of the stack whose top is `s` is secure (null: a plain connection).
inline bool stackSecure(const TransportSession* s) {
  for (; s; s = s->lower())
    if (s->secure()) return true;
  return false;
}

class Transport {
 public:
  virtual ~Transport() = default;
  using SessionResult = Result<std::unique_ptr<TransportSession>>;
  // A session for an accepted connection, or why the connection must be refused.
  virtual SessionResult accept(const ConnEndpoints& ep) = 0;
  // A session for an outbound connection (the core then calls start()), or why not.
  virtual SessionResult connect(const ConnEndpoints& ep, const ConnectOptions& opt) = 0;
  // Key for outbound connection reuse: connections are reused only for the same key
  // (the client domain they were opened with).
  virtual std::string clientDomainKey(const SockAddr& remote, const ConnectOptions& opt) { (void)remote; (void)opt; return {}; }
  virtual std::chrono::milliseconds handshakeTimeout() const { return std::chrono::seconds(30); }
  virtual std::chrono::milliseconds sendTimeout() const { return std::chrono::seconds(10); }
};

// What a module registers (ModuleExports::transports): the transport serving `proto` on
// listen=PROTO:... sockets and for sends over PROTO. A module may register several.
struct TransportExport {
  Proto proto = Proto::None;
  std::shared_ptr<Transport> transport;
};

}  // namespace sipsd

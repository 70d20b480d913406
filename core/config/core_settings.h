// The core's global settings from the script (debug=, children=, listen=, mpath=, tcp_*...).
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "core/module_api.h"
#include "core/net/sock_addr.h"
#include "core/source_loc.h"

namespace sipsd {

struct ListenAddr {
  Proto proto = Proto::UDP;
  SockAddr addr;
  std::string text;  // as written, for messages
  SourceLoc loc;
  std::string advertiseHost;  // `advertise HOST[:PORT]`: the name Via and Record-Route use
  uint16_t advertisePort = 0; // 0: the listen port
};

// alias=[proto:]HOST[:PORT]: another name requests may use for us (myself, loose_route).
struct AliasAddr {
  Proto proto = Proto::None;  // None: any
  std::string host;
  uint16_t port = 0;          // 0: any port
};

struct CoreSettings {
  int logLevel = kLogNotice;  // debug= / log_level=, 0..4
  int children = 0;           // 0: one worker per CPU core
  std::vector<ListenAddr> listens;
  std::vector<std::string> mpath;  // module directories from mpath= (in order)
  bool logStderr = true;           // log_stderror=; sipsd stays in the foreground anyway
  int tcpConnectionLifetime = 120;   // seconds an idle TCP/TLS connection is kept
  int tcpMaxConnections = 2048;
  int tcpConnectTimeout = 10;        // seconds
  int tcpSendTimeout = 10;           // seconds a send queue may stay blocked
  size_t tcpMaxMessageSize = 65536;  // bytes of one framed message on a stream
  size_t tcpMaxSendQueue = 1 << 20;  // bytes queued per connection before it is closed
  int tcpMsgReadTimeout = 20;        // seconds from a message's first byte to its last (Kamailio's name)
  int tcpMaxConnectionsPerIp = 256;  // inbound TCP/TLS connections per source IP; 0 = no limit
  int logFacility = -1;              // log_facility= (a LOG_* value); -1: LOG_DAEMON
  std::string logPrefix;             // log_prefix=: put in front of every log line
  std::vector<AliasAddr> aliases;    // alias=
  int tcpConnectBackoff = 5;         // seconds a destination whose connect/handshake failed is avoided; 0 = off
  int tcpConnectBackoffMax = 60;     // cap of the doubling back-off (seconds)
  bool udpReplySteering = true;      // udp_reply_steering=: steer UDP replies to their transaction's worker
  bool udpSendBatch = true;          // udp_send_batch=: one sendmmsg per socket per loop round
  int maxWhileLoops = 100;           // max_while_loops=: runs of a while body per entry; 0 = no limit
};

// The canonical "ip:port" of every listen= of `proto` (CoreApi::listenAddresses).
std::vector<std::string> listenAddressesOf(const std::vector<ListenAddr>& listens, Proto proto);

// Applies `name=value` when it is a core setting. Sets `known` when the name is the core's;
// returns an error text for a bad value. Unknown names are left for the modules to claim.
std::string applyCoreGlobal(CoreSettings& s, const std::string& name, const ParamValue& v, bool& known);

// Parses a listen= value: [udp:|tcp:|tls:]ADDR[:PORT] with ADDR an IPv4 address or [IPv6],
// optionally followed by `advertise HOST[:PORT]` (Kamailio syntax).
// Without a protocol, udp and tcp are both opened (as SER does); the port defaults to 5060
// (5061 for tls). Appends to `out`; returns an error text.
std::string parseListen(const std::string& text, const SourceLoc& loc, std::vector<ListenAddr>& out);

// Why this machine cannot bind `addr`'s IP (e.g. "Cannot assign requested address": no
// interface has it), or empty when it can. Checked by binding a UDP socket to port 0.
std::string localAddressProblem(const SockAddr& addr);
// Parses [udp:|tcp:|tls:]HOST[:PORT] (HOST a name, IPv4 or [IPv6]) for alias= and advertise.
std::string parseHostPort(std::string_view text, Proto& proto, std::string& host, uint16_t& port);

}  // namespace sipsd

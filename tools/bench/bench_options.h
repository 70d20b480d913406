// Command-line options of sipsd-bench and their parser.
#pragma once
#include "net_addr.h"

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace sipsd::bench {

enum class Proto { kUdp, kTcp, kTls };
enum class Mode { kOptions, kHandshake, kCall };

struct BenchOptions {
  NetAddr target;
  std::string targetText;
  Proto proto = Proto::kTcp;
  Mode mode = Mode::kOptions;
  int connections = 10;
  int pipeline = 1;            // options: requests, call mode: calls in flight per connection (--window)
  int threads = 1;
  double duration = 5.0;       // seconds; used when count == 0
  std::int64_t count = 0;      // total operations (requests or handshakes); 0 = use duration
  double timeout = 5.0;        // seconds without progress before a request/handshake is failed
  std::string cert, key, ca;
  std::string sni;             // server name sent and verified; default: verify the target IP
  std::string ruri;            // default sip:TARGET
  pid_t serverPid = 0;
  bool resume = false;         // handshake mode: resume sessions (default: full handshakes)
  bool requestPerConn = false; // handshake mode: one OPTIONS->200 on each connection
  int tlsVersion = 0;          // TLS1_2_VERSION / TLS1_3_VERSION: offer only that version; 0 = 1.2+
  bool json = false;
  std::uint64_t ruriUsers = 0; // > 0: Request-URI user + a random number 0..ruriUsers-1 per request
  double hangupDelay = 0.020;  // call mode: seconds from the ACK to the BYE (--hangup-delay MS)
  double warmup = 0;           // seconds of load on the same connections before the measured phase
  bool warmupWait = false;     // after the warm-up: print "warmed-up", wait for a line on stdin
};

const char* protoName(Proto p);    // "udp" / "tcp" / "tls"
const char* modeName(Mode m);      // "options" / "handshake" / "call"

// Parses argv.  Returns 0 on success, 1 after printing help to stdout (--help), 2 after printing
// an error naming the option to stderr.
int parseBenchOptions(int argc, char** argv, BenchOptions* out);

}  // namespace sipsd::bench

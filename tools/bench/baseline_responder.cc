// sipsd-baseline: the measurement floor for sipsd-bench.  A bare single-threaded epoll (+OpenSSL)
// server answering every SIP request with a copied-lines 200 OK; NOT a SIP server (no parsing,
// no validation, no routing).  Prints "sipsd-baseline: listening on IP:PORT (PROTO)" once ready
// and runs until SIGTERM/SIGINT.
#include "baseline_server.h"
#include "bench_options.h"
#include "ssl_setup.h"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

using namespace sipsd::bench;

namespace {

volatile int gStop = 0;

void onSignal(int) { gStop = 1; }

constexpr const char* kUsage = R"(sipsd-baseline: bare epoll+OpenSSL SIP responder (a benchmark baseline only)

Usage: sipsd-baseline --listen IP:PORT [--proto udp|tcp|tls] [--cert FILE --key FILE] [--ca FILE]
  --listen IP:PORT   address to serve (port 0 = any free port; the chosen one is printed)
  --proto            udp, tcp (default) or tls
  --cert/--key       server certificate and key (tls)
  --ca FILE          require and verify client certificates issued by this CA (tls)
Answers every request except ACK with "200 OK" copying Via/From/To/Call-ID/CSeq.
)";

int usageError(const std::string& msg) {
  std::fprintf(stderr, "sipsd-baseline: %s (try --help)\n", msg.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Proto proto = Proto::kTcp;
  TlsFiles files;
  std::optional<NetAddr> listenAddr;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (i + 1 >= argc) return usageError(arg == "--listen" || arg == "--proto" || arg == "--cert" || arg == "--key" || arg == "--ca"
                                             ? arg + " needs a value" : "unknown option " + arg);
    const std::string value = argv[++i];
    if (arg == "--listen") {
      listenAddr = parseHostPort(value);
      if (!listenAddr) return usageError("--listen " + value + ": expected numeric IP:PORT");
    } else if (arg == "--proto") {
      if (value == "udp") proto = Proto::kUdp;
      else if (value == "tcp") proto = Proto::kTcp;
      else if (value == "tls") proto = Proto::kTls;
      else return usageError("--proto " + value + ": expected udp, tcp or tls");
    } else if (arg == "--cert") {
      files.cert = value;
    } else if (arg == "--key") {
      files.key = value;
    } else if (arg == "--ca") {
      files.ca = value;
    } else {
      return usageError("unknown option " + arg);
    }
  }
  if (!listenAddr) return usageError("--listen IP:PORT is required");

  SslCtxPtr ctx;
  std::string error;
  if (proto == Proto::kTls) {
    ctx = makeServerCtx(files, &error);
    if (!ctx) {
      std::fprintf(stderr, "sipsd-baseline: %s\n", error.c_str());
      return 1;
    }
  }
  std::signal(SIGPIPE, SIG_IGN);
  struct sigaction sa {};
  sa.sa_handler = onSignal;  // no SA_RESTART: the signal must interrupt epoll_wait
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  BaselineServer server(proto, ctx.get());
  if (!server.open(*listenAddr, &error)) {
    std::fprintf(stderr, "sipsd-baseline: %s\n", error.c_str());
    return 1;
  }
  std::printf("sipsd-baseline: listening on %s (%s)\n", server.localAddress().c_str(), protoName(proto));
  std::fflush(stdout);
  server.run(&gStop);
  return 0;
}

// sipsd-bench option parsing (see bench_options.h).
#include "bench_options.h"

#include <openssl/tls1.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace sipsd::bench {
namespace {

constexpr const char* kUsage = R"(sipsd-bench: SIP load generator for sipsd and sipsd-baseline

Usage: sipsd-bench --target IP:PORT [options]
  --proto udp|tcp|tls        transport (default tcp)
  --mode options|handshake|call
                             options: OPTIONS->200 on persistent connections (default);
                             handshake: connect, full TLS handshake, [one OPTIONS], close, repeat;
                             call: complete calls INVITE -> 200 -> ACK -> BYE -> 200 through a
                             (record-routing) proxy on persistent connections
  --connections N            concurrent connections / clients (default 10)
  --pipeline W               requests in flight per connection, options mode (default 1)
  --window W                 calls in flight per connection, call mode (same as --pipeline)
  --hangup-delay MS          call mode: milliseconds from the ACK to the BYE (default 20; 0 = at once)
  --threads T                load threads, each with its own epoll loop (default 1)
  --duration S               seconds to run (default 5) ...
  --count N                  ... or this many operations (calls in call mode) in total
  --warmup S                 load for S seconds first, on the same connections (sockets, server
                             worker, TLS session), and count none of it: the figures cover the
                             phase after it (a short drain of the warm-up's operations between)
  --warmup-wait              after the warm-up, print the line "warmed-up" and wait for a line on
                             stdin before measuring (a caller samples the server in between)
  --timeout S                seconds without an answer before an operation fails (default 5);
                             call mode: a call not completed this long after its INVITE fails
  --cert FILE --key FILE     client certificate (mutual TLS)
  --ca FILE                  verify the server certificate against this CA (IP or --sni name)
  --sni NAME                 server name to send and verify
  --ruri URI                 Request-URI (default sip:TARGET); call mode: the callee
  --ruri-users N             each request asks for USER<k>, k uniformly random in 0..N-1, where
                             USER is the --ruri user part (sip:u@d -> sip:u4711@d; lookups
                             spread over a whole location table)
  --server-pid PID           report the server's CPU time per operation (/proc/PID/stat)
  --no-resume | --resume     handshake mode: full handshakes (default) or session resumption
  --request-per-conn         handshake mode: one OPTIONS->200 on every connection
  --tls-version 1.2|1.3      offer only this TLS version (default: 1.2 and 1.3)
  --json                     print one JSON line instead of text
)";

int fail(const std::string& msg) {
  std::fprintf(stderr, "sipsd-bench: %s (try --help)\n", msg.c_str());
  return 2;
}

template <typename T>
bool toNumber(std::string_view s, T* out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

bool toSeconds(const std::string& s, double* out) {
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size() && *out > 0;
}

}  // namespace

const char* protoName(Proto p) {
  switch (p) {
    case Proto::kUdp: return "udp";
    case Proto::kTcp: return "tcp";
    case Proto::kTls: return "tls";
  }
  return "?";
}

const char* modeName(Mode m) {
  switch (m) {
    case Mode::kOptions: return "options";
    case Mode::kHandshake: return "handshake";
    case Mode::kCall: return "call";
  }
  return "?";
}

int parseBenchOptions(int argc, char** argv, BenchOptions* o) {
  bool haveTarget = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool inlineValue = false;
    if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
      inlineValue = true;
    }
    auto flag = [&]() { return !inlineValue; };
    auto needValue = [&]() -> bool {
      if (inlineValue) return true;
      if (i + 1 >= argc) return false;
      value = argv[++i];
      return true;
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 1;
    } else if (arg == "--json" && flag()) {
      o->json = true;
    } else if (arg == "--no-resume" && flag()) {
      o->resume = false;
    } else if (arg == "--resume" && flag()) {
      o->resume = true;
    } else if (arg == "--request-per-conn" && flag()) {
      o->requestPerConn = true;
    } else if (arg == "--warmup-wait" && flag()) {
      o->warmupWait = true;
    } else if (arg == "--target" || arg == "--proto" || arg == "--mode" || arg == "--connections" ||
               arg == "--pipeline" || arg == "--threads" || arg == "--duration" || arg == "--count" ||
               arg == "--timeout" || arg == "--cert" || arg == "--key" || arg == "--ca" || arg == "--sni" ||
               arg == "--ruri" || arg == "--server-pid" || arg == "--tls-version" || arg == "--ruri-users" ||
               arg == "--window" || arg == "--hangup-delay" || arg == "--warmup") {
      if (!needValue()) return fail(arg + " needs a value");
      if (arg == "--target") {
        const auto a = parseHostPort(value);
        if (!a) return fail("--target " + value + ": expected numeric IP:PORT, e.g. 127.0.0.1:5060 or [::1]:5060");
        o->target = *a;
        o->targetText = value;
        haveTarget = true;
      } else if (arg == "--proto") {
        if (value == "udp") o->proto = Proto::kUdp;
        else if (value == "tcp") o->proto = Proto::kTcp;
        else if (value == "tls") o->proto = Proto::kTls;
        else return fail("--proto " + value + ": expected udp, tcp or tls");
      } else if (arg == "--mode") {
        if (value == "options") o->mode = Mode::kOptions;
        else if (value == "handshake") o->mode = Mode::kHandshake;
        else if (value == "call") o->mode = Mode::kCall;
        else return fail("--mode " + value + ": expected options, handshake or call");
      } else if (arg == "--connections" || arg == "--pipeline" || arg == "--window" || arg == "--threads") {
        int n = 0;
        if (!toNumber(value, &n) || n < 1 || n > 100000) return fail(arg + " " + value + ": expected 1..100000");
        (arg == "--connections" ? o->connections : arg == "--threads" ? o->threads : o->pipeline) = n;
      } else if (arg == "--hangup-delay") {
        double ms = -1;
        char* end = nullptr;
        ms = std::strtod(value.c_str(), &end);
        if (value.empty() || end != value.c_str() + value.size() || !(ms >= 0 && ms <= 60000))
          return fail("--hangup-delay " + value + ": expected 0..60000 milliseconds");
        o->hangupDelay = ms / 1000.0;
      } else if (arg == "--warmup") {
        if (!toSeconds(value, &o->warmup)) return fail("--warmup " + value + ": expected a positive number of seconds");
      } else if (arg == "--duration" || arg == "--timeout") {
        double s = 0;
        if (!toSeconds(value, &s)) return fail(arg + " " + value + ": expected a positive number of seconds");
        (arg == "--duration" ? o->duration : o->timeout) = s;
      } else if (arg == "--count") {
        if (!toNumber(value, &o->count) || o->count < 1) return fail("--count " + value + ": expected a positive integer");
      } else if (arg == "--server-pid") {
        if (!toNumber(value, &o->serverPid) || o->serverPid < 1) return fail("--server-pid " + value + ": expected a process id");
      } else if (arg == "--cert") {
        o->cert = value;
      } else if (arg == "--key") {
        o->key = value;
      } else if (arg == "--ca") {
        o->ca = value;
      } else if (arg == "--sni") {
        o->sni = value;
      } else if (arg == "--ruri") {
        o->ruri = value;
      } else if (arg == "--ruri-users") {
        if (!toNumber(value, &o->ruriUsers) || o->ruriUsers < 1) return fail("--ruri-users " + value + ": expected a positive integer");
      } else if (arg == "--tls-version") {
        if (value == "1.2") o->tlsVersion = TLS1_2_VERSION;
        else if (value == "1.3") o->tlsVersion = TLS1_3_VERSION;
        else return fail("--tls-version " + value + ": expected 1.2 or 1.3");
      }
    } else {
      return fail("unknown option " + std::string(argv[i]));
    }
  }
  if (!haveTarget) return fail("--target IP:PORT is required");
  if (o->mode == Mode::kHandshake && o->proto == Proto::kUdp) return fail("--mode handshake needs --proto tcp or tls");
  if (o->mode == Mode::kCall && o->ruriUsers > 0) return fail("--ruri-users is for --mode options");
  if (o->warmupWait && o->warmup <= 0) return fail("--warmup-wait needs --warmup S");
  if (o->threads > o->connections) o->threads = o->connections;
  if (o->ruri.empty()) o->ruri = "sip:" + formatHostPort(o->target.sa());
  if (o->ruriUsers > 0 && o->ruri.find('@') == std::string::npos)
    return fail("--ruri-users needs a --ruri with a user part, e.g. --ruri sip:u@example.com");
  return 0;
}

}  // namespace sipsd::bench

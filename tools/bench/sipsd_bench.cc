// sipsd-bench: the load generator.  Parses options, runs the load threads between the two
// RunControl barriers, and reports operations, errors, latency and the server's CPU per
// operation (call) as text or one JSON line.  Exit 0 when ops > 0 and errors == 0, 1 otherwise,
// 2 for a usage error.
#include "bench_options.h"
#include "load_worker.h"
#include "proc_stats.h"
#include "run_control.h"
#include "ssl_setup.h"

#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace sipsd::bench;

namespace {

std::string jsonString(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string number(double v, const char* fmt = "%.3f") {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

struct Report {
  const BenchOptions& opt;
  const WorkerStats& st;
  double elapsed;
  std::optional<double> serverCpu;
  double clientCpu;
  std::uint64_t warmupOps, warmupErrors;

  double perOpUs(double seconds) const { return st.ops > 0 ? seconds * 1e6 / static_cast<double>(st.ops) : 0; }

  void printJson() const {
    std::string s = "{";
    s += "\"mode\":\"" + std::string(modeName(opt.mode)) + "\"";
    s += ",\"proto\":\"" + std::string(protoName(opt.proto)) + "\"";
    s += ",\"target\":" + jsonString(opt.targetText);
    s += ",\"connections\":" + std::to_string(opt.connections);
    s += ",\"pipeline\":" + std::to_string(opt.pipeline);
    s += ",\"threads\":" + std::to_string(opt.threads);
    s += ",\"ops\":" + std::to_string(st.ops);
    s += ",\"errors\":" + std::to_string(st.errors());
    s += ",\"elapsed_s\":" + number(elapsed, "%.6f");
    s += ",\"ops_per_s\":" + number(elapsed > 0 ? static_cast<double>(st.ops) / elapsed : 0, "%.1f");
    s += ",\"p50_us\":" + number(static_cast<double>(st.latency.percentile(0.50)) / 1e3, "%.1f");
    s += ",\"p99_us\":" + number(static_cast<double>(st.latency.percentile(0.99)) / 1e3, "%.1f");
    if (opt.mode == Mode::kCall) {
      s += ",\"window\":" + std::to_string(opt.pipeline);
      s += ",\"hangup_ms\":" + number(opt.hangupDelay * 1e3, "%.1f");
      s += ",\"bye_p50_us\":" + number(static_cast<double>(st.byeLatency.percentile(0.50)) / 1e3, "%.1f");
      s += ",\"bye_p99_us\":" + number(static_cast<double>(st.byeLatency.percentile(0.99)) / 1e3, "%.1f");
    }
    if (serverCpu) {
      s += ",\"server_cpu_s\":" + number(*serverCpu);
      s += ",\"server_cpu_us_per_op\":" + number(perOpUs(*serverCpu), "%.2f");
    } else {
      s += ",\"server_cpu_s\":null,\"server_cpu_us_per_op\":null";
    }
    s += ",\"client_cpu_us_per_op\":" + number(perOpUs(clientCpu), "%.2f");
    s += ",\"connect_errors\":" + std::to_string(st.connectErrors);
    s += ",\"tls_errors\":" + std::to_string(st.tlsErrors);
    s += ",\"timeouts\":" + std::to_string(st.timeouts);
    s += ",\"non200\":" + std::to_string(st.non200);
    s += ",\"protocol_errors\":" + std::to_string(st.protocolErrors);
    s += ",\"closed_by_peer\":" + std::to_string(st.closedByPeer);
    s += ",\"reconnects\":" + std::to_string(st.reconnects);
    s += ",\"resumed\":" + std::to_string(st.resumed);
    s += ",\"late_replies\":" + std::to_string(st.lateReplies);
    if (opt.warmup > 0) {
      s += ",\"warmup_s\":" + number(opt.warmup, "%.3f");
      s += ",\"warmup_ops\":" + std::to_string(warmupOps);
      s += ",\"warmup_errors\":" + std::to_string(warmupErrors);
    }
    s += ",\"first_error\":" + (st.firstError.empty() ? std::string("null") : jsonString(st.firstError));
    s += "}\n";
    std::fputs(s.c_str(), stdout);
  }

  void printText() const {
    if (opt.mode == Mode::kCall) return printCallText();
    const bool hs = opt.mode == Mode::kHandshake;
    std::printf("sipsd-bench: %s over %s to %s, %d connection(s)", modeName(opt.mode), protoName(opt.proto),
                opt.targetText.c_str(), opt.connections);
    if (!hs) std::printf(" x pipeline %d", opt.pipeline);
    std::printf(", %d thread(s)%s\n", opt.threads, hs ? (opt.resume ? ", resumed sessions" : ", full handshakes") : "");
    std::printf("  ops          %llu (%s)\n", static_cast<unsigned long long>(st.ops),
                hs ? (opt.requestPerConn ? "handshake + OPTIONS->200 + close" : "handshake + close") : "OPTIONS -> 200");
    std::printf("  errors       %llu (connect %llu, tls %llu, timeout %llu, non-200 %llu, protocol %llu, closed %llu)\n",
                static_cast<unsigned long long>(st.errors()), static_cast<unsigned long long>(st.connectErrors),
                static_cast<unsigned long long>(st.tlsErrors), static_cast<unsigned long long>(st.timeouts),
                static_cast<unsigned long long>(st.non200), static_cast<unsigned long long>(st.protocolErrors),
                static_cast<unsigned long long>(st.closedByPeer));
    std::printf("  elapsed      %.3f s\n", elapsed);
    std::printf("  ops/s        %.1f\n", elapsed > 0 ? static_cast<double>(st.ops) / elapsed : 0.0);
    printPercentiles("latency     ", st.latency, "");
    if (hs && opt.resume) std::printf("  resumed      %llu\n", static_cast<unsigned long long>(st.resumed));
    printTail("op");
  }

  static void printPercentiles(const char* label, const LatencyHistogram& h, const char* note) {
    std::printf("  %s p50 %.1f us, p99 %.1f us%s\n", label, static_cast<double>(h.percentile(0.50)) / 1e3,
                static_cast<double>(h.percentile(0.99)) / 1e3, note);
  }

  // CPU per operation (`unit`: "op" / "call") and what only shows when it happened.
  void printTail(const char* unit) const {
    if (serverCpu)
      std::printf("  server CPU   %.3f s = %.2f us/%s (pid %d)\n", *serverCpu, perOpUs(*serverCpu), unit,
                  static_cast<int>(opt.serverPid));
    std::printf("  client CPU   %.3f s = %.2f us/%s\n", clientCpu, perOpUs(clientCpu), unit);
    if (opt.warmup > 0)
      std::printf("  warm-up      %.3f s before, not counted: %llu %s(s), %llu failed\n", opt.warmup,
                  static_cast<unsigned long long>(warmupOps), unit, static_cast<unsigned long long>(warmupErrors));
    if (st.reconnects > 0) std::printf("  reconnects   %llu\n", static_cast<unsigned long long>(st.reconnects));
    if (st.lateReplies > 0) std::printf("  late replies %llu\n", static_cast<unsigned long long>(st.lateReplies));
    if (!st.firstError.empty()) std::printf("  first error  %s\n", st.firstError.c_str());
  }

  void printCallText() const {
    std::printf("sipsd-bench: calls over %s to %s (callee %s), %d connection(s) x %d calls in flight, "
                "hang-up %.0f ms after the ACK, %d thread(s)\n",
                protoName(opt.proto), opt.targetText.c_str(), opt.ruri.c_str(), opt.connections, opt.pipeline,
                opt.hangupDelay * 1e3, opt.threads);
    std::printf("  calls        %llu completed (INVITE -> 2xx -> ACK -> BYE -> 2xx)\n",
                static_cast<unsigned long long>(st.ops));
    std::printf("  failed       %llu (timeout %llu, non-2xx %llu, bad reply %llu, connection lost %llu, "
                "connect %llu, tls %llu)\n",
                static_cast<unsigned long long>(st.errors()), static_cast<unsigned long long>(st.timeouts),
                static_cast<unsigned long long>(st.non200), static_cast<unsigned long long>(st.protocolErrors),
                static_cast<unsigned long long>(st.closedByPeer), static_cast<unsigned long long>(st.connectErrors),
                static_cast<unsigned long long>(st.tlsErrors));
    std::printf("  elapsed      %.3f s\n", elapsed);
    std::printf("  calls/s      %.1f\n", elapsed > 0 ? static_cast<double>(st.ops) / elapsed : 0.0);
    printPercentiles("setup       ", st.latency, " (INVITE -> 2xx)");
    printPercentiles("hang-up     ", st.byeLatency, " (BYE -> 2xx)");
    printTail("call");
  }
};

}  // namespace

int main(int argc, char** argv) {
  BenchOptions opt;
  if (const int rc = parseBenchOptions(argc, argv, &opt); rc != 0) return rc == 1 ? 0 : 2;
  std::signal(SIGPIPE, SIG_IGN);

  SslCtxPtr ctx;
  if (opt.proto == Proto::kTls) {
    std::string error;
    ctx = makeClientCtx(TlsFiles{opt.cert, opt.key, opt.ca}, &error);
    if (!ctx) {
      std::fprintf(stderr, "sipsd-bench: %s\n", error.c_str());
      return 2;
    }
    if (opt.tlsVersion != 0) {
      SSL_CTX_set_min_proto_version(ctx.get(), opt.tlsVersion);
      SSL_CTX_set_max_proto_version(ctx.get(), opt.tlsVersion);
    }
  }
  if (opt.serverPid > 0 && !processCpuSeconds(opt.serverPid)) {
    std::fprintf(stderr, "sipsd-bench: --server-pid %d: no such process (cannot read /proc/%d/stat)\n",
                 static_cast<int>(opt.serverPid), static_cast<int>(opt.serverPid));
    return 2;
  }

  RunControl rc(opt, opt.threads);
  std::vector<std::unique_ptr<LoadWorker>> workers;
  for (int i = 0; i < opt.threads; ++i) workers.push_back(std::make_unique<LoadWorker>(i, opt, ctx.get(), rc));
  std::vector<std::thread> threads;
  for (int i = 1; i < opt.threads; ++i) threads.emplace_back([&, i] { workers[static_cast<std::size_t>(i)]->run(); });
  workers[0]->run();
  for (auto& t : threads) t.join();

  WorkerStats total;
  std::uint64_t warmupOps = 0, warmupErrors = 0;
  for (const auto& w : workers) {
    total.merge(w->stats());
    warmupOps += w->warmupOps();
    warmupErrors += w->warmupErrors();
  }
  const double elapsed = std::chrono::duration<double>(rc.end() - rc.start()).count();
  std::optional<double> serverCpu;
  if (rc.serverCpuStart() && rc.serverCpuEnd()) serverCpu = *rc.serverCpuEnd() - *rc.serverCpuStart();

  const Report report{opt, total, elapsed, serverCpu, rc.clientCpu(), warmupOps, warmupErrors};
  if (opt.json) report.printJson();
  else report.printText();
  std::fflush(stdout);
  return total.ops > 0 && total.errors() == 0 ? 0 : 1;
}

// tm's cost per stateful call without the kernel: INVITE -> 100/180/200, BYE -> 200 driven
// through TransactionLayer's hooks and script functions on a fake core (relays are built by the
// real forward builder and not sent), with a fake clock advancing 1 ms per call so finished
// transactions expire after T4 as in a proxy at 1000 calls/s (10,000 open). Prints ns per call
// (thread CPU time) and heap allocations (operator new) per call in the steady state after a
// warm-up.
// Run: meson test -C build --benchmark tm_calls (or the executable: tm_call_bench [calls]).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <new>
#include <string>

#include "core/module_api.h"
#include "core/parser/msg_parser.h"
#include "core/proxy/request_forward_builder.h"
#include "modules/tm/tm_layer.h"

using namespace sipsd;
using namespace sipsd::tm;

namespace {
size_t gNews = 0;
}  // namespace

void* operator new(size_t n) {
  ++gNews;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace {

int64_t fakeNow = 1000000;
int64_t fakeClock() { return fakeNow; }

class BenchTimer : public WorkerTimer {
 public:
  explicit BenchTimer(std::function<void()> f) : fn(std::move(f)) {}
  void arm(std::chrono::milliseconds after) override { due = fakeNow + after.count(); }
  void cancel() override { due = -1; }
  std::function<void()> fn;
  int64_t due = -1;
};

// Keeps only the last datagram relayed downstream (the UAS's replies copy its Vias).
class BenchCore : public CoreApi {
 public:
  std::string lastDown;
  size_t upstream = 0;
  BenchTimer* timer = nullptr;

  void log(int, std::string_view, std::string_view) override {}
  int logLevel() const override { return kLogErr; }
  int workerCount() const override { return 1; }
  const std::string& configDir() const override { return dir_; }
  void addTimer(std::chrono::milliseconds, std::function<void()>) override {}
  bool sendReply(ScriptContext&, std::string_view) override { return ++upstream; }
  void closeConnection(ScriptContext&) override {}
  const std::vector<RpcMethod>& rpcMethods() const override { return rpcs_; }
  void requestShutdown() override {}
  int currentWorker() const override { return 0; }
  std::unique_ptr<WorkerTimer> makeWorkerTimer(std::function<void()> fn) override {
    auto t = std::make_unique<BenchTimer>(std::move(fn));
    timer = t.get();
    return t;
  }
  void prepareRelay(ScriptContext& ctx, const RelayRequest& rq, RelayDone done) override {
    std::string out, err;
    ForwardOptions opt;
    opt.branch = rq.branch;
    LocalVia self{Proto::UDP, "127.0.0.1", 5060};
    if (!buildForwardedRequest(ctx.msg, ctx.rcv, self, opt, out, err)) std::abort();
    RelayTarget t;
    t.proto = Proto::UDP;
    t.dest = *SockAddr::fromIpPort("127.0.0.1", 5080);
    t.data = std::move(out);
    done(&t, 0, {});
  }
  bool sendUdp(const SockAddr&, std::string_view data) override {
    lastDown.assign(data);
    return true;
  }
  void tick() {
    ++fakeNow;
    if (timer && timer->due >= 0 && timer->due <= fakeNow) {
      timer->due = -1;
      timer->fn();
    }
  }

 private:
  std::string dir_;
  std::vector<RpcMethod> rpcs_;
};

struct Driver {
  BenchCore core;
  TransactionLayer layer{core, TmConfig{}};
  ReceiveInfo fromUac, fromUas;
  std::string text, reply;

  Driver() {
    layer.setClock(fakeClock);
    layer.addWorker(0);
    fromUac.proto = fromUas.proto = Proto::UDP;
    fromUac.src = *SockAddr::fromIpPort("10.0.0.1", 5070);
    fromUas.src = *SockAddr::fromIpPort("127.0.0.1", 5080);
    fromUac.dst = fromUas.dst = *SockAddr::fromIpPort("127.0.0.1", 5060);
    fromUac.worker = fromUas.worker = 0;
  }

  void request(const char* method, uint64_t call, int cseq) {
    text.assign(method).append(" sip:bob@127.0.0.1:5080 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK");
    text.append(std::to_string(call)).append(method).append(";rport\r\nMax-Forwards: 70\r\n");
    text.append("From: <sip:alice@a.example>;tag=a").append(std::to_string(call)).append("\r\nTo: <sip:bob@b.example>");
    if (cseq > 1) text.append(";tag=uas");
    text.append("\r\nCall-ID: ").append(std::to_string(call)).append("@bench\r\nCSeq: ").append(std::to_string(cseq));
    text.append(" ").append(method).append("\r\nContact: <sip:alice@10.0.0.1:5070>\r\n");
    if (cseq == 1)
      text.append("Content-Type: application/sdp\r\nContent-Length: 120\r\n\r\n").append(120, 'v');
    else
      text.append("Content-Length: 0\r\n\r\n");
    SipMsg msg;
    std::string err;
    if (!parseMessage(text, msg, err)) std::abort();
    ScriptContext ctx(msg, fromUac, core);
    if (layer.onRequest(ctx)) std::abort();  // a new request: for the script
    if (layer.relay(ctx, RelayRequest{}) != 1) std::abort();
  }

  void replyFromUas(int code, const char* reasonText, const char* method, int cseq) {
    SipMsg relayed;
    std::string err;
    if (!parseMessage(core.lastDown, relayed, err)) std::abort();
    reply.assign("SIP/2.0 ").append(std::to_string(code)).append(" ").append(reasonText).append("\r\n");
    for (const auto& h : relayed.headers)
      if (h.type == HdrType::Via) reply.append(h.raw);
    reply.append("From: <sip:alice@a.example>;tag=a\r\nTo: <sip:bob@b.example>;tag=uas\r\nCall-ID: x@bench\r\n");
    reply.append("CSeq: ").append(std::to_string(cseq)).append(" ").append(method).append("\r\n");
    reply.append("Content-Length: 0\r\n\r\n");
    SipMsg msg;
    if (!parseMessage(reply, msg, err)) std::abort();
    ScriptContext ctx(msg, fromUas, core);
    ctx.route = RouteKind::OnReply;
    if (!layer.onReply(ctx)) std::abort();  // tm's own
  }

  void call(uint64_t n) {
    request("INVITE", n, 1);
    replyFromUas(100, "Trying", "INVITE", 1);
    replyFromUas(180, "Ringing", "INVITE", 1);
    replyFromUas(200, "OK", "INVITE", 1);
    request("BYE", n, 2);
    replyFromUas(200, "OK", "BYE", 2);
    core.tick();
  }
};

}  // namespace

int main(int argc, char** argv) {
  const uint64_t calls = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100000;
  Driver d;
  uint64_t n = 0;
  for (; n < 20000; ++n) d.call(n);  // warm-up: 4x T4, the open set is steady from 5,000 on
  const size_t news0 = gNews;
  // CPU time of this thread: the machine may be shared, and time spent descheduled is not tm's.
  auto cpuNs = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  };
  const int64_t t0 = cpuNs();
  for (uint64_t i = 0; i < calls; ++i, ++n) d.call(n);
  const int64_t ns = cpuNs() - t0;
  TmStats s = d.layer.stats();
  std::printf("tm_call_bench: %llu calls, %.0f CPU ns/call, %.2f allocations/call (driver's included), %llu open, "
              "%llu bytes/open tx\n",
              (unsigned long long)calls, double(ns) / double(calls), double(gNews - news0) / double(calls),
              (unsigned long long)s.transactions,
              (unsigned long long)(s.transactions ? s.bytes / s.transactions : 0));
  return d.core.upstream > 0 ? 0 : 1;
}

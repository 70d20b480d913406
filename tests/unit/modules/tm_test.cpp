// tm's state machine tables, branch ids, hop-by-hop requests, and the
// transaction layer driven through a fake core with a controlled clock: retransmissions
// (timers A/E, G), 100 Trying, absorbed retransmissions, CANCEL, ACK for non-2xx, fr_timer
// 408, failure_route serial forking, memory per transaction.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "core/module_api.h"
#include "core/parser/msg_parser.h"
#include "core/proxy/request_forward_builder.h"
#include "modules/tm/branch_id.h"
#include "modules/tm/client_fsm.h"
#include "modules/tm/hop_requests.h"
#include "modules/tm/server_fsm.h"
#include "modules/tm/tm_layer.h"

using namespace sipsd;
using namespace sipsd::tm;

namespace {

int64_t fakeNow = 1000000;
int64_t fakeClock() { return fakeNow; }

class FakeTimer : public WorkerTimer {
 public:
  explicit FakeTimer(std::function<void()> fn) : fn(std::move(fn)) {}
  void arm(std::chrono::milliseconds after) override { due = fakeNow + after.count(); }
  void cancel() override { due = -1; }
  std::function<void()> fn;
  int64_t due = -1;
};

class FakeCore : public CoreApi {
 public:
  std::vector<std::string> upstream, downstream, logs;
  std::vector<SockAddr> downDest;
  FakeTimer* timer = nullptr;
  std::function<void(int, ScriptContext&)> route;

  void log(int, std::string_view, std::string_view text) override { logs.emplace_back(text); }
  int logLevel() const override { return kLogDebug; }
  int workerCount() const override { return 1; }
  const std::string& configDir() const override { return dir_; }
  void addTimer(std::chrono::milliseconds, std::function<void()>) override {}
  bool sendReply(ScriptContext&, std::string_view data) override {
    upstream.emplace_back(data);
    return true;
  }
  void closeConnection(ScriptContext&) override {}
  const std::vector<RpcMethod>& rpcMethods() const override { return rpcs_; }
  void requestShutdown() override {}
  int currentWorker() const override { return 0; }
  std::unique_ptr<WorkerTimer> makeWorkerTimer(std::function<void()> fn) override {
    auto t = std::make_unique<FakeTimer>(std::move(fn));
    timer = t.get();
    return t;
  }
  int runRoute(int index, ScriptContext& ctx) override {
    if (route) route(index, ctx);
    return 1;
  }
  void prepareRelay(ScriptContext& ctx, const RelayRequest& rq, RelayDone done) override {
    std::string out, err;
    ForwardOptions opt;
    opt.branch = rq.branch;
    opt.ruri = ctx.newRuri;
    opt.edits = &ctx.edits;
    LocalVia self{Proto::UDP, "127.0.0.1", 5060};
    REQUIRE(buildForwardedRequest(ctx.msg, ctx.rcv, self, opt, out, err));
    RelayTarget t;
    t.proto = Proto::UDP;
    uint16_t port = rq.port.value_or(ctx.dstUri.empty() ? 5080 : 5081);
    t.dest = *SockAddr::fromIpPort(rq.host ? std::string(*rq.host) : "127.0.0.1", port);
    t.data = std::move(out);
    done(&t, 0, {});
  }
  bool sendUdp(const SockAddr& to, std::string_view data) override {
    downstream.emplace_back(data);
    downDest.push_back(to);
    return true;
  }

  // Moves the clock and fires the worker timer while it is due.
  void advance(int64_t ms) {
    int64_t end = fakeNow + ms;
    while (timer && timer->due >= 0 && timer->due <= end) {
      fakeNow = std::max(fakeNow, timer->due);
      timer->due = -1;
      timer->fn();
    }
    fakeNow = end;
  }

 private:
  std::string dir_;
  std::vector<RpcMethod> rpcs_;
};

const char* kInvite =
    "INVITE sip:bob@127.0.0.1:5080 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKabc;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:alice@a.example>;tag=1\r\n"
    "To: <sip:bob@b.example>\r\n"
    "Call-ID: c1@test\r\n"
    "CSeq: 1 INVITE\r\n"
    "Content-Length: 0\r\n\r\n";

// The same transaction's CANCEL / ACK (same branch and sent-by).
std::string sameTx(const char* method, const char* toTag = nullptr) {
  return std::string(method) + " sip:bob@127.0.0.1:5080 SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKabc;rport\r\n"
         "Max-Forwards: 70\r\n"
         "From: <sip:alice@a.example>;tag=1\r\n"
         "To: <sip:bob@b.example>" + (toTag ? std::string(";tag=") + toTag : "") + "\r\n"
         "Call-ID: c1@test\r\n"
         "CSeq: 1 " + method + "\r\n"
         "Content-Length: 0\r\n\r\n";
}

// A reply from the UAS to what tm relayed: the relayed request's Vias, a To tag.
std::string replyTo(const std::string& relayed, int code, const char* reason, const char* method = "INVITE") {
  SipMsg m;
  std::string err;
  REQUIRE(parseMessage(relayed, m, err));
  std::string r = "SIP/2.0 " + std::to_string(code) + " " + reason + "\r\n";
  for (const auto& h : m.headers)
    if (h.type == HdrType::Via) r.append(h.raw);
  r += "From: <sip:alice@a.example>;tag=1\r\nTo: <sip:bob@b.example>;tag=uas\r\nCall-ID: c1@test\r\n";
  r += std::string("CSeq: 1 ") + method + "\r\nContent-Length: 0\r\n\r\n";
  return r;
}

struct Msg {
  std::string raw;
  SipMsg msg;
  ReceiveInfo rcv;
  std::unique_ptr<ScriptContext> ctx;
  Msg(std::string text, FakeCore& core, const char* src = "10.0.0.1") : raw(std::move(text)) {
    std::string err;
    REQUIRE(parseMessage(raw, msg, err));
    rcv.proto = Proto::UDP;
    rcv.src = *SockAddr::fromIpPort(src, 5070);
    rcv.dst = *SockAddr::fromIpPort("127.0.0.1", 5060);
    rcv.worker = 0;
    ctx = std::make_unique<ScriptContext>(msg, rcv, core);
    ctx->route = msg.isRequest() ? RouteKind::Request : RouteKind::OnReply;
  }
};

bool startsWith(const std::string& s, std::string_view p) { return s.compare(0, p.size(), p) == 0; }

struct Fixture {
  FakeCore core;
  TmConfig cfg;
  std::unique_ptr<TransactionLayer> layer;
  explicit Fixture(TmConfig c = TmConfig{}) : cfg(c) {
    layer = std::make_unique<TransactionLayer>(core, cfg);
    layer->setClock(fakeClock);
    layer->addWorker(0);
  }
};

}  // namespace

TEST_CASE("client state machine table") {
  auto s = clientStep(true, ClientState::Calling, ClientEvent::FinalOther);
  CHECK(s.next == ClientState::Completed);
  CHECK((s.actions & kCaSendAck));
  CHECK((s.actions & kCaStopRetransmit));
  s = clientStep(true, ClientState::Calling, ClientEvent::Provisional);
  CHECK(s.next == ClientState::Proceeding);
  CHECK((s.actions & kCaFrInv));
  s = clientStep(true, ClientState::Proceeding, ClientEvent::Retransmit);
  CHECK(s.actions == kCaNone);  // timer A stops once a provisional came
  s = clientStep(false, ClientState::Proceeding, ClientEvent::Retransmit);
  CHECK((s.actions & kCaRetransmit));  // timer E keeps going at T2
  s = clientStep(true, ClientState::Completed, ClientEvent::FinalOther);
  CHECK(s.actions == kCaSendAck);  // a retransmitted final is ACKed again
  s = clientStep(true, ClientState::Proceeding, ClientEvent::Timeout);
  CHECK((s.actions & kCaSendCancel));
  CHECK((s.actions & kCaLocal408));
  CHECK(clientStep(false, ClientState::Completed, ClientEvent::Final2xx).actions == kCaNone);
}

TEST_CASE("server state machine table") {
  auto s = serverStep(true, ServerState::Proceeding, ServerEvent::SendFinal);
  CHECK(s.next == ServerState::Completed);
  CHECK((s.actions & kSaStartG));
  s = serverStep(true, ServerState::Completed, ServerEvent::Ack);
  CHECK(s.next == ServerState::Confirmed);
  CHECK((s.actions & kSaWait));
  CHECK(serverStep(false, ServerState::Trying, ServerEvent::Retransmission).actions == kSaNone);
  CHECK(serverStep(false, ServerState::Completed, ServerEvent::Retransmission).actions == kSaResendLast);
  CHECK(serverStep(true, ServerState::Accepted, ServerEvent::Send2xx).actions == kSaSend);
}

TEST_CASE("branch ids and server transaction keys") {
  std::string b = makeBranch(BranchId{3, 0xabcdef1234ULL, 2});
  CHECK(startsWith(b, "z9hG4bKtm"));
  auto id = parseBranch(b);
  REQUIRE(id);
  CHECK(id->worker == 3);
  CHECK(id->tx == 0xabcdef1234ULL);
  CHECK(id->branch == 2);
  CHECK_FALSE(parseBranch("z9hG4bKabc"));
  CHECK_FALSE(parseBranch("z9hG4bKtm1.zz.0"));

  SipMsg inv, ack;
  std::string err, ackText = sameTx("ACK", "x");
  REQUIRE(parseMessage(kInvite, inv, err));
  REQUIRE(parseMessage(ackText, ack, err));
  CHECK(serverKey(inv, "INVITE") == serverKey(ack, "INVITE"));
  CHECK(serverKey(inv, "INVITE") != serverKey(inv, "BYE"));
  SipMsg old;
  std::string rfc2543 = std::string(kInvite);
  rfc2543.replace(rfc2543.find("z9hG4bKabc"), 10, "abc");
  REQUIRE(parseMessage(rfc2543, old, err));
  CHECK(serverKey(old, "INVITE").empty());
}

TEST_CASE("hop-by-hop ACK and CANCEL from the relayed request") {
  std::string relayed =
      "INVITE sip:bob@10.0.0.9 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKtm0.1.0;rport\r\n"
      "Via: SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKabc\r\n"
      "Route: <sip:10.0.0.8;lr>\r\n"
      "From: <sip:alice@a>;tag=1\r\nTo: <sip:bob@b>\r\nCall-ID: c9\r\nCSeq: 7 INVITE\r\n"
      "Content-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n";
  std::string replyText = "SIP/2.0 486 Busy\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKtm0.1.0\r\n"
                          "To: <sip:bob@b>;tag=b1\r\nFrom: <sip:alice@a>;tag=1\r\nCall-ID: c9\r\nCSeq: 7 INVITE\r\n"
                          "Content-Length: 0\r\n\r\n";
  SipMsg reply;
  std::string err, ack, cancel;
  REQUIRE(parseMessage(replyText, reply, err));
  REQUIRE(buildAck(relayed, reply, ack, err));
  CHECK(startsWith(ack, "ACK sip:bob@10.0.0.9 SIP/2.0\r\n"));
  CHECK(ack.find("branch=z9hG4bKtm0.1.0") != std::string::npos);
  CHECK(ack.find("10.0.0.1:5070") == std::string::npos);  // our Via only
  CHECK(ack.find("Route: <sip:10.0.0.8;lr>") != std::string::npos);
  CHECK(ack.find("To: <sip:bob@b>;tag=b1") != std::string::npos);
  CHECK(ack.find("CSeq: 7 ACK") != std::string::npos);
  CHECK(ack.find("v=0") == std::string::npos);
  REQUIRE(buildCancel(relayed, cancel, err));
  CHECK(startsWith(cancel, "CANCEL sip:bob@10.0.0.9 SIP/2.0\r\n"));
  CHECK(cancel.find("CSeq: 7 CANCEL") != std::string::npos);
  CHECK(cancel.find("To: <sip:bob@b>\r\n") != std::string::npos);
}

TEST_CASE("INVITE: 100 Trying, absorbed retransmission, timer A, CANCEL, ACK for 487") {
  Fixture f;
  Msg inv(kInvite, f.core);
  CHECK_FALSE(f.layer->onRequest(*inv.ctx));  // new: the script runs
  CHECK(f.layer->relay(*inv.ctx, RelayRequest{}) == 1);
  REQUIRE(f.core.upstream.size() == 1);
  CHECK(startsWith(f.core.upstream[0], "SIP/2.0 100 Trying"));
  REQUIRE(f.core.downstream.size() == 1);
  const std::string relayed = f.core.downstream[0];
  CHECK(startsWith(relayed, "INVITE sip:bob@127.0.0.1:5080 SIP/2.0"));
  CHECK(relayed.find("branch=z9hG4bKtm0.") != std::string::npos);
  CHECK(f.layer->stats().transactions == 1);
  CHECK(f.layer->stats().bytes >= sizeof(Transaction) + relayed.size());

  // The sender retransmits: absorbed, the 100 goes again.
  Msg again(kInvite, f.core);
  CHECK(f.layer->onRequest(*again.ctx));
  CHECK(f.core.upstream.size() == 2);

  // Timer A: T1, 2*T1, 4*T1 ...
  f.core.advance(499);
  CHECK(f.core.downstream.size() == 1);
  f.core.advance(1);
  CHECK(f.core.downstream.size() == 2);
  f.core.advance(1000);
  CHECK(f.core.downstream.size() == 3);
  CHECK(f.core.downstream[2] == relayed);

  Msg ringing(replyTo(relayed, 180, "Ringing"), f.core, "127.0.0.1");
  CHECK(f.layer->onReply(*ringing.ctx));
  REQUIRE(f.core.upstream.size() == 3);
  CHECK(startsWith(f.core.upstream[2], "SIP/2.0 180 Ringing"));
  CHECK(f.core.upstream[2].find("z9hG4bKtm") == std::string::npos);  // our Via came off
  f.core.advance(10000);
  CHECK(f.core.downstream.size() == 3);  // no retransmission after a provisional

  Msg cancel(sameTx("CANCEL"), f.core);
  CHECK(f.layer->onRequest(*cancel.ctx));
  REQUIRE(f.core.upstream.size() == 4);
  CHECK(startsWith(f.core.upstream[3], "SIP/2.0 200 OK"));
  CHECK(f.core.upstream[3].find("CSeq: 1 CANCEL") != std::string::npos);
  REQUIRE(f.core.downstream.size() == 4);
  CHECK(startsWith(f.core.downstream[3], "CANCEL sip:bob@127.0.0.1:5080"));

  Msg cancelOk(replyTo(relayed, 200, "OK", "CANCEL"), f.core, "127.0.0.1");
  CHECK(f.layer->onReply(*cancelOk.ctx));
  Msg terminated(replyTo(relayed, 487, "Request Terminated"), f.core, "127.0.0.1");
  CHECK(f.layer->onReply(*terminated.ctx));
  REQUIRE(f.core.downstream.size() == 5);
  CHECK(startsWith(f.core.downstream[4], "ACK sip:bob@127.0.0.1:5080"));
  CHECK(f.core.downstream[4].find(";tag=uas") != std::string::npos);
  REQUIRE(f.core.upstream.size() == 5);
  CHECK(startsWith(f.core.upstream[4], "SIP/2.0 487"));

  // Timer G retransmits the 487 until the ACK comes, which is absorbed.
  f.core.advance(500);
  CHECK(f.core.upstream.size() == 6);
  Msg ack(sameTx("ACK", "uas"), f.core);
  CHECK(f.layer->onRequest(*ack.ctx));
  f.core.advance(4000);
  CHECK(f.core.upstream.size() == 6);
  f.core.advance(6000);  // T4 later the transaction is gone
  CHECK(f.layer->stats().transactions == 0);
  CHECK(f.layer->stats().bytes == 0);
}

TEST_CASE("fr_timer: a branch that never answers ends in failure_route, which relays again") {
  TmConfig c;
  c.frTimer = 2000;
  Fixture f(c);
  Msg inv(kInvite, f.core);
  CHECK_FALSE(f.layer->onRequest(*inv.ctx));
  f.layer->setOnFailure(*inv.ctx, 7);
  CHECK(f.layer->relay(*inv.ctx, RelayRequest{}) == 1);
  int failureCode = 0;
  f.core.route = [&](int index, ScriptContext& ctx) {
    CHECK(index == 7);
    CHECK(ctx.route == RouteKind::Failure);
    failureCode = ctx.tReplyCode;
    RelayRequest rq;
    rq.host = "127.0.0.1";
    rq.port = 5090;
    rq.proto = Proto::UDP;
    CHECK(f.layer->relay(ctx, rq) == 1);
  };
  f.core.advance(1999);
  CHECK(failureCode == 0);
  f.core.advance(1);
  CHECK(failureCode == 408);
  REQUIRE(f.core.downDest.size() >= 2);
  CHECK(f.core.downDest.back().port() == 5090);
  const std::string second = f.core.downstream.back();
  CHECK(second.find("branch=z9hG4bKtm0.") != std::string::npos);
  CHECK(f.core.upstream.size() == 1);  // only the 100: nothing final yet

  Msg ok(replyTo(second, 200, "OK"), f.core, "127.0.0.1");
  CHECK(f.layer->onReply(*ok.ctx));
  REQUIRE(f.core.upstream.size() == 2);
  CHECK(startsWith(f.core.upstream[1], "SIP/2.0 200 OK"));
}

TEST_CASE("flags, branch flags and $avps go with the transaction into onreply_route and failure_route") {
  Fixture f;
  Msg inv(kInvite, f.core);
  CHECK_FALSE(f.layer->onRequest(*inv.ctx));
  inv.ctx->flags = 1u << 1;
  inv.ctx->bflags = 1u << 6;
  REQUIRE(inv.ctx->avps.set(0, Value::view("callee")));
  f.layer->setOnReply(*inv.ctx, 3);
  f.layer->setOnFailure(*inv.ctx, 7);
  const uint64_t bytesBefore = f.layer->stats().bytes;
  CHECK(f.layer->relay(*inv.ctx, RelayRequest{}) == 1);
  CHECK(f.layer->stats().bytes > bytesBefore);
  inv.ctx->flags = 0;  // later changes in the request route are not the transaction's
  std::vector<std::string> seen;
  f.core.route = [&](int index, ScriptContext& ctx) {
    const StoredValue* callee = ctx.avps.find(0);
    const StoredValue* rounds = ctx.avps.find(1);
    seen.push_back(std::to_string(index) + " flags=" + std::to_string(ctx.flags) + " bflags=" +
                   std::to_string(ctx.bflags) + " callee=" + (callee ? callee->str : "-") +
                   " rounds=" + (rounds ? std::to_string(rounds->num) : "-"));
    ctx.flags |= 1u << 4;  // kept for the next route of the transaction
    REQUIRE(ctx.avps.set(1, Value::integer(rounds ? rounds->num + 1 : 1)));
  };
  const std::string relayed = f.core.downstream.back();
  Msg ringing(replyTo(relayed, 180, "Ringing"), f.core, "127.0.0.1");
  CHECK(f.layer->onReply(*ringing.ctx));
  Msg busy(replyTo(relayed, 486, "Busy Here"), f.core, "127.0.0.1");
  CHECK(f.layer->onReply(*busy.ctx));
  CHECK(seen == std::vector<std::string>{"3 flags=2 bflags=64 callee=callee rounds=-",
                                         "3 flags=18 bflags=64 callee=callee rounds=1",
                                         "7 flags=18 bflags=64 callee=callee rounds=2"});
}

TEST_CASE("fr_timer without failure_route: local 408 upstream") {
  TmConfig c;
  c.frTimer = 1000;
  Fixture f(c);
  Msg inv(kInvite, f.core);
  CHECK_FALSE(f.layer->onRequest(*inv.ctx));  // the dispatcher's hook runs before every script
  CHECK(f.layer->relay(*inv.ctx, RelayRequest{}) == 1);
  f.core.advance(1000);
  REQUIRE(f.core.upstream.size() == 2);
  CHECK(startsWith(f.core.upstream[1], "SIP/2.0 408 Request Timeout"));
}

TEST_CASE("non-INVITE: timer E capped at T2, final relayed, retransmission answered again") {
  TmConfig c;
  c.t1 = 100;
  c.t2 = 400;
  Fixture f(c);
  std::string text = kInvite;
  text.replace(0, 6, "MESSAGE");
  text.replace(text.find("CSeq: 1 INVITE"), 14, "CSeq: 1 MESSAGE");
  Msg req(text, f.core);
  CHECK_FALSE(f.layer->onRequest(*req.ctx));
  CHECK(f.layer->relay(*req.ctx, RelayRequest{}) == 1);
  CHECK(f.core.upstream.empty());  // no 100 for non-INVITE
  // 100, 200, 400, 400, 400 ms
  f.core.advance(100);
  f.core.advance(200);
  f.core.advance(400);
  f.core.advance(400);
  CHECK(f.core.downstream.size() == 5);
  f.core.advance(399);
  CHECK(f.core.downstream.size() == 5);
  Msg retrans(text, f.core);
  CHECK(f.layer->onRequest(*retrans.ctx));  // absorbed silently in Trying
  CHECK(f.core.upstream.empty());
  Msg ok(replyTo(f.core.downstream[0], 200, "OK", "MESSAGE"), f.core, "127.0.0.1");
  CHECK(f.layer->onReply(*ok.ctx));
  REQUIRE(f.core.upstream.size() == 1);
  Msg retrans2(text, f.core);
  CHECK(f.layer->onRequest(*retrans2.ctx));
  CHECK(f.core.upstream.size() == 2);
  CHECK(f.core.upstream[1] == f.core.upstream[0]);
  f.core.advance(10000);
  CHECK(f.core.downstream.size() == 5);
}

TEST_CASE("memory per transaction: an INVITE with an 800-byte body on one branch stays under 5 KiB") {
  Fixture f;
  std::string text = kInvite;
  std::string body(800, 'x');
  text.replace(text.find("Content-Length: 0"), 17, "Content-Type: application/sdp\r\nContent-Length: 800");
  text += body;
  Msg inv(text, f.core);
  CHECK_FALSE(f.layer->onRequest(*inv.ctx));
  CHECK(f.layer->relay(*inv.ctx, RelayRequest{}) == 1);
  Msg ringing(replyTo(f.core.downstream[0], 180, "Ringing"), f.core, "127.0.0.1");
  CHECK(f.layer->onReply(*ringing.ctx));
  TmStats s = f.layer->stats();
  REQUIRE(s.transactions == 1);
  MESSAGE("bytes per open INVITE transaction (1 branch, " << text.size() << "-byte request): " << s.bytes
          << " (struct " << sizeof(Transaction) << ", branch " << sizeof(Branch) << ")");
  // received request + relayed copy + last reply + the structs
  CHECK(s.bytes >= 2 * text.size());
  CHECK(s.bytes < 5 * 1024);
}

TEST_CASE("parallel forking: extra targets from lookup() get their own branches; best final wins") {
  Fixture f;
  Msg inv(kInvite, f.core);
  CHECK_FALSE(f.layer->onRequest(*inv.ctx));
  inv.ctx->newRuri = "sip:bob@10.1.1.1";
  inv.ctx->extraBranches.push_back({"sip:bob@10.2.2.2;transport=udp", "sip:127.0.0.1:5081"});
  CHECK(f.layer->relay(*inv.ctx, RelayRequest{}) == 1);
  REQUIRE(f.core.downstream.size() == 2);
  CHECK(startsWith(f.core.downstream[0], "INVITE sip:bob@10.1.1.1 SIP/2.0"));
  CHECK(startsWith(f.core.downstream[1], "INVITE sip:bob@10.2.2.2;transport=udp SIP/2.0"));
  CHECK(f.core.downDest[1].port() == 5081);
  CHECK(inv.ctx->newRuri == "sip:bob@10.1.1.1");  // the script's view is unchanged
  Msg busy(replyTo(f.core.downstream[0], 486, "Busy Here"), f.core, "127.0.0.1");
  CHECK(f.layer->onReply(*busy.ctx));
  CHECK(f.core.upstream.size() == 1);  // the other branch is still pending
  Msg unavailable(replyTo(f.core.downstream[1], 480, "Temporarily Unavailable"), f.core, "127.0.0.1");
  CHECK(f.layer->onReply(*unavailable.ctx));
  REQUIRE(f.core.upstream.size() == 2);
  CHECK(startsWith(f.core.upstream[1], "SIP/2.0 486 Busy Here"));  // first of the same class
}

TEST_CASE("branch_route: runs per branch before it is built; its edits are the branch's; drop stops it") {
  Fixture f;
  Msg inv(kInvite, f.core);
  CHECK_FALSE(f.layer->onRequest(*inv.ctx));
  inv.ctx->newRuri = "sip:bob@10.1.1.1";
  inv.ctx->extraBranches.push_back({"sip:drop@10.2.2.2", ""});
  inv.ctx->extraBranches.push_back({"sip:carol@10.3.3.3", ""});
  inv.ctx->edits.appendHeaders = "X-Request: all\r\n";
  CHECK_FALSE(f.layer->isSet(*inv.ctx, RouteKind::Branch));
  f.layer->setOnBranch(*inv.ctx, 9);
  CHECK(f.layer->isSet(*inv.ctx, RouteKind::Branch));
  CHECK_FALSE(f.layer->isSet(*inv.ctx, RouteKind::Failure));
  std::vector<int> seen;
  f.core.route = [&](int index, ScriptContext& ctx) {
    CHECK(index == 9);
    CHECK(ctx.route == RouteKind::Branch);
    seen.push_back(ctx.tBranchIndex);
    if (ctx.newRuri.find("drop@") != std::string::npos) {
      ctx.dropped = true;
      return;
    }
    ctx.edits.appendHeaders += "X-Branch: " + std::to_string(ctx.tBranchIndex) + "\r\n";
    CHECK(f.layer->relay(ctx, RelayRequest{}) == -1);  // no relay from inside a branch
  };
  CHECK(f.layer->relay(*inv.ctx, RelayRequest{}) == 1);
  CHECK(seen == std::vector<int>{0, 1, 1});  // the dropped branch's index is reused
  REQUIRE(f.core.downstream.size() == 2);
  CHECK(startsWith(f.core.downstream[0], "INVITE sip:bob@10.1.1.1 SIP/2.0"));
  CHECK(f.core.downstream[0].find("X-Request: all\r\nX-Branch: 0\r\n") != std::string::npos);
  CHECK(startsWith(f.core.downstream[1], "INVITE sip:carol@10.3.3.3 SIP/2.0"));
  CHECK(f.core.downstream[1].find("X-Branch: 1\r\n") != std::string::npos);
  CHECK(f.core.downstream[1].find("X-Branch: 0") == std::string::npos);
  // The request's own context is as the request route left it.
  CHECK(inv.ctx->edits.appendHeaders == "X-Request: all\r\n");
  CHECK(inv.ctx->route == RouteKind::Request);
  CHECK(inv.ctx->tBranchIndex == 0);
}

TEST_CASE("branch_route dropping every branch: t_relay() fails, the transaction waits for the script's answer") {
  Fixture f;
  Msg inv(kInvite, f.core);
  CHECK_FALSE(f.layer->onRequest(*inv.ctx));
  f.layer->setOnBranch(*inv.ctx, 3);
  f.core.route = [](int, ScriptContext& ctx) { ctx.dropped = true; };
  CHECK(f.layer->relay(*inv.ctx, RelayRequest{}) == -1);
  CHECK(f.core.downstream.empty());
  CHECK_FALSE(f.layer->answered(*inv.ctx));
  CHECK(f.layer->replyIfTransaction(*inv.ctx, 500, "Server Internal Error") == 1);  // sl_reply_error()
  REQUIRE(f.core.upstream.size() == 2);  // 100 Trying, then the 500
  CHECK(startsWith(f.core.upstream[1], "SIP/2.0 500 Server Internal Error"));
  CHECK(f.layer->answered(*inv.ctx));
  // Without a transaction send_reply() is left to sl (stateless).
  Fixture g;
  Msg other(kInvite, g.core);
  CHECK_FALSE(g.layer->onRequest(*other.ctx));
  CHECK(g.layer->replyIfTransaction(*other.ctx, 404, "Not Found") == 0);
  CHECK(g.layer->precheckTrans(*other.ctx) == -1);
  CHECK(g.layer->isCanceled(*other.ctx) == -1);
}

TEST_CASE("failure_reply_mode 3: a new serial leg's replies alone decide; 0: every reply competes") {
  for (int mode : {0, 3}) {
    CAPTURE(mode);
    TmConfig c;
    c.failureReplyMode = mode;
    Fixture f(c);
    Msg inv(kInvite, f.core);
    CHECK_FALSE(f.layer->onRequest(*inv.ctx));
    f.layer->setOnFailure(*inv.ctx, 7);
    CHECK(f.layer->relay(*inv.ctx, RelayRequest{}) == 1);
    f.core.route = [&](int, ScriptContext& ctx) {
      RelayRequest rq;
      rq.host = "127.0.0.1";
      rq.port = 5090;
      rq.proto = Proto::UDP;
      CHECK(f.layer->relay(ctx, rq) == 1);
    };
    Msg busy(replyTo(f.core.downstream[0], 486, "Busy Here"), f.core, "127.0.0.1");
    CHECK(f.layer->onReply(*busy.ctx));
    REQUIRE(f.core.downstream.size() >= 3);  // ACK for the 486, then the second leg
    f.core.route = nullptr;
    Msg unavailable(replyTo(f.core.downstream.back(), 503, "Service Unavailable"), f.core, "127.0.0.1");
    CHECK(f.layer->onReply(*unavailable.ctx));
    REQUIRE(f.core.upstream.size() == 2);
    // Mode 0: the 486 of the first leg wins; mode 3: only the second leg counts (503 -> 500).
    CHECK(startsWith(f.core.upstream[1], mode == 0 ? "SIP/2.0 486 Busy Here" : "SIP/2.0 500"));
  }
}

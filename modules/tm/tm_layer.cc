#include "modules/tm/tm_layer.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "core/parser/cseq_parser.h"
#include "core/parser/msg_parser.h"
#include "core/parser/parse_util.h"
#include "core/parser/via_parser.h"
#include "core/proxy/reply_builder.h"
#include "core/proxy/reply_forward_builder.h"
#include "modules/tm/branch_id.h"
#include "modules/tm/hop_requests.h"

namespace sipsd::tm {
namespace {

constexpr std::string_view kModule = "tm";

// What the script functions of one run have set before the transaction exists (t_on_failure
// before t_relay), and the transaction a failure_route runs on. Reset by the request hook,
// which runs before every request script.
struct RunState {
  Transaction* tx = nullptr;
  int worker = -1;
  int onReply = -1;
  int onFailure = -1;
  int onBranch = -1;
  int64_t frTimer = 0;
  int64_t frInvTimer = 0;
  // requestKey()'s last key: for which message (in the request route) and method.
  const SipMsg* keyMsg = nullptr;
  const char* keyBuf = nullptr;
  size_t keyLen = 0;
  std::string_view keyMethod;
  bool keyFound = false;
  uint64_t keyHash = 0;
  // The clock as the request hook read it, for which message: the request route's t_relay()
  // reuses it.
  int64_t now = 0;
  const char* nowBuf = nullptr;
};
thread_local RunState run;
thread_local std::string tKey;  // requestKey()'s buffer

// tm's cached clock. The outermost ClockScope of an entry point (hook, script function, timer,
// relay callback, posted task) reads the clock once; everything under it, nested scopes
// included (a failure_route's t_relay() run from a timer), reuses that reading instead of a
// clock_gettime per state change. An entry point lasts microseconds, so deadlines are exact
// to well under a millisecond.
thread_local int tClockDepth = 0;
thread_local int64_t tClockNow = 0;
struct ClockScope {
  ClockScope(int64_t (*clock)(), int64_t seed = 0) {
    if (tClockDepth++ == 0) tClockNow = seed ? seed : clock();
  }
  ~ClockScope() { --tClockDepth; }
  ClockScope(const ClockScope&) = delete;
  ClockScope& operator=(const ClockScope&) = delete;
};

// The replies tm builds (100 Trying, relayed replies, local finals) are built here and then
// copied into the transaction's lastReply, whose block (kept when the transaction is reused)
// grows to the largest reply it carried: in the steady state no reply costs a malloc. (Swapping
// the blocks instead saves the copy, but then small blocks circulate and a larger reply
// reallocates.) Used only between building a reply and serverEvent().
thread_local std::string tOut;
std::string& replyScratch() {
  // A block grown by an exceptional reply is not kept.
  if (tOut.capacity() > TxTable::kKeepBytes) std::string().swap(tOut);
  return tOut;
}

// Relay callbacks capture the worker's table and this (branch index beside the id: ids are
// below 2^56), 16 bytes that std::function stores inline.
uint64_t packBranch(uint64_t txId, size_t idx) { return txId << 8 | uint64_t(idx & 0xff); }

std::string_view cseqMethodOf(const SipMsg& msg) {
  const Header* h = findHeader(msg, HdrType::CSeq);
  if (!h) return {};
  CSeqBody cs;
  std::string err;
  return parseCSeq(h->value, cs, err) ? cs.method : std::string_view();
}

}  // namespace

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string_view reasonFor(int code) {
  switch (code) {
    case 100: return "Trying";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 408: return "Request Timeout";
    case 478: return "Unresolvable destination";
    case 481: return "Call/Transaction Does Not Exist";
    case 483: return "Too Many Hops";
    case 487: return "Request Terminated";
    case 500: return "Server Internal Error";
    case 503: return "Service Unavailable";
    default: return code < 300 ? "OK" : code < 400 ? "Redirect" : code < 500 ? "Request Failure"
                                 : code < 600 ? "Server Error" : "Global Failure";
  }
}

bool betterFinal(int code, int best) {
  if (best == 0) return true;
  bool global = code >= 600, bestGlobal = best >= 600;
  if (global != bestGlobal) return global;
  return code / 100 < best / 100;
}

void TransactionLayer::log(int level, const std::string& text) const {
  if (core_.logLevel() >= level) core_.log(level, kModule, text);
}

void TransactionLayer::addWorker(int index) {
  if (index < 0) return;
  if (size_t(index) >= workers_.size()) workers_.resize(size_t(index) + 1);
  if (!workers_[size_t(index)]) {
    // Ids start at a random point so branches differ across restarts (a late reply to a
    // previous run's branch must not match a new transaction).
    const auto seq = uint64_t(std::chrono::system_clock::now().time_since_epoch().count());
    workers_[size_t(index)] = std::make_unique<WorkerTables>(this, index, seq);
  }
  // Called for every worker before traffic: a second worker means requests can miss.
  if (index >= 1 && !directory_) directory_ = std::make_unique<InviteDirectory>();
}

int64_t TransactionLayer::now() const { return tClockDepth ? tClockNow : clock_(); }

namespace {
// The request hook's clock reading when ctx is the request it ran for (0: read the clock).
int64_t hookClock(const ScriptContext& ctx) {
  return ctx.route == RouteKind::Request && run.nowBuf == ctx.msg.buf.data() ? run.now : 0;
}
}  // namespace

TransactionLayer::WorkerTables* TransactionLayer::tables(int worker) {
  if (worker < 0 || size_t(worker) >= workers_.size()) return nullptr;
  return workers_[size_t(worker)].get();
}

TransactionLayer::WorkerTables* TransactionLayer::current() { return tables(core_.currentWorker()); }

Transaction* TransactionLayer::find(WorkerTables& w, uint64_t id) { return w.txs.find(id); }

TmStats TransactionLayer::stats() const {
  TmStats s;
  for (const auto& w : workers_) {
    if (!w) continue;
    s.transactions += w->count.load(std::memory_order_relaxed);
    s.bytes += w->bytes.load(std::memory_order_relaxed);
    s.created += w->created.load(std::memory_order_relaxed);
  }
  return s;
}

// ---- transactions ------------------------------------------------------------------------------

Transaction* TransactionLayer::ensureTx(WorkerTables& w, ScriptContext& ctx) {
  if (run.tx && run.worker == w.index) return run.tx;
  const SipMsg& msg = ctx.msg;
  std::string_view key;
  uint64_t hash = 0;
  if (requestKey(ctx, msg.method, key, hash))
    if (Transaction* found = w.byKey.find(hash, key)) return run.tx = found;
  Transaction* created = w.txs.create(msg.method == "INVITE");
  if (!created) {
    log(kLogErr, "no room for another transaction in worker " + std::to_string(w.index) + " (" +
                     std::to_string(w.txs.size()) + " open)");
    return nullptr;
  }
  Transaction& tx = *created;
  Transaction::fill(tx.key, key);
  Transaction::fill(tx.request, msg.buf);
  tx.rcv = ctx.rcv;
  tx.rcv.session = nullptr;  // the connection may be gone when tm answers later
  tx.onReply = run.onReply;
  tx.onFailure = run.onFailure;
  tx.onBranch = run.onBranch;
  tx.frTimer = run.frTimer;
  tx.frInvTimer = run.frInvTimer;
  // A transaction nobody relays or answers is dropped after fr_timer (t_newtran() alone).
  tx.endAt = now() + frFor(tx);
  if (!tx.key.empty()) {
    tx.indexHash = hash;
    w.byKey.insert(hash, &tx);
    if (directory_ && tx.invite && w.index < 255) {
      tx.keyHash = hash | 1;  // never 0 (= not published)
      directory_->publish(tx.keyHash, w.index);
    }
  }
  w.count.fetch_add(1, std::memory_order_relaxed);
  w.created.fetch_add(1, std::memory_order_relaxed);
  metrics_.created(tx.invite);
  run.tx = &tx;
  run.worker = w.index;
  if (tx.invite) {
    // §16.2/§17.2.1: a 100 Trying at once stops the sender's INVITE retransmissions.
    std::string& out = replyScratch();
    std::string err;
    SipReplyOptions opt;
    if (buildSipReply(msg, tx.rcv, 100, "Trying", opt, out, err))
      serverEvent(w, tx, int(ServerEvent::Send1xx), 100, &out);
    else
      log(kLogNotice, "cannot build 100 Trying for " + ctx.rcv.src.str() + ": " + err);
  }
  account(w, tx);
  reschedule(w, tx);
  return &tx;
}

Transaction* TransactionLayer::currentTx(ScriptContext& ctx) {
  (void)ctx;
  WorkerTables* w = current();
  if (!w || !run.tx || run.worker != w->index) return nullptr;
  return run.tx;
}

void TransactionLayer::deleteTx(WorkerTables& w, Transaction& tx) {
  if (!tx.key.empty()) w.byKey.erase(tx.indexHash, &tx);
  if (tx.keyHash) directory_->retract(tx.keyHash, w.index);
  if (run.tx == &tx) run.tx = nullptr;
  w.count.fetch_sub(1, std::memory_order_relaxed);
  metrics_.freed(tx.invite);
  w.bytes.fetch_sub(tx.accounted, std::memory_order_relaxed);
  w.timers.remove(TxTable::slotOf(tx.id));
  w.txs.release(&tx);  // tx is gone (or reset for reuse) from here on
}

void TransactionLayer::account(WorkerTables& w, Transaction& tx) {
  // Called where a buffer of tx changes (not per message): the figure tm.stats reports.
  size_t bytes = tx.memoryBytes();
  if (bytes != tx.accounted) {
    w.bytes.fetch_add(bytes - tx.accounted, std::memory_order_relaxed);
    tx.accounted = bytes;
  }
}

// ---- server side -----------------------------------------------------------------------------

void TransactionLayer::sendUpstream(Transaction& tx, std::string_view data) {
  // sendReply goes where the request came from: the UDP socket it arrived on, or its connection.
  thread_local SipMsg none;
  ScriptContext c(none, tx.rcv, core_);
  if (!core_.sendReply(c, data))
    log(kLogNotice, "cannot send a reply to " + std::string(protoName(tx.rcv.proto)) + ":" + tx.rcv.src.str() +
                        " (connection gone?)");
}

void TransactionLayer::serverEvent(WorkerTables& w, Transaction& tx, int evIndex, int code, std::string* data) {
  auto ev = ServerEvent(evIndex);
  ServerStep step = serverStep(tx.invite, tx.state, ev);
  tx.state = step.next;
  const int64_t now = this->now();
  if ((step.actions & kSaSend) && data) {
    sendUpstream(tx, *data);
    const size_t before = Transaction::heapBytes(tx.lastReply);
    Transaction::fill(tx.lastReply, *data);  // into the transaction's own block (see replyScratch())
    tx.lastCode = code;
    // Only this block can have changed: no walk over the transaction (memoryBytes()).
    const size_t after = Transaction::heapBytes(tx.lastReply);
    if (after != before) {
      w.bytes.fetch_add(after - before, std::memory_order_relaxed);
      tx.accounted += after - before;
    }
  }
  if ((step.actions & kSaResendLast) && !tx.lastReply.empty()) {
    sendUpstream(tx, tx.lastReply);
    if (ev == ServerEvent::TimerG) metrics_.retransmission(TmMetrics::kReplySent);
  }
  if ((step.actions & kSaStartG) && tx.rcv.proto == Proto::UDP) {
    tx.gIval = ev == ServerEvent::TimerG ? std::min(tx.gIval * 2, cfg_.t2) : cfg_.t1;
    tx.gAt = now + tx.gIval;
  }
  if (step.actions & kSaStartH) tx.hAt = now + cfg_.timerB();
  if (step.actions & kSaStopG) tx.gAt = tx.hAt = 0;
  // Timers I/J/K and Kamailio's wait timer in one: keep the finished transaction T4 so that
  // retransmissions (request, ACK, finals from branches) are still absorbed.
  if (step.actions & kSaWait) tx.endAt = now + cfg_.t4;
  if (step.actions & kSaEnd) tx.endAt = now;
}

void TransactionLayer::localReply(WorkerTables& w, Transaction& tx, int code, std::string_view reason) {
  SipMsg req;
  std::string err;
  std::string& out = replyScratch();
  if (!parseMessage(tx.request, req, err) || !buildSipReply(req, tx.rcv, code, reason, SipReplyOptions{}, out, err)) {
    log(kLogErr, "cannot build " + std::to_string(code) + " for the transaction of " + tx.rcv.src.str() + ": " + err);
    return;
  }
  ServerEvent ev = code < 200 ? ServerEvent::Send1xx : code < 300 ? ServerEvent::Send2xx : ServerEvent::SendFinal;
  serverEvent(w, tx, int(ev), code, &out);
}

void TransactionLayer::forwardReply(WorkerTables& w, Transaction& tx, const SipMsg& reply) {
  std::string& out = replyScratch();
  std::string err;
  if (!buildForwardedReply(reply, out, err)) {
    log(kLogNotice, "cannot relay a reply: " + err);
    return;
  }
  int code = reply.status;
  metrics_.relayed(code);
  ServerEvent ev = code < 200 ? ServerEvent::Send1xx : code < 300 ? ServerEvent::Send2xx : ServerEvent::SendFinal;
  serverEvent(w, tx, int(ev), code, &out);
}

// ---- client side -----------------------------------------------------------------------------

void TransactionLayer::sendToBranch(const Branch& b, std::string data) {
  if (b.proto == Proto::UDP) {
    core_.sendUdp(b.dest, data);
    return;
  }
  core_.sendTo(b.proto, b.dest, std::move(data), b.connect, nullptr);
}

void TransactionLayer::branchSendFailed(WorkerTables* w, uint64_t packedBranch, const std::string& error) {
  ClockScope clock(clock_);
  const size_t idx = size_t(packedBranch & 0xff);
  Transaction* tx = find(*w, packedBranch >> 8);
  if (!tx || idx >= tx->branches.size()) return;
  log(kLogNotice, "branch to " + std::string(protoName(tx->branches[idx].proto)) + ":" + tx->branches[idx].dest.str() +
                      " failed: " + error);
  clientEvent(*w, *tx, idx, int(ClientEvent::TransportError), nullptr);
  reschedule(*w, *tx);
}

void TransactionLayer::onRelayReady(WorkerTables& wt, uint64_t txId, size_t idx, RelayTarget* t, int code,
                                    std::string_view reason) {
  ClockScope clock(clock_);  // at once from t_relay() (nested), or after a DNS lookup
  WorkerTables* w = &wt;
  Transaction* tx = find(*w, txId);
  if (!tx || idx >= tx->branches.size()) return;
  if (!t) {
    log(kLogNotice, "branch " + std::to_string(idx) + " of a transaction from " + tx->rcv.src.str() + ": " +
                        std::to_string(code) + " " + std::string(reason));
    branchDone(*w, *tx, idx, code, nullptr);
    checkDone(*w, *tx);
    reschedule(*w, *tx);
    return;
  }
  Branch& b = tx->branches[idx];
  b.proto = t->proto;
  b.dest = t->dest;
  b.connect = std::move(t->connect);
  b.request = std::move(t->data);
  b.ready = true;
  account(*w, *tx);
  if (tx->canceled || serverAnswered(tx->state)) {
    // Cancelled or answered while the name was resolved: never send it.
    branchDone(*w, *tx, idx, 487, nullptr);
    checkDone(*w, *tx);
    reschedule(*w, *tx);
    return;
  }
  const int64_t now = this->now();
  b.timeoutAt = now + frFor(*tx);
  if (b.proto == Proto::UDP) {
    b.retransIval = cfg_.t1;
    b.retransAt = now + cfg_.t1;
    // With udp_send_batch the kernel's answer comes at the end of the loop round: a refused
    // datagram (no route, EACCES ...) must still end the branch with 503 at once, not by fr_timer.
    if (!core_.sendUdpReported(b.dest, b.request, [ww = w, packed = packBranch(txId, idx)](int err) {
          if (err) ww->layer->branchSendFailed(ww, packed, std::strerror(err));
        })) {
      clientEvent(*w, *tx, idx, int(ClientEvent::TransportError), nullptr);
      reschedule(*w, *tx);
      return;
    }
  } else {
    core_.sendTo(b.proto, b.dest, b.request, b.connect,
                 [ww = w, packed = packBranch(txId, idx)](const Result<void>& sent) {
                   if (!sent) ww->layer->branchSendFailed(ww, packed, sent.error());
                 });
  }
  reschedule(*w, *tx);
}

void TransactionLayer::clientEvent(WorkerTables& w, Transaction& tx, size_t idx, int evIndex, ScriptContext* reply) {
  auto ev = ClientEvent(evIndex);
  Branch& b = tx.branches[idx];
  const bool wasFinal = clientFinal(b.state);
  ClientStep step = clientStep(tx.invite, b.state, ev);
  b.state = step.next;
  const int64_t now = this->now();
  if (step.actions & kCaStopRetransmit) b.retransAt = 0;
  if ((step.actions & kCaRetransmit) && b.proto == Proto::UDP && !b.request.empty()) {
    core_.sendUdp(b.dest, b.request);
    metrics_.retransmission(TmMetrics::kRequestSent);
    b.retransIval = tx.invite ? b.retransIval * 2 : std::min(b.retransIval * 2, cfg_.t2);
    b.retransAt = now + b.retransIval;
  }
  if ((step.actions & kCaUseT2) && b.proto == Proto::UDP) {
    b.retransIval = cfg_.t2;
    b.retransAt = now + cfg_.t2;
  }
  if (step.actions & kCaFrInv) b.timeoutAt = now + frInvFor(tx);
  if (ev == ClientEvent::Provisional) {
    b.gotProvisional = true;
    if (b.cancelWanted && !b.cancelSent) sendCancel(w, tx, b);
  }
  if ((step.actions & kCaSendAck) && reply) {
    std::string ack, err;
    if (buildAck(b.request, reply->msg, ack, err))
      sendToBranch(b, std::move(ack));
    else
      log(kLogNotice, "cannot build the ACK for a " + std::to_string(reply->msg.status) + ": " + err);
  }
  if (step.actions & kCaSendCancel) sendCancel(w, tx, tx.branches[idx]);
  if (clientFinal(b.state) && !wasFinal) b.timeoutAt = 0;
  if (step.actions & (kCaLocal408 | kCaLocal503)) {
    int code = (step.actions & kCaLocal503) ? 503 : (tx.canceled ? 487 : 408);
    branchDone(w, tx, idx, code, nullptr);
    checkDone(w, tx);
    return;
  }
  if ((step.actions & kCaPassUp) && reply) {
    int status = reply->msg.status;
    if (status < 200) {
      passProvisional(w, tx, idx, *reply);
    } else if (wasFinal) {
      // A 2xx retransmission (or a late 2xx after tm gave up on the branch) still goes upstream.
      forwardReply(w, tx, reply->msg);
    } else {
      branchDone(w, tx, idx, status, reply);
      checkDone(w, tx);
    }
  }
}

void TransactionLayer::runOnReply(Transaction& tx, size_t idx, ScriptContext& reply) {
  if (tx.onReply < 0) return;
  reply.tReplyCode = reply.msg.status;
  reply.flags = tx.flags;
  reply.bflags = tx.branches[idx].bflags;
  reply.avps = std::move(tx.avps);
  RunState saved = run;
  run = RunState{};
  run.tx = &tx;
  run.worker = core_.currentWorker();
  core_.runRoute(tx.onReply, reply);
  tx.flags = reply.flags;
  tx.branches[idx].bflags = reply.bflags;
  tx.avps = std::move(reply.avps);
  run = saved;
  run.keyMsg = nullptr;  // the nested route reused requestKey()'s buffer
}

void TransactionLayer::passProvisional(WorkerTables& w, Transaction& tx, size_t idx, ScriptContext& reply) {
  runOnReply(tx, idx, reply);
  // 100 is hop-by-hop (§16.7 step 5); a dropped provisional is not relayed.
  if (reply.msg.status == 100 || reply.dropped || serverAnswered(tx.state)) return;
  forwardReply(w, tx, reply.msg);
}

void TransactionLayer::branchDone(WorkerTables& w, Transaction& tx, size_t idx, int code, ScriptContext* reply) {
  Branch& b = tx.branches[idx];
  if (!clientFinal(b.state)) b.state = ClientState::Terminated;
  b.code = code;
  b.timeoutAt = 0;
  b.retransAt = 0;
  if (reply) runOnReply(tx, idx, *reply);
  if (code >= 200 && code < 300) {
    // §16.7 step 5: a 2xx goes upstream at once; the other branches are no longer needed.
    if (reply) forwardReply(w, tx, reply->msg);
    if (tx.invite) cancelBranches(w, tx);
    return;
  }
  if (betterFinal(code, tx.bestCode)) {
    tx.bestCode = code;
    tx.bestBranch = int(idx);
    if (reply)
      Transaction::fill(tx.bestReply, reply->msg.buf);
    else
      tx.bestReply.clear();
    account(w, tx);
  }
  // §16.7 step 10 for 6xx: no other answer can win.
  if (code >= 600 && tx.invite) cancelBranches(w, tx);
}

void TransactionLayer::sendCancel(WorkerTables& w, Transaction& tx, Branch& b) {
  if (b.cancelSent || !b.ready) return;
  std::string err;
  if (!buildCancel(b.request, b.cancel, err)) {
    log(kLogNotice, "cannot build a CANCEL: " + err);
    return;
  }
  b.cancelSent = true;
  account(w, tx);
  const int64_t now = this->now();
  sendToBranch(b, b.cancel);
  if (b.proto == Proto::UDP) {
    b.cancelIval = cfg_.t1;
    b.cancelAt = now + cfg_.t1;
  }
  b.cancelEnd = now + cfg_.timerB();
  // §16.8: no final within 64*T1 after the CANCEL: the branch is over.
  if (!clientFinal(b.state)) b.timeoutAt = b.timeoutAt ? std::min(b.timeoutAt, now + cfg_.timerB()) : now + cfg_.timerB();
}

void TransactionLayer::cancelBranches(WorkerTables& w, Transaction& tx) {
  for (size_t i = 0; i < tx.branches.size(); ++i) {
    Branch& b = tx.branches[i];
    if (clientFinal(b.state)) continue;
    if (b.gotProvisional) {
      sendCancel(w, tx, b);
    } else {
      // No provisional yet: a CANCEL must not be sent (§9.1). As Kamailio does by default,
      // the branch ends at once with a local 487; a provisional arriving later is CANCELled.
      b.cancelWanted = true;
      branchDone(w, tx, i, 487, nullptr);
    }
  }
}

// ---- response context ----------------------------------------------------------------------

bool TransactionLayer::runFailure(WorkerTables& w, Transaction& tx) {
  int route = tx.onFailure;
  tx.onFailure = -1;  // t_on_failure() again inside the route arms it for the next round
  SipMsg req;
  std::string err;
  if (!parseMessage(tx.request, req, err)) return false;
  size_t before = tx.branches.size();
  ScriptContext ctx(req, tx.rcv, core_);
  ctx.route = RouteKind::Failure;
  ctx.newRuri = tx.ruri;
  ctx.tReplyCode = tx.bestCode;
  // failure_reply_mode 3: the replies so far stop competing once the route starts a new leg;
  // they are set aside (not copied) and put back when it starts none.
  const int bestCode = tx.bestCode;
  std::string bestReply;
  if (cfg_.failureReplyMode == 3) {
    bestReply.swap(tx.bestReply);
    tx.bestCode = 0;
  }
  ctx.flags = tx.flags;
  if (tx.bestBranch >= 0) ctx.bflags = tx.branches[size_t(tx.bestBranch)].bflags;
  ctx.avps = std::move(tx.avps);
  RunState saved = run;
  run = RunState{};
  run.tx = &tx;
  run.worker = w.index;
  tx.inRoute = true;
  core_.runRoute(route, ctx);
  tx.inRoute = false;
  tx.flags = ctx.flags;
  tx.avps = std::move(ctx.avps);
  run = saved;
  run.keyMsg = nullptr;  // the nested route reused requestKey()'s buffer
  const bool added = tx.branches.size() > before;
  if (cfg_.failureReplyMode == 3 && !added) {
    tx.bestCode = bestCode;
    tx.bestReply.swap(bestReply);
  }
  return added;
}

void TransactionLayer::checkDone(WorkerTables& w, Transaction& tx) {
  if (tx.inRoute) return;
  for (;;) {
    if (serverAnswered(tx.state) || tx.branches.empty()) return;
    for (const auto& b : tx.branches)
      if (!clientFinal(b.state)) return;
    // Every branch has its final and none was a 2xx: serial forking may try more.
    if (tx.onFailure >= 0 && !tx.canceled && tx.bestCode >= 300) {
      bool added = runFailure(w, tx);
      if (serverAnswered(tx.state)) return;
      if (added) continue;  // new branches: done when they are (or at once if they failed)
    }
    sendBest(w, tx);
    return;
  }
}

void TransactionLayer::sendBest(WorkerTables& w, Transaction& tx) {
  int code = tx.bestCode ? tx.bestCode : 500;
  // §16.7 step 6: a 503 is not forwarded (it would make the sender avoid us); 500 instead.
  if (code == 503) {
    localReply(w, tx, 500, reasonFor(500));
    return;
  }
  if (!tx.bestReply.empty()) {
    SipMsg reply;
    std::string err;
    if (parseMessage(tx.bestReply, reply, err)) {
      forwardReply(w, tx, reply);
      return;
    }
  }
  localReply(w, tx, code, reasonFor(code));
}

// ---- hooks -------------------------------------------------------------------------------------

bool TransactionLayer::onRequest(ScriptContext& ctx) {
  run = RunState{};
  WorkerTables* w = current();
  if (!w) return false;
  ClockScope clock(clock_);
  run.now = tClockNow;
  run.nowBuf = ctx.msg.buf.data();
  const SipMsg& msg = ctx.msg;
  const bool ack = msg.method == "ACK", cancel = msg.method == "CANCEL";
  std::string_view key;
  uint64_t hash = 0;
  if (!requestKey(ctx, ack || cancel ? std::string_view("INVITE") : msg.method, key, hash)) return false;
  Transaction* tx = w->byKey.find(hash, key);
  if (!tx) {
    if (directory_ && (ack || cancel || msg.method == "INVITE")) return handOver(*w, ctx, key, hash);
    return false;
  }
  return absorb(*w, *tx, ctx);
}

bool TransactionLayer::requestKey(const ScriptContext& ctx, std::string_view method, std::string_view& key,
                                  uint64_t& hash) {
  // Only in the request route: there the request hook ran first for this very message (the
  // worker's message object and read buffer are reused, so identity alone would not do).
  const bool cacheable = ctx.route == RouteKind::Request;
  if (cacheable && run.keyMsg == &ctx.msg && run.keyBuf == ctx.msg.buf.data() &&
      run.keyLen == ctx.msg.buf.size() && run.keyMethod == method) {
    key = tKey;
    hash = run.keyHash;
    return run.keyFound;
  }
  run.keyMsg = nullptr;
  run.keyFound = serverKeyInto(ctx.msg, method, tKey);
  run.keyHash = run.keyFound ? KeyIndex::keyHash(tKey) : 0;
  if (cacheable) {
    run.keyMsg = &ctx.msg;
    run.keyBuf = ctx.msg.buf.data();
    run.keyLen = ctx.msg.buf.size();
    run.keyMethod = method;
  }
  key = tKey;
  hash = run.keyHash;
  return run.keyFound;
}

bool TransactionLayer::absorb(WorkerTables& w, Transaction& tx, ScriptContext& ctx) {
  const SipMsg& msg = ctx.msg;
  if (msg.method == "ACK") {
    // Only the ACK for our non-2xx final belongs to the transaction; an ACK for a 2xx is a new
    // request end to end (it has its own branch anyway).
    if (tx.state != ServerState::Completed && tx.state != ServerState::Confirmed) return false;
    serverEvent(w, tx, int(ServerEvent::Ack), 0, nullptr);
    reschedule(w, tx);
    return true;
  }
  if (msg.method == "CANCEL") {
    // §16.10: answer the CANCEL ourselves and cancel every pending branch.
    std::string out, err;
    if (buildSipReply(msg, ctx.rcv, 200, "OK", SipReplyOptions{}, out, err))
      core_.sendReply(ctx, out);
    if (!serverAnswered(tx.state) && !tx.canceled) {
      tx.canceled = true;
      cancelBranches(w, tx);
      checkDone(w, tx);
    }
    reschedule(w, tx);
    return true;
  }
  metrics_.retransmission(TmMetrics::kRequestAbsorbed);
  serverEvent(w, tx, int(ServerEvent::Retransmission), 0, nullptr);
  reschedule(w, tx);
  return true;
}

bool TransactionLayer::handOver(WorkerTables& w, ScriptContext& ctx, std::string_view keyView, uint64_t hash) {
  const int owner = directory_->owner(hash | 1);
  if (owner < 0 || owner == w.index || !tables(owner)) return false;
  // The request's bytes and where it came from (a reply to it goes back the same way: the
  // UDP socket address, or its connection through the connection's own worker).
  std::string raw(ctx.msg.buf), key(keyView);
  ReceiveInfo rcv = ctx.rcv;
  rcv.session = nullptr;
  return core_.postToWorker(owner, [this, owner, raw = std::move(raw), rcv, key = std::move(key), hash]() {
    WorkerTables* ow = tables(owner);
    SipMsg msg;
    std::string err;
    if (!ow || !parseMessage(raw, msg, err)) return;
    ClockScope clock(clock_);
    ScriptContext c(msg, rcv, core_);
    run = RunState{};
    Transaction* tx = ow->byKey.find(hash, key);
    if (tx && absorb(*ow, *tx, c)) return;
    // Gone in between (it ended as the request travelled): nothing is left to apply it to.
    if (msg.method == "CANCEL") {
      std::string out;
      if (buildSipReply(msg, rcv, 481, reasonFor(481), SipReplyOptions{}, out, err)) core_.sendReply(c, out);
    }
    log(kLogInfo, std::string(msg.method) + " from " + rcv.src.str() + " for a transaction that has just ended");
  });
}

bool TransactionLayer::handleReply(WorkerTables& w, ScriptContext& ctx, const BranchId& id) {
  Transaction* tx = find(w, id.tx);
  std::string_view method = cseqMethodOf(ctx.msg);
  if (!tx || size_t(id.branch) >= tx->branches.size()) {
    // The transaction is gone: a retransmitted 2xx to an INVITE still goes upstream (by Via),
    // anything else has been dealt with.
    return !(ctx.msg.status >= 200 && ctx.msg.status < 300 && method == "INVITE");
  }
  Branch& b = tx->branches[size_t(id.branch)];
  if (method == "CANCEL") {
    b.cancelDone = true;
    b.cancelAt = b.cancelEnd = 0;
    reschedule(w, *tx);
    return true;
  }
  int status = ctx.msg.status;
  ClientEvent ev = status < 200 ? ClientEvent::Provisional : status < 300 ? ClientEvent::Final2xx : ClientEvent::FinalOther;
  clientEvent(w, *tx, size_t(id.branch), int(ev), &ctx);
  reschedule(w, *tx);
  return true;
}

bool TransactionLayer::onReply(ScriptContext& ctx) {
  ViaBody top;
  std::string err;
  if (!nthVia(ctx.msg, 0, top, err)) return false;
  auto id = parseBranch(top.branch);
  if (!id) return false;
  WorkerTables* owner = tables(id->worker);
  if (!owner) return false;
  int cur = core_.currentWorker();
  if (cur == id->worker) {
    ClockScope clock(clock_);
    return handleReply(*owner, ctx, *id);
  }
  // Another worker owns the transaction: hand it the reply (one copy, no shared table).
  std::string raw(ctx.msg.buf);
  ReceiveInfo rcv = ctx.rcv;
  rcv.session = nullptr;
  BranchId bid = *id;
  bool posted = core_.postToWorker(id->worker, [this, raw = std::move(raw), rcv, bid]() {
    WorkerTables* w = tables(bid.worker);
    SipMsg msg;
    std::string perr;
    if (!w || !parseMessage(raw, msg, perr)) return;
    ClockScope clock(clock_);
    ScriptContext c(msg, rcv, core_);
    c.route = RouteKind::OnReply;
    if (!handleReply(*w, c, bid)) core_.relayReply(c);
  });
  return posted;
}

// ---- script functions ------------------------------------------------------------------------

int TransactionLayer::relay(ScriptContext& ctx, const RelayRequest& rqIn) {
  WorkerTables* w = current();
  if (!w) {
    log(kLogErr, "t_relay() outside a worker");
    return -1;
  }
  const SipMsg& msg = ctx.msg;
  if (!msg.isRequest() || msg.isHttp()) return -1;
  if (ctx.route == RouteKind::Branch) {
    log(kLogErr, "t_relay() inside branch_route: a branch is being relayed already");
    return -1;
  }
  ClockScope clock(clock_, hookClock(ctx));
  if (ctx.route == RouteKind::Request && (msg.method == "ACK" || msg.method == "CANCEL")) {
    // An ACK (for a 2xx: end to end) and a CANCEL that matched no transaction are relayed
    // statelessly (§16.10), once, with the stateless branch.
    RelayRequest rq = rqIn;
    rq.branch = {};
    core_.prepareRelay(ctx, rq, [this](RelayTarget* t, int code, std::string_view reason) {
      if (!t) {
        log(kLogNotice, "cannot relay: " + std::to_string(code) + " " + std::string(reason));
        return;
      }
      if (t->proto == Proto::UDP)
        core_.sendUdp(t->dest, t->data);
      else
        core_.sendTo(t->proto, t->dest, std::move(t->data), t->connect, nullptr);
    });
    return 1;
  }
  Transaction* tx = ensureTx(*w, ctx);
  if (!tx) return -1;
  if (serverAnswered(tx->state)) {
    log(kLogNotice, "t_relay(): the transaction from " + tx->rcv.src.str() + " is already answered");
    return -1;
  }
  if (int(tx->branches.size()) >= cfg_.maxBranches) {
    log(kLogErr, "t_relay(): the transaction from " + tx->rcv.src.str() + " has " +
                     std::to_string(cfg_.maxBranches) + " branches already");
    return -1;
  }
  if (run.onReply >= 0) tx->onReply = run.onReply;
  if (run.onFailure >= 0 && ctx.route != RouteKind::Failure) tx->onFailure = run.onFailure;
  if (run.onBranch >= 0) tx->onBranch = run.onBranch;
  if (tx->branches.empty()) Transaction::fill(tx->ruri, ctx.newRuri);
  // What the script set so far goes with the transaction (accounted below with the rest).
  tx->flags = ctx.flags;
  if (ctx.route != RouteKind::Failure) tx->avps = ctx.avps;  // failure_route's own go back after it
  tx->endAt = 0;  // lives until its branches are done
  const uint64_t id = tx->id;
  // A branch failing at once must not complete the transaction before its siblings exist.
  const bool wasInRoute = tx->inRoute;
  tx->inRoute = true;
  bool ok = addBranch(*w, *tx, ctx, rqIn);
  // lookup() with several contacts: one more parallel branch per further target.
  if (!rqIn.host && !ctx.extraBranches.empty()) {
    std::string ruri = std::move(ctx.newRuri), du = std::move(ctx.dstUri);
    const uint32_t bflags = ctx.bflags;
    for (const auto& extra : ctx.extraBranches) {
      Transaction* t = find(*w, id);
      if (!t || int(t->branches.size()) >= cfg_.maxBranches) break;
      ctx.newRuri = extra.ruri;
      ctx.dstUri = extra.dstUri;
      ctx.bflags = extra.bflags;
      ok = addBranch(*w, *t, ctx, rqIn) || ok;
    }
    ctx.newRuri = std::move(ruri);
    ctx.dstUri = std::move(du);
    ctx.bflags = bflags;
  }
  if (Transaction* t = find(*w, id)) {
    t->inRoute = wasInRoute;
    // branch_route dropped every branch: nothing is pending, so it ends as t_newtran() alone
    // would (after fr_timer), unless the script answers it (sl_reply_error(), t_reply()).
    if (t->branches.empty()) t->endAt = now() + frFor(*t);
    account(*w, *t);  // ruri and the branch vector
    if (!wasInRoute) checkDone(*w, *t);
    if (serverAnswered(t->state)) ctx.replied = true;  // tm answered the sender (failed at once)
    reschedule(*w, *t);
  }
  return ok ? 1 : -1;
}

bool TransactionLayer::addBranch(WorkerTables& w, Transaction& tx, ScriptContext& ctx, const RelayRequest& rqIn) {
  const size_t idx = tx.branches.size();
  const uint64_t id = tx.id;
  // Without a branch_route this costs one test per branch.
  if (tx.onBranch >= 0) {
    if (!branchRouteThenPrepare(w, tx, ctx, rqIn, idx)) return false;
  } else {
    prepareBranch(w, tx, ctx, rqIn, idx);
  }
  // Failed at once (bad URI, no transport, Max-Forwards): the branch has a local final; tm
  // answers the sender (or runs the failure_route), so the script must not reply again.
  Transaction* still = find(w, id);
  return !(still && idx < still->branches.size() && clientFinal(still->branches[idx].state) &&
           still->branches[idx].code >= 300 && !still->branches[idx].ready);
}

bool TransactionLayer::branchRouteThenPrepare(WorkerTables& w, Transaction& tx, ScriptContext& ctx,
                                              const RelayRequest& rq, size_t idx) {
  // What the request route set is the starting point of every branch; the branch_route's
  // changes are this branch's only, so the request's own are put back afterwards.
  MsgEdits edits = ctx.edits;
  std::string ruri = ctx.newRuri, du = ctx.dstUri;
  const uint32_t bflags = ctx.bflags;  // setbflag() in the branch_route is this branch's
  const RouteKind kind = ctx.route;
  const bool dropped = ctx.dropped;
  const uint64_t id = tx.id;
  ctx.route = RouteKind::Branch;
  ctx.tBranchIndex = int(idx);
  ctx.dropped = false;
  core_.runRoute(tx.onBranch, ctx);
  const bool keep = !ctx.dropped;
  Transaction* still = find(w, id);
  if (keep && still)
    prepareBranch(w, *still, ctx, rq, idx);
  else
    log(kLogInfo, "branch_route dropped branch " + std::to_string(idx) + " of a transaction from " + ctx.rcv.src.str());
  ctx.edits = std::move(edits);
  ctx.newRuri = std::move(ruri);
  ctx.dstUri = std::move(du);
  ctx.bflags = bflags;
  ctx.route = kind;
  ctx.dropped = dropped;
  ctx.tBranchIndex = 0;
  return keep && still;
}

void TransactionLayer::prepareBranch(WorkerTables& w, Transaction& tx, ScriptContext& ctx, const RelayRequest& rqIn,
                                     size_t idx) {
  tx.branches.emplace_back();
  tx.branches.back().state = tx.invite ? ClientState::Calling : ClientState::Trying;
  tx.branches.back().bflags = ctx.bflags;
  BranchText branch;
  RelayRequest rq = rqIn;
  rq.branch = writeBranch(BranchId{w.index, tx.id, int(idx)}, branch);
  const uint64_t id = tx.id;
  core_.prepareRelay(ctx, rq, [ww = &w, packed = packBranch(id, idx)](RelayTarget* t, int code, std::string_view reason) {
    ww->layer->onRelayReady(*ww, packed >> 8, size_t(packed & 0xff), t, code, reason);
  });
}

int TransactionLayer::reply(ScriptContext& ctx, int code, std::string_view reason) {
  WorkerTables* w = current();
  if (!w) return -1;
  if (ctx.msg.method == "ACK" || ctx.route == RouteKind::Branch) return -1;
  ClockScope clock(clock_, hookClock(ctx));
  Transaction* tx = ctx.route == RouteKind::Failure ? currentTx(ctx) : ensureTx(*w, ctx);
  if (!tx) return -1;
  if (serverAnswered(tx->state) && !(code >= 200 && code < 300 && tx->state == ServerState::Accepted)) {
    log(kLogNotice, "t_reply(): the transaction from " + tx->rcv.src.str() + " is already answered");
    return -1;
  }
  localReply(*w, *tx, code, reason);
  if (code >= 200 && tx->invite) cancelBranches(*w, *tx);
  ctx.replied = true;
  reschedule(*w, *tx);
  return 1;
}

int TransactionLayer::newTran(ScriptContext& ctx) {
  WorkerTables* w = current();
  if (!w || ctx.msg.method == "ACK") return -1;
  ClockScope clock(clock_, hookClock(ctx));
  return ensureTx(*w, ctx) ? 1 : -1;
}

int TransactionLayer::checkTrans(ScriptContext& ctx) {
  if (ctx.route != RouteKind::Request) return currentTx(ctx) ? 1 : -1;
  if (currentTx(ctx)) return 1;
  WorkerTables* w = current();
  if (!w) return -1;
  const SipMsg& msg = ctx.msg;
  bool toInvite = msg.method == "ACK" || msg.method == "CANCEL";
  std::string_view key;
  uint64_t hash = 0;
  if (!requestKey(ctx, toInvite ? std::string_view("INVITE") : msg.method, key, hash)) return -1;
  return w->byKey.find(hash, key) ? 1 : -1;
}

void TransactionLayer::setOnReply(ScriptContext& ctx, int route) {
  run.onReply = route;
  if (Transaction* tx = currentTx(ctx)) tx->onReply = route;
}

void TransactionLayer::setOnFailure(ScriptContext& ctx, int route) {
  run.onFailure = route;
  if (Transaction* tx = currentTx(ctx)) tx->onFailure = route;
}

void TransactionLayer::setOnBranch(ScriptContext& ctx, int route) {
  run.onBranch = route;
  if (Transaction* tx = currentTx(ctx)) tx->onBranch = route;
}

bool TransactionLayer::isSet(ScriptContext& ctx, RouteKind kind) {
  const Transaction* tx = currentTx(ctx);
  switch (kind) {
    case RouteKind::OnReply: return run.onReply >= 0 || (tx && tx->onReply >= 0);
    case RouteKind::Failure: return run.onFailure >= 0 || (tx && tx->onFailure >= 0);
    case RouteKind::Branch: return run.onBranch >= 0 || (tx && tx->onBranch >= 0);
    case RouteKind::Request: break;
  }
  return false;
}

int TransactionLayer::isCanceled(ScriptContext& ctx) {
  const Transaction* tx = currentTx(ctx);
  if (!tx) return -1;
  return tx->canceled ? 1 : -1;
}

// The request's transaction on this worker, found without creating one (null: none).
Transaction* TransactionLayer::existingTx(ScriptContext& ctx) {
  if (Transaction* tx = currentTx(ctx)) return tx;
  WorkerTables* w = current();
  if (!w || ctx.route != RouteKind::Request || !ctx.msg.isRequest() || ctx.msg.isHttp()) return nullptr;
  std::string_view key;
  uint64_t hash = 0;
  if (!requestKey(ctx, ctx.msg.method, key, hash)) return nullptr;
  return w->byKey.find(hash, key);
}

int TransactionLayer::precheckTrans(ScriptContext& ctx) {
  if (ctx.msg.method == "ACK" || ctx.msg.method == "CANCEL") return -1;
  return existingTx(ctx) ? 1 : -1;
}

int TransactionLayer::replyIfTransaction(ScriptContext& ctx, int code, std::string_view reason) {
  if (!existingTx(ctx)) return 0;
  return reply(ctx, code, reason);
}

bool TransactionLayer::answered(ScriptContext& ctx) {
  const Transaction* tx = existingTx(ctx);
  return tx && serverAnswered(tx->state);
}

void TransactionLayer::setFr(ScriptContext& ctx, int64_t frInv, int64_t fr) {
  if (frInv > 0) run.frInvTimer = frInv;
  if (fr > 0) run.frTimer = fr;
  if (Transaction* tx = currentTx(ctx)) {
    if (frInv > 0) tx->frInvTimer = frInv;
    if (fr > 0) tx->frTimer = fr;
  }
}

// ---- timers ------------------------------------------------------------------------------------

void TransactionLayer::reschedule(WorkerTables& w, Transaction& tx) {
  int64_t due = 0;
  auto take = [&due](int64_t t) {
    if (t && (!due || t < due)) due = t;
  };
  take(tx.gAt);
  take(tx.hAt);
  take(tx.endAt);
  for (const auto& b : tx.branches) {
    take(b.retransAt);
    take(b.timeoutAt);
    take(b.cancelAt);
    take(b.cancelEnd);
  }
  if (due == tx.scheduledAt) return;
  tx.scheduledAt = due;
  if (due == 0) {
    w.timers.remove(TxTable::slotOf(tx.id));
    return;
  }
  w.timers.set(TxTable::slotOf(tx.id), due);
  armWorkerTimer(w);
}

void TransactionLayer::armWorkerTimer(WorkerTables& w) {
  if (w.timers.empty()) return;
  int64_t next = w.timers.nextDue();
  if (w.armedFor && w.armedFor <= next) return;
  if (!w.timer) {
    WorkerTables* wp = &w;
    w.timer = core_.makeWorkerTimer([this, wp] { onWorkerTimer(*wp); });
    if (!w.timer) return;
  }
  w.armedFor = next;
  w.timer->arm(std::chrono::milliseconds(std::max<int64_t>(0, next - now())));
}

void TransactionLayer::onWorkerTimer(WorkerTables& w) {
  w.armedFor = 0;
  ClockScope clock(clock_);
  const int64_t now = tClockNow;
  uint32_t slot;
  while (w.timers.popDue(now, slot)) {
    Transaction* tx = w.txs.atSlot(slot);
    if (!tx) continue;
    tx->scheduledAt = 0;
    runTimers(w, *tx, now);
  }
  armWorkerTimer(w);
}

void TransactionLayer::runTimers(WorkerTables& w, Transaction& tx, int64_t now) {
  if (tx.gAt && tx.gAt <= now) {
    tx.gAt = 0;
    serverEvent(w, tx, int(ServerEvent::TimerG), 0, nullptr);
  }
  if (tx.hAt && tx.hAt <= now) {
    tx.hAt = 0;
    serverEvent(w, tx, int(ServerEvent::TimerH), 0, nullptr);
  }
  // Index loop: a failure_route run from here may add branches.
  for (size_t i = 0; i < tx.branches.size(); ++i) {
    Branch* b = &tx.branches[i];
    if (b->cancelAt && b->cancelAt <= now) {
      sendToBranch(*b, b->cancel);
      b->cancelIval = std::min(b->cancelIval * 2, cfg_.t2);
      b->cancelAt = now + b->cancelIval;
    }
    if (b->cancelEnd && b->cancelEnd <= now) b->cancelAt = b->cancelEnd = 0;
    if (b->retransAt && b->retransAt <= now) {
      b->retransAt = 0;
      clientEvent(w, tx, i, int(ClientEvent::Retransmit), nullptr);
      b = &tx.branches[i];
    }
    if (b->timeoutAt && b->timeoutAt <= now) {
      b->timeoutAt = 0;
      log(kLogInfo, "branch " + std::to_string(i) + " to " + std::string(protoName(b->proto)) + ":" +
                        b->dest.str() + " timed out");
      if (!tx.canceled && !b->cancelSent) metrics_.timeout(tx.invite && b->gotProvisional);
      clientEvent(w, tx, i, int(ClientEvent::Timeout), nullptr);
    }
  }
  if (tx.endAt && tx.endAt <= now) {
    deleteTx(w, tx);
    return;
  }
  reschedule(w, tx);
}

}  // namespace sipsd::tm

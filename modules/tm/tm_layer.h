// tm's transaction layer: the per-worker transaction tables, the message hooks (requests
// before the script, replies before the stateless relay), the script functions' work, and
// the timers. A transaction lives on the worker that received its request (in that worker's
// TxTable); its deadlines are in that worker's TimerHeap behind one WorkerTimer; replies for it that arrive elsewhere are
// posted to it by the worker index in our branch (branch_id.h).
#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/module_api.h"
#include "modules/tm/invite_directory.h"
#include "modules/tm/key_index.h"
#include "modules/tm/tm_config.h"
#include "modules/tm/tm_metrics.h"
#include "modules/tm/timer_heap.h"
#include "modules/tm/transaction.h"
#include "modules/tm/tx_table.h"

namespace sipsd::tm {

struct BranchId;

// Milliseconds on the steady clock.
int64_t nowMs();

struct TmStats {
  uint64_t transactions = 0;  // open now
  uint64_t bytes = 0;         // held by them
  uint64_t created = 0;       // since start
};

class TransactionLayer {
 public:
  TransactionLayer(CoreApi& core, TmConfig cfg) : core_(core), cfg_(cfg) {}
  const TmConfig& config() const { return cfg_; }

  // Called once per worker before traffic (main thread).
  void addWorker(int index);

  // ModuleExports hooks.
  bool onRequest(ScriptContext& ctx);
  bool onReply(ScriptContext& ctx);

  // Script functions (return values follow the script convention).
  int relay(ScriptContext& ctx, const RelayRequest& rq);
  int reply(ScriptContext& ctx, int code, std::string_view reason);
  int newTran(ScriptContext& ctx);
  int checkTrans(ScriptContext& ctx);
  void setOnReply(ScriptContext& ctx, int route);
  void setOnFailure(ScriptContext& ctx, int route);
  void setOnBranch(ScriptContext& ctx, int route);
  // t_is_set(): whether t_on_reply/t_on_failure/t_on_branch armed a route for this request.
  bool isSet(ScriptContext& ctx, RouteKind kind);
  // t_is_canceled(): a CANCEL matched the request's transaction.
  int isCanceled(ScriptContext& ctx);
  // t_precheck_trans(): a transaction for this request (not ACK/CANCEL) is already in progress.
  int precheckTrans(ScriptContext& ctx);
  // For send_reply()/sl_reply_error() in sl: t_reply() when the request has a transaction here
  // (0 when it has none); whether tm has answered it.
  int replyIfTransaction(ScriptContext& ctx, int code, std::string_view reason);
  bool answered(ScriptContext& ctx);
  void setFr(ScriptContext& ctx, int64_t frInv, int64_t fr);

  TmStats stats() const;
  const TmMetrics& metrics() const { return metrics_; }
  // Tests drive time themselves.
  void setClock(int64_t (*clock)()) { clock_ = clock; }

 private:
  struct WorkerTables {
    WorkerTables(TransactionLayer* l, int i, uint64_t seq) : layer(l), index(i), txs(seq) {}
    TransactionLayer* layer;  // for callbacks that capture only this table (std::function's
                              // 16 bytes of inline storage: no allocation per branch)
    int index = 0;
    TxTable txs;
    KeyIndex byKey;
    TimerHeap timers;
    std::unique_ptr<WorkerTimer> timer;
    int64_t armedFor = 0;
    std::atomic<uint64_t> count{0}, bytes{0}, created{0};
  };

  WorkerTables* current();
  WorkerTables* tables(int worker);
  Transaction* find(WorkerTables& w, uint64_t id);
  Transaction* ensureTx(WorkerTables& w, ScriptContext& ctx);
  Transaction* currentTx(ScriptContext& ctx);
  Transaction* existingTx(ScriptContext& ctx);
  void deleteTx(WorkerTables& w, Transaction& tx);
  // Brings the worker's byte total up to date with tx's buffers (after they changed).
  void account(WorkerTables& w, Transaction& tx);
  // The clock, read once per tm entry point (hook, script function, timer, callback) and
  // reused by everything that entry does (see ClockScope in tm_layer.cc).
  int64_t now() const;
  // A request that belongs to `tx` (retransmission, CANCEL, ACK for a non-2xx); false when it
  // is not the transaction's after all (an ACK for a 2xx) and goes to the script.
  bool absorb(WorkerTables& w, Transaction& tx, ScriptContext& ctx);
  // A request with no transaction here whose INVITE another worker owns: posted there.
  bool handOver(WorkerTables& w, ScriptContext& ctx, std::string_view key, uint64_t hash);
  // The server key of ctx's request for `method` (serverKey) in a per-thread buffer, and its
  // KeyIndex hash; false when it has none. Built once per request and method: the request hook,
  // t_check_trans() and t_relay() of the same request share it. Valid until the next call.
  bool requestKey(const ScriptContext& ctx, std::string_view method, std::string_view& key, uint64_t& hash);

  // server side
  void serverEvent(WorkerTables& w, Transaction& tx, int ev, int code, std::string* data);
  void sendUpstream(Transaction& tx, std::string_view data);
  void localReply(WorkerTables& w, Transaction& tx, int code, std::string_view reason);
  void forwardReply(WorkerTables& w, Transaction& tx, const SipMsg& reply);
  // client side
  // Adds a branch for ctx's current target ($du / $ru / rq); false when it failed at once.
  bool addBranch(WorkerTables& w, Transaction& tx, ScriptContext& ctx, const RelayRequest& rq);
  // Runs tx's branch_route for branch `idx` on ctx, then prepares the branch from what it left
  // (its edits, $ru, $du apply to this branch only); false when the route dropped the branch.
  bool branchRouteThenPrepare(WorkerTables& w, Transaction& tx, ScriptContext& ctx, const RelayRequest& rq,
                              size_t idx);
  void prepareBranch(WorkerTables& w, Transaction& tx, ScriptContext& ctx, const RelayRequest& rq, size_t idx);
  void onRelayReady(WorkerTables& w, uint64_t txId, size_t idx, RelayTarget* t, int code, std::string_view reason);
  void clientEvent(WorkerTables& w, Transaction& tx, size_t idx, int ev, ScriptContext* reply);
  // A branch's first send failed after t_relay() returned (a connect, a handshake, a batched
  // UDP datagram the kernel refused): the branch ends with 503 if the transaction still exists.
  void branchSendFailed(WorkerTables* w, uint64_t packedBranch, const std::string& error);
  void branchDone(WorkerTables& w, Transaction& tx, size_t idx, int code, ScriptContext* reply);
  void sendToBranch(const Branch& b, std::string data);
  void sendCancel(WorkerTables& w, Transaction& tx, Branch& b);
  void cancelBranches(WorkerTables& w, Transaction& tx);
  void passProvisional(WorkerTables& w, Transaction& tx, size_t idx, ScriptContext& reply);
  // onreply_route[NAME] for a reply of branch idx, with the transaction's flags and $avps and
  // the branch's flags (its changes to them are kept).
  void runOnReply(Transaction& tx, size_t idx, ScriptContext& reply);
  // response context (§16.7)
  void checkDone(WorkerTables& w, Transaction& tx);
  void sendBest(WorkerTables& w, Transaction& tx);
  bool runFailure(WorkerTables& w, Transaction& tx);
  bool handleReply(WorkerTables& w, ScriptContext& ctx, const BranchId& id);
  // timers
  void reschedule(WorkerTables& w, Transaction& tx);
  void armWorkerTimer(WorkerTables& w);
  void onWorkerTimer(WorkerTables& w);
  void runTimers(WorkerTables& w, Transaction& tx, int64_t now);

  int64_t frFor(const Transaction& tx) const { return tx.frTimer > 0 ? tx.frTimer : cfg_.frTimer; }
  int64_t frInvFor(const Transaction& tx) const { return tx.frInvTimer > 0 ? tx.frInvTimer : cfg_.frInvTimer; }
  void log(int level, const std::string& text) const;

  CoreApi& core_;
  TmConfig cfg_;
  std::vector<std::unique_ptr<WorkerTables>> workers_;
  int64_t (*clock_)() = nowMs;
  TmMetrics metrics_;
  // With more than one worker: who owns which open INVITE (see invite_directory.h).
  std::unique_ptr<InviteDirectory> directory_;
};

// Reason phrase tm uses for the replies it makes itself.
std::string_view reasonFor(int code);

// §16.7 step 6: true when final `code` is a better answer to send upstream than `best`
// (0: none yet). 6xx beats everything, then the lowest class; the first of equals stays.
bool betterFinal(int code, int best);

}  // namespace sipsd::tm
